// The dashboard shows what the API reports: counts per state, a bar per bucket, the queues and
// the live workers.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { call, cspViolations, launch, openUi, poll, screenshot, sendTask, unique, waitForState } from './harness.js';

const STATES = ['initiated', 'scheduled', 'queued', 'in_progress', 'retry', 'success', 'failed', 'cancelled'];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Totals per state over the last day, per the API. */
async function apiTotals() {
  const now = Date.now();
  const { status, body } = await call('GET', `/counts?from=${new Date(now - 86400000).toISOString()}&to=${new Date(now + 3600000).toISOString()}&interval=1d`);
  assert.equal(status, 200);
  const totals = Object.fromEntries(STATES.map((st) => [st, 0]));
  for (const bucket of body.buckets) for (const st of STATES) totals[st] += bucket.counts[st];
  totals.total = STATES.reduce((sum, st) => sum + totals[st], 0);
  return totals;
}

async function cardTotals(page) {
  const out = {};
  for (const key of [...STATES, 'total']) {
    const text = await page.locator(`[data-testid="count-${key}"] .card-value`).textContent();
    out[key] = Number(text.replace(/[^0-9]/g, ''));
  }
  return out;
}

test('the dashboard shows the counts, queues and workers the API reports', async () => {
  const tag = unique('dash');
  const done = [
    await sendTask({ name: 'echo', payload: { tag, n: 1 } }),
    await sendTask({ name: 'echo', payload: { tag, n: 2 } }),
  ];
  const failed = await sendTask({ name: 'fail', payload: { tag } });
  await sendTask({ name: 'echo', payload: { tag }, delay_ms: 3600000 });
  for (const id of done) await waitForState(id, 'success');
  await waitForState(failed, 'failed');

  const page = await openUi(browser.context, { hash: '#/' });
  await page.locator('[data-view="dashboard"][data-loaded]').waitFor();

  // The cards equal the API's numbers (compared again after a refresh while tasks still move).
  const [ui, api] = await poll(async () => {
    const before = Number(await page.locator('[data-view="dashboard"]').getAttribute('data-loaded'));
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    // A live event may reload it too, so the count can pass before + 1 between two looks.
    await page.waitForFunction(
      (b) => Number(document.querySelector('[data-view="dashboard"]')?.dataset.loaded ?? 0) > b,
      before,
    );
    const pair = [await cardTotals(page), await apiTotals()];
    return JSON.stringify(pair[0]) === JSON.stringify(pair[1]) ? pair : false;
  }, { message: 'the cards to match /counts' });
  assert.ok(api.success >= 2 && api.failed >= 1 && api.scheduled >= 1, JSON.stringify(api));
  assert.deepEqual(ui, api);

  // The chart has a bar segment for each state with tasks, and a legend.
  const bars = page.locator('[data-testid="chart"] svg rect.bar');
  assert.ok(await bars.count() >= 3, 'the chart draws bars');
  assert.equal(await page.locator('[data-testid="chart"] rect.fill-success').count() > 0, true);

  // Queues and workers come from /queues and /workers.
  const queues = (await call('GET', '/queues')).body;
  assert.ok(queues.queues.length > 0);
  for (const q of queues.queues) {
    await page.locator('[data-testid="queues"] tbody tr', { hasText: q.name }).first().waitFor();
  }
  const workers = (await call('GET', '/workers')).body.workers;
  assert.ok(workers.length >= 1, 'the server runs a worker');
  const workerRow = page.locator('[data-testid="workers"] tbody tr', { hasText: workers[0].id });
  await workerRow.waitFor();
  const cells = (await workerRow.locator('td').allTextContents()).map((t) => t.trim());
  // Worker, handlers (with the queues it consumes below them), in flight / concurrency,
  // heartbeat age.
  assert.equal(cells[1], `${workers[0].handlers.join(', ')}queues: ${workers[0].queues.join(', ')}`);
  assert.match(cells[2], new RegExp(`^\\d+ / ${workers[0].concurrency}$`));
  assert.match(cells[3], /^\d+ (ms|s) ago$/);

  // A card leads to the list filtered by its state.
  await page.click('[data-testid="count-failed"]');
  await page.locator('[data-view="tasks"]').waitFor();
  assert.match(page.url(), /#\/tasks\?status=failed$/);
  await page.locator('[data-testid="tasks"] tbody tr[data-state="failed"]').first().waitFor();
  assert.equal(await page.locator('[data-testid="tasks"] tbody tr:not([data-state="failed"])').count(), 0);

  await page.goto(page.url().replace(/#.*/, '#/'));
  await page.locator('[data-view="dashboard"][data-loaded]').waitFor();
  console.log(`screenshot: ${await screenshot(page, 'dashboard')}`);
  assert.deepEqual(await cspViolations(page), []);
  assert.deepEqual(browser.problems, []);
});
