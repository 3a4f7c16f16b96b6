// The search box of the task list: a line of terms (GET /search) finds tasks by a JSON path into
// the payload, error text and state, kept in the address; a bare primary key works; a term the
// server does not understand shows its 400 message.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, openUi, screenshot, sendTask, unique, waitForState } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const rowIds = (page) => page.locator('[data-testid="tasks"] tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.dataset.id));

async function searchFor(page, line) {
  await page.fill('[data-testid="search"]', line);
  await page.press('[data-testid="search"]', 'Enter');
  await page.waitForURL((url) => new URLSearchParams(url.hash.split('?')[1] ?? '').get('q') === line);
}

test('the search box finds tasks by payload path, error text and state', async () => {
  const key = unique('search');
  const vip = await sendTask({ name: 'echo', payload: { customer_id: 42, key }, primary_key: key });
  const other = await sendTask({ name: 'echo', payload: { customer_id: 7, key }, primary_key: key });
  const failed = await sendTask({ name: 'fail', payload: { customer_id: 42, key }, primary_key: key });
  await waitForState(vip, 'success');
  await waitForState(other, 'success');
  await waitForState(failed, 'failed');

  const page = await openUi(browser.context, { hash: '#/tasks' });
  await searchFor(page, `key:${key} payload.customer_id=42`);
  await page.locator(`tr[data-id="${failed}"]`).waitFor();
  assert.deepEqual(await rowIds(page), [failed, vip]);
  await screenshot(page, 'search');

  await searchFor(page, `key:${key} error:BOOM`);
  await page.locator(`tr[data-id="${vip}"]`).waitFor({ state: 'detached' });
  assert.deepEqual(await rowIds(page), [failed]);

  // The form's filters join the line: success only.
  await searchFor(page, key);
  await page.locator(`tr[data-id="${other}"]`).waitFor();
  assert.deepEqual(await rowIds(page), [failed, other, vip]);
  await page.locator('label.pill:has(input[value="success"])').click();
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=success/);
  await page.locator(`tr[data-id="${failed}"]`).waitFor({ state: 'detached' });
  assert.deepEqual(await rowIds(page), [other, vip]);

  await searchFor(page, 'colour:red');
  await page.locator('.alert', { hasText: 'unknown field' }).waitFor();
  assert.deepEqual(browser.problems, []);
});
