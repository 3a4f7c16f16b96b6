// The task list: cursor paging ("Older →"), filters in the URL, and auto-refresh.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, openUi, sendTask, unique } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const rowIds = (page) => page.locator('[data-testid="tasks"] tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.dataset.id));

test('the list pages with cursors, filters, and refreshes on its own', async () => {
  const key = unique('paging');
  const ids = [];
  for (let i = 0; i < 27; i += 1) ids.push(await sendTask({ name: 'echo', payload: { i }, primary_key: key, delay_ms: 3600000 }));
  const newestFirst = [...ids].reverse();

  const page = await openUi(browser.context, { hash: `#/tasks?primary_key=${encodeURIComponent(key)}` });
  await page.locator('[data-view="tasks"]').waitFor();
  await page.locator(`tr[data-id="${newestFirst[0]}"]`).waitFor();
  assert.deepEqual(await rowIds(page), newestFirst.slice(0, 25));

  await page.click('[data-testid="older"]');
  await page.locator(`tr[data-id="${newestFirst[25]}"]`).waitFor();
  assert.deepEqual(await rowIds(page), newestFirst.slice(25));
  assert.equal(await page.locator('[data-testid="older"]').isDisabled(), true);

  await page.getByRole('button', { name: '← Newer' }).click();
  await page.locator(`tr[data-id="${newestFirst[0]}"]`).waitFor();
  assert.deepEqual(await rowIds(page), newestFirst.slice(0, 25));

  // Auto-refresh (on by default) brings in a task sent elsewhere.
  assert.equal(await page.locator('[data-testid="auto-refresh"]').isChecked(), true);
  const late = await sendTask({ name: 'echo', payload: { late: true }, primary_key: key, delay_ms: 3600000 });
  await page.locator(`tr[data-id="${late}"]`).waitFor();
  assert.equal((await rowIds(page))[0], late);

  // State and time filters: none of these tasks is failed, none was created in the future.
  await page.locator('label.pill:has(input[value="failed"])').click();
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=failed/);
  await page.locator('[data-testid="tasks"] .empty-row').waitFor();
  await page.locator('label.pill:has(input[value="failed"])').click();
  await page.locator('label.pill:has(input[value="scheduled"])').click();
  const future = new Date(Date.now() + 86400000);
  const local = new Date(future.getTime() - future.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  await page.fill('input[name="created_from"]', local);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/created_from=/);
  await page.locator('[data-testid="tasks"] .empty-row').waitFor();
  await page.fill('input[name="created_from"]', '');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL((url) => url.hash.includes('status=scheduled') && !url.hash.includes('created_from'));
  await page.locator(`tr[data-id="${late}"]`).waitFor();
  assert.equal(await page.locator('[data-testid="tasks"] tbody tr[data-id]:not([data-state="scheduled"])').count(), 0);
  assert.deepEqual(browser.problems, []);
});
