// Tokens: a read-only token sees everything but gets no Retry, Cancel or working Send (the
// server's 403 is shown); no token or a wrong one is explained; the role is learned from
// GET /whoami, without a write.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ADMIN, BASE, call, launch, openUi, READ, sendTask, unique, waitForState } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a read-only token hides Retry and Cancel, and Send surfaces the 403', async () => {
  const failed = await sendTask({ name: 'fail', payload: 'x' });
  const delayed = await sendTask({ name: 'echo', delay_ms: 3600000 });
  await waitForState(failed, 'failed');

  const page = await openUi(browser.context, { token: READ, hash: '#/' });
  assert.equal(await page.textContent('#role'), 'read-only');
  assert.match(await page.textContent('#notice'), /Read-only token/);

  // Reads work: the dashboard loads.
  await page.locator('[data-view="dashboard"][data-loaded]').waitFor();
  assert.equal(await page.locator('[data-view="dashboard"] .alert-error').count(), 0);

  // No actions on the detail pages, with a hint instead.
  for (const [id, state] of [[failed, 'failed'], [delayed, 'scheduled']]) {
    await page.evaluate((h) => { window.location.hash = h; }, `#/tasks/${id}`);
    await page.locator(`[data-view="task"][data-state="${state}"]`).waitFor();
    await page.locator('[data-testid="actions"] [data-testid="read-only"]').waitFor();
    assert.equal(await page.locator('[data-testid="retry"], [data-testid="cancel"]').count(), 0);
  }

  // Send warns, and the server's refusal is shown when tried anyway.
  const key = unique('read');
  await page.evaluate(() => { window.location.hash = '#/send'; });
  await page.locator('[data-view="send"] [data-testid="read-only"]').waitFor();
  await page.fill('[data-testid="name"]', 'echo');
  await page.fill('[data-testid="primary-key"]', key);
  await page.click('[data-testid="submit"]');
  const refusal = page.locator('[data-testid="send-outcome"] .alert-error');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /may only read/);
  assert.equal((await call('GET', `/tasks?primary_key=${key}`)).body.items.length, 0);
  assert.equal((await call('GET', `/tasks/${delayed}`)).body.task.status, 'scheduled');
  assert.deepEqual(browser.problems, []);
});

test('no token and a wrong token are explained', async () => {
  const page = await openUi(browser.context, { token: '', role: 'missing', hash: '#/' });
  assert.match(await page.textContent('#notice'), /needs an API token/);
  const alert = page.locator('[data-view="dashboard"] .alert-error').first();
  await alert.waitFor();
  assert.equal(await alert.getAttribute('data-status'), '401');

  await page.fill('#token-input', 'not-a-valid-token-at-all');
  await page.click('#token-form button[type=submit]');
  await page.locator('#role[data-role="invalid"]').waitFor();
  assert.match(await page.textContent('#notice'), /rejected this token/);

  // Forget clears it; a good token then works without a reload.
  await page.click('#token-clear');
  await page.locator('#role[data-role="missing"]').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('cogman.token')), null);
  await page.fill('#token-input', process.env.UI_TEST_ADMIN_TOKEN);
  await page.click('#token-form button[type=submit]');
  await page.locator('#role[data-role="admin"]').waitFor();
  assert.equal(await page.isHidden('#notice'), true);
  await page.locator('[data-view="dashboard"][data-loaded]').waitFor();
  assert.equal(await page.locator('[data-view="dashboard"] .alert-error').count(), 0);
});

test('the role is learned from GET /whoami, and learning it writes nothing', async () => {
  const page = await browser.context.newPage();
  const calls = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/v1/')) calls.push(`${r.method()} ${url.pathname}`);
  });
  await page.goto(`${BASE}/ui/#/`);
  await page.locator('#role[data-role="missing"]').waitFor();
  for (const [token, role] of [[ADMIN, 'admin'], [READ, 'read']]) {
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    await page.locator(`#role[data-role="${role}"]`).waitFor();
  }
  assert.equal(calls.filter((c) => c === 'GET /api/v1/whoami').length, 3, calls.join(', '));
  assert.deepEqual(calls.filter((c) => !c.startsWith('GET ')), [], 'no request but GETs');
  await page.close();
});
