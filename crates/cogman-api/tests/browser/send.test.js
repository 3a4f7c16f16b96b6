// The Send form: a task sent from it shows up in the list and runs to success; the API's
// validation errors are shown next to the field they are about, and nothing is written.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { call, cspViolations, launch, openUi, show, unique } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a task sent from the form appears in the list and reaches success', async () => {
  const key = unique('form');
  const page = await openUi(browser.context, { hash: '#/send' });
  await page.locator('[data-view="send"]').waitFor();
  await page.fill('[data-testid="name"]', 'echo');
  await page.fill('[data-testid="payload"]', JSON.stringify({ hello: 'from the form', key }));
  await page.fill('[data-testid="primary-key"]', key);
  await page.fill('[data-testid="retry"]', '2');
  await page.selectOption('select[name="priority"]', 'High');
  await page.click('[data-testid="submit"]');
  const link = page.locator('[data-testid="sent-link"]');
  await link.waitFor();
  const href = await link.getAttribute('href');
  const id = decodeURIComponent(href.replace('#/tasks/', ''));

  // The list, filtered by the primary key through the filter form, shows it and follows it
  // to success on its own (auto-refresh).
  await show(page, '#/tasks', 'tasks');
  await page.fill('input[name="primary_key"]', key);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator('[data-view="tasks"]').waitFor();
  const row = page.locator(`[data-testid="tasks"] tr[data-id="${id}"]`);
  await row.waitFor();
  assert.equal(await page.locator('[data-testid="tasks"] tbody tr[data-id]').count(), 1);
  await page.locator(`[data-testid="tasks"] tr[data-id="${id}"][data-state="success"]`).waitFor();
  assert.match(await row.textContent(), /High/);

  // The API agrees, with every field as entered.
  const { body } = await call('GET', `/tasks/${id}`);
  assert.equal(body.task.status, 'success');
  assert.equal(body.task.priority, 'High');
  assert.equal(body.task.retry, 2);
  assert.deepEqual(body.task.payload, { hello: 'from the form', key });

  // The detail page shows the echoed result as JSON.
  await row.locator('a').click();
  await page.locator('[data-view="task"]').waitFor();
  const result = page.locator('[data-testid="result"]');
  await result.waitFor();
  assert.equal(await result.getAttribute('data-kind'), 'json');
  assert.deepEqual(JSON.parse(await result.textContent()), { hello: 'from the form', key });
  assert.deepEqual(await cspViolations(page), []);
  assert.deepEqual(browser.problems, []);
});

test('validation errors are shown at their field and nothing is sent', async () => {
  const key = unique('invalid');
  const page = await openUi(browser.context, { hash: '#/send' });
  await page.locator('[data-view="send"]').waitFor();
  const errorOf = (name) => page.locator(`label.field:has([name="${name}"]) .field-error`);

  // The API refuses a retry budget over its limit: the message is shown under Retries.
  await page.fill('[data-testid="name"]', 'echo');
  await page.fill('[data-testid="primary-key"]', key);
  await page.fill('[data-testid="retry"]', '1000');
  await page.click('[data-testid="submit"]');
  await errorOf('retry').waitFor();
  assert.match(await errorOf('retry').textContent(), /retry budget 1000 is above the limit of 100/);
  assert.equal(await page.getAttribute('[data-testid="retry"]', 'aria-invalid'), 'true');

  // An empty name: the API's message under Name; the previous error is gone.
  await page.fill('[data-testid="retry"]', '');
  await page.fill('[data-testid="name"]', '');
  await page.click('[data-testid="submit"]');
  await errorOf('name').waitFor();
  assert.match(await errorOf('name').textContent(), /task name is empty/);
  assert.equal(await errorOf('retry').isVisible(), false);

  // A payload that is not JSON is caught before sending.
  await page.fill('[data-testid="name"]', 'echo');
  await page.fill('[data-testid="payload"]', '{not json');
  await page.click('[data-testid="submit"]');
  await errorOf('payload').waitFor();
  assert.match(await errorOf('payload').textContent(), /not valid JSON/);

  const { body } = await call('GET', `/tasks?primary_key=${encodeURIComponent(key)}`);
  assert.equal(body.items.length, 0, 'a refused task writes nothing');
  assert.deepEqual(browser.problems, []);
});
