// The named queues of the dashboard: each with its state, a Pause or Resume button for an
// admin token (none for a read-only one), and Resume resumes the queue for the API too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { READ, call, launch, openUi, poll, screenshot, unique } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a paused queue is shown paused and Resume resumes it', async () => {
  const name = unique('mail').replace(/[^A-Za-z0-9_.-]/g, '_');
  const paused = await call('POST', `/named-queues/${name}/pause`);
  assert.equal(paused.status, 200);
  assert.equal(paused.body.paused, true);

  const page = await openUi(browser.context, { hash: '#/' });
  const row = page.locator(`[data-testid="named-queues"] tr[data-queue="${name}"]`);
  await row.waitFor();
  assert.match(await row.locator('[data-testid="queue-state"]').textContent(), /^paused /);
  // The default queue is listed, active, with a Pause button.
  const defaultRow = page.locator('[data-testid="named-queues"] tr[data-queue="default"]');
  await defaultRow.locator('[data-testid="pause-queue"]').waitFor();
  assert.equal((await defaultRow.locator('[data-testid="queue-state"]').textContent()).trim(), 'active');
  await screenshot(page, 'named-queues');

  await row.locator('[data-testid="resume-queue"]').click();
  await poll(async () => !(await call('GET', '/named-queues')).body.queues.some((q) => q.name === name && q.paused),
    { message: 'the API to report the queue resumed' });
  // Not paused and served by no worker: it leaves the list.
  await row.waitFor({ state: 'detached' });
});

test('a read-only token sees the queues without buttons', async () => {
  const page = await openUi(browser.context, { hash: '#/', token: READ, role: 'read' });
  const defaultRow = page.locator('[data-testid="named-queues"] tr[data-queue="default"]');
  await defaultRow.waitFor();
  assert.equal(await page.locator('[data-testid="pause-queue"], [data-testid="resume-queue"]').count(), 0);
});
