// Live updates: the UI holds one GET /api/v1/events stream (the badge says "live"), a task sent
// elsewhere reaches the task list and its state change reaches the task page through pushed
// events; when the stream cannot be opened the badge says "polling" and the views still update
// on a timer, and the stream comes back by itself. A read-only token gets the feed too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, openUi, READ, sendTask, unique, WAIT } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const events = async (page) => Number(await page.locator('#live').getAttribute('data-events') ?? 0);

test('changes are pushed to the list and the task page while the feed is live', async () => {
  const key = unique('live');
  const streams = [];
  const page = await openUi(browser.context, { hash: `#/tasks?primary_key=${encodeURIComponent(key)}` });
  page.on('request', (r) => { if (r.url().includes('/api/v1/events')) streams.push(r.headers().authorization ?? ''); });
  await page.locator('#live[data-live="live"]').waitFor();
  await page.locator('[data-testid="tasks"] .empty-row').waitFor();
  const before = await events(page);

  // Due in 1.5 s, so a reload already scheduled when it was sent (the first `counts` event
  // starts one) cannot show it finished: only a reload after a later push can.
  const id = await sendTask({ name: 'echo', payload: { key }, primary_key: key, delay_ms: 1500 });
  await page.locator(`tr[data-id="${id}"][data-state="success"]`).waitFor();
  assert.ok(await events(page) > before, 'the list reloaded after pushed events');
  assert.equal(await page.locator('#live').getAttribute('data-live'), 'live');

  // The task page of a task that is still to run follows it to its end.
  const slow = await sendTask({ name: 'echo', payload: { key, later: true }, primary_key: key, delay_ms: 1500 });
  await page.evaluate((h) => { window.location.hash = h; }, `#/tasks/${slow}`);
  await page.locator('[data-view="task"][data-state="scheduled"]').waitFor();
  await page.locator('[data-view="task"][data-state="success"]').waitFor();
  assert.equal(await page.locator('#live').getAttribute('data-live'), 'live');
  // The token is sent in a header (never in the URL) after it was entered.
  assert.ok(streams.length === 0 || streams.every((a) => a.startsWith('Bearer ')), JSON.stringify(streams));
  assert.deepEqual(browser.problems, []);
  await page.close();
});

test('without the feed the views poll, and the feed comes back by itself', async () => {
  const key = unique('poll');
  // Every stream of this browser is refused until the route goes.
  await browser.context.route('**/api/v1/events', (route) => route.abort());
  const page = await openUi(browser.context, { hash: `#/tasks?primary_key=${encodeURIComponent(key)}` });
  await page.locator('#live[data-live="polling"]').waitFor();
  await page.locator('[data-view="tasks"]').waitFor();

  const id = await sendTask({ name: 'echo', payload: { key }, primary_key: key });
  await page.locator(`tr[data-id="${id}"][data-state="success"]`).waitFor();
  assert.equal(await events(page), 0, 'no event arrived: the list was polled');

  await browser.context.unroute('**/api/v1/events');
  await page.locator('#live[data-live="live"]').waitFor({ timeout: 2 * WAIT });
  await page.close();
  assert.deepEqual(browser.problems, []);
});

test('a read-only token gets the live feed', async () => {
  const page = await openUi(browser.context, { token: READ, hash: '#/' });
  await page.locator('#live[data-live="live"]').waitFor();
  await page.locator('[data-view="dashboard"][data-loaded]').waitFor();
  await page.close();
  assert.deepEqual(browser.problems, []);
});
