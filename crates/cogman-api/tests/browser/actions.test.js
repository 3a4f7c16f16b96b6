// Task detail actions: a failed task shows its error and Retry, and Retry adds an attempt to
// the chain; Cancel turns a delayed task cancelled. Saves a screenshot of the detail page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { call, cspViolations, launch, openUi, screenshot, sendTask, unique } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a failed task shows its error, and Retry creates a new attempt in the chain', async () => {
  const tag = unique('retry');
  const id = await sendTask({ name: 'fail', payload: tag, primary_key: tag });
  const page = await openUi(browser.context, { hash: `#/tasks/${id}` });

  // The page follows the task until it fails, then shows the handler's error.
  await page.locator('[data-view="task"][data-state="failed"]').waitFor();
  const error = page.locator('[data-testid="error"]');
  await error.waitFor();
  assert.match(await error.textContent(), /boom/);
  assert.match(await error.textContent(), new RegExp(tag));
  assert.equal(await page.locator('[data-testid="payload"]').textContent(), JSON.stringify(tag));
  assert.equal(await page.locator('[data-testid="cancel"]').count(), 0, 'a finished task cannot be cancelled');
  await page.locator('[data-testid="history"] li[data-state="failed"]').waitFor();

  const attempts = page.locator('[data-testid="attempt"]');
  assert.equal(await attempts.count(), 1);
  await page.click('[data-testid="retry"]');
  await page.locator('[data-testid="action-result"]').waitFor();
  await attempts.nth(1).waitFor();
  assert.equal(await attempts.count(), 2);

  // The API has the new attempt, with the same original task.
  const { body } = await call('GET', `/tasks?primary_key=${encodeURIComponent(tag)}`);
  assert.equal(body.items.length, 2);
  const retried = body.items.find((t) => t.id !== id);
  assert.equal(retried.original_task_id, id);
  assert.equal(retried.attempt, 1);
  const link = page.locator(`a[data-testid="attempt"][data-id="${retried.id}"]`);
  await link.waitFor();

  // It runs (and fails again); the chain shows it, then its own page links back.
  await page.locator(`a[data-testid="attempt"][data-id="${retried.id}"][data-state="failed"]`).waitFor();
  // The first attempt's page shows the chain's state, the newest attempt's, linked to it.
  await page.locator(`[data-testid="chain-status"][data-state="failed"] a[href="#/tasks/${retried.id}"]`).waitFor();
  assert.equal(await page.locator('[data-testid="attempt-count"]').textContent(), '1 task · 2 attempts');
  console.log(`screenshot: ${await screenshot(page, 'task-detail')}`);
  await link.click();
  await page.waitForURL(new RegExp(`#/tasks/${retried.id}$`));
  await page.locator(`[data-testid="task-id"]:text-is("${retried.id}")`).waitFor();
  await page.locator(`.fields a[href="#/tasks/${id}"]`).waitFor();
  assert.deepEqual(await cspViolations(page), []);
  assert.deepEqual(browser.problems, []);
});

test('Cancel on a delayed task turns it cancelled', async () => {
  // Bytes that are not UTF-8 are shown as base64.
  const id = await sendTask({ name: 'echo', payload_base64: 'AAECA/8=', delay_ms: 3600000 });
  const page = await openUi(browser.context, { hash: `#/tasks/${id}` });
  await page.locator('[data-view="task"][data-state="scheduled"]').waitFor();
  assert.equal(await page.getAttribute('[data-testid="payload"]', 'data-kind'), 'base64');
  assert.equal(await page.textContent('[data-testid="payload"]'), 'AAECA/8=');
  assert.equal(await page.locator('[data-testid="retry"]').count(), 0, 'an unfinished task cannot be retried');

  await page.click('[data-testid="cancel"]');
  await page.click('[data-testid="confirm-cancel"]');
  await page.locator('[data-view="task"][data-state="cancelled"]').waitFor();
  await page.locator('[data-testid="history"] li[data-state="cancelled"]').waitFor();
  assert.equal(await page.locator('[data-testid="cancel"]').count(), 0);
  await page.locator('[data-testid="retry"]').waitFor();

  const { body } = await call('GET', `/tasks/${id}`);
  assert.equal(body.task.status, 'cancelled');
  assert.deepEqual(browser.problems, []);
});
