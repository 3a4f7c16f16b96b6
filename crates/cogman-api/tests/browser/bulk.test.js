// Bulk actions on the task list: "Retry all failed" counts first, asks, then retries; the
// selection's Cancel asks with the count and cancels; "Cancel all matching" acts on what the
// search matches; a read-only token sees none of these buttons.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { call, launch, openUi, READ, screenshot, sendTask, unique, waitForState } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const attempts = async (id) => (await call('GET', `/tasks/${id}`)).body.attempts.length;

test('retry all failed, cancel the selection, cancel all matching', async () => {
  const key = unique('bulk');
  const failed = [await sendTask({ name: 'fail', payload: { key }, primary_key: key }),
    await sendTask({ name: 'fail', payload: { key, n: 2 }, primary_key: key })];
  for (const id of failed) await waitForState(id, 'failed');

  const page = await openUi(browser.context, { hash: `#/tasks?q=${encodeURIComponent(`key:${key}`)}` });
  await page.locator(`tr[data-id="${failed[0]}"]`).waitFor();
  await page.click('[data-testid="retry-all-failed"]');
  const ask = page.locator('[data-testid="bulk-confirm"] .alert');
  await ask.waitFor();
  assert.match(await ask.textContent(), /^Retry \d+ tasks?\?/);
  await screenshot(page, 'bulk-confirm');
  await page.click('[data-testid="bulk-yes"]');
  await page.locator('[data-testid="bulk-result"] .alert-ok', { hasText: 'retried' }).waitFor();
  for (const id of failed) assert.equal(await attempts(id), 2, `task ${id} has a new attempt`);

  // The selection: two delayed tasks, cancelled after the confirmation.
  const later = [await sendTask({ name: 'echo', primary_key: `${key}-later`, delay_ms: 3600000 }),
    await sendTask({ name: 'echo', primary_key: `${key}-later`, delay_ms: 3600000 })];
  await page.evaluate((h) => { window.location.hash = h; }, `#/tasks?q=${encodeURIComponent(`key:${key}-later`)}`);
  await page.locator(`tr[data-id="${later[1]}"]`).waitFor();
  for (const id of later) await page.check(`tr[data-id="${id}"] [data-testid="select"]`);
  assert.equal(await page.locator('[data-testid="selected-count"]').textContent(), '2 selected');
  await page.click('[data-testid="cancel-selected"]');
  await page.locator('[data-testid="bulk-confirm"] .alert', { hasText: 'Cancel 2 tasks?' }).waitFor();
  await page.click('[data-testid="bulk-yes"]');
  await page.locator('[data-testid="bulk-result"] .alert-ok', { hasText: '2 tasks cancelled' }).waitFor();
  for (const id of later) assert.equal((await call('GET', `/tasks/${id}`)).body.task.status, 'cancelled');

  // Everything the search matches.
  const more = await sendTask({ name: 'echo', primary_key: `${key}-more`, delay_ms: 3600000 });
  await page.evaluate((h) => { window.location.hash = h; }, `#/tasks?q=${encodeURIComponent(`key:${key}-more`)}`);
  await page.locator(`tr[data-id="${more}"]`).waitFor();
  await page.click('[data-testid="cancel-matching"]');
  await page.locator('[data-testid="bulk-confirm"] .alert', { hasText: 'Cancel 1 task?' }).waitFor();
  await page.click('[data-testid="bulk-yes"]');
  await page.locator(`tr[data-id="${more}"][data-state="cancelled"]`).waitFor();
  assert.deepEqual(browser.problems, []);
  await page.close();
});

test('a read-only token sees no bulk action', async () => {
  const page = await openUi(browser.context, { token: READ, hash: '#/tasks' });
  await page.locator('[data-view="tasks"]').waitFor();
  assert.equal(await page.locator('[data-testid="retry-all-failed"]').isVisible(), false);
  assert.equal(await page.locator('[data-testid="bulk"]').isVisible(), false);
  assert.equal(await page.locator('[data-testid="select"]').first().isVisible().catch(() => false), false);
  await page.close();
});
