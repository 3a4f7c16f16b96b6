// A server without tokens: the UI works without one, with no auth notice.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, OPEN_BASE, openUi, unique } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('without tokens on the server the UI needs none', async () => {
  const page = await openUi(browser.context, { base: OPEN_BASE, token: '', role: 'open', hash: '#/send' });
  assert.equal(await page.textContent('#role'), 'no auth');
  assert.equal(await page.isHidden('#notice'), true);
  assert.equal(await page.locator('[data-testid="read-only"]').count(), 0);

  const key = unique('open');
  await page.fill('[data-testid="name"]', 'echo');
  await page.fill('[data-testid="primary-key"]', key);
  await page.click('[data-testid="submit"]');
  await page.locator('[data-testid="sent-link"]').click();
  // This server runs no worker: the task waits in the queue, and can be cancelled.
  await page.locator('[data-view="task"][data-state="queued"]').waitFor();
  await page.click('[data-testid="cancel"]');
  await page.click('[data-testid="confirm-cancel"]');
  await page.locator('[data-view="task"][data-state="cancelled"]').waitFor();

  await page.evaluate(() => { window.location.hash = '#/'; });
  await page.locator('[data-view="dashboard"][data-loaded]').waitFor();
  assert.equal(await page.locator('[data-view="dashboard"] .alert-error').count(), 0);
  assert.equal(await page.textContent('[data-testid="workers"] .empty-row'), 'No worker reported in the last 30 s.');
  assert.deepEqual(browser.problems, []);
});
