// Task names, payloads, keys and errors are attacker-controlled: the UI shows them as text.
// The check is on the DOM (no element injected, no dialog), not on the CSP that would also
// block an inline handler.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, openUi, sendTask, waitForState } from './harness.js';

const EVIL = '<img src=x onerror=alert(1)>';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('markup in a task is rendered as text', async () => {
  const id = await sendTask({
    name: EVIL,
    payload_base64: Buffer.from(EVIL).toString('base64'),
    primary_key: `${EVIL}<script>alert(2)</script>`,
  });
  const jsonId = await sendTask({ name: EVIL, payload: { html: EVIL, '<b>k</b>': 1 } });
  // No handler has this name: the worker waits handler_wait (2 s, set by browser-tests.sh) for
  // one, then fails it with an error that quotes the name.
  await waitForState(id, 'failed');

  const page = await openUi(browser.context, { hash: `#/tasks?name=${encodeURIComponent(EVIL)}` });
  const row = page.locator(`[data-testid="tasks"] tr[data-id="${id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('[data-testid="task-link"]').textContent(), EVIL);
  assert.match(await row.textContent(), /<script>alert\(2\)<\/script>/);
  await page.locator(`[data-testid="tasks"] tr[data-id="${jsonId}"]`).waitFor();
  assert.equal(await page.locator('#view img, #view script, #view b').count(), 0);

  await row.locator('a').click();
  await page.locator('[data-view="task"][data-state="failed"]').waitFor();
  assert.equal(await page.textContent('[data-testid="task-name"]'), EVIL);
  assert.equal(await page.textContent('[data-testid="payload"]'), EVIL);
  assert.match(await page.textContent('[data-testid="error"]'), /<img src=x onerror=alert\(1\)>/);
  assert.equal(await page.locator('#view img, #view script').count(), 0);
  // Before it failed, the worker handed it back for want of the handler: the history notes
  // that once, and no longer says it waits.
  const waited = page.locator('[data-testid="history"] li[data-note="waiting_for_handler"]');
  assert.equal(await waited.count(), 1);
  assert.match(await waited.locator('[data-testid="note"]').textContent(), /handed back/);
  assert.equal(await page.locator('[data-testid="waiting-for-handler"]').count(), 0);

  await page.evaluate((h) => { window.location.hash = h; }, `#/tasks/${jsonId}`);
  await page.locator(`[data-testid="task-id"]:text-is("${jsonId}")`).waitFor();
  assert.deepEqual(JSON.parse(await page.textContent('[data-testid="payload"]')), { html: EVIL, '<b>k</b>': 1 });
  assert.equal(await page.locator('#view img, #view script, #view b').count(), 0);

  // Sending one from the form shows it back as text too.
  await page.evaluate(() => { window.location.hash = '#/send'; });
  await page.fill('[data-testid="name"]', EVIL);
  await page.selectOption('[data-testid="format"]', 'text');
  await page.fill('[data-testid="payload"]', EVIL);
  await page.click('[data-testid="submit"]');
  await page.locator('[data-testid="sent-link"]').click();
  await page.locator('[data-testid="task-name"]').waitFor();
  assert.equal(await page.textContent('[data-testid="task-name"]'), EVIL);
  assert.equal(await page.textContent('[data-testid="payload"]'), EVIL);
  assert.equal(await page.locator('#view img, #view script').count(), 0);

  assert.deepEqual(browser.dialogs, [], 'no dialog opened');
  assert.deepEqual(browser.problems, []);
  assert.equal(await page.evaluate(() => window.__cspViolations.length), 0, 'nothing even tried to run');
});

test('hidden and reordering characters are shown escaped', async () => {
  // An ANSI escape, a right-to-left override and a NUL: stored as sent, shown as escapes.
  const text = 'red\u001b[31m \u202egnp.exe nul\u0000 line\nbreak';
  const id = await sendTask({ name: 'ui.hidden', payload_base64: Buffer.from(text).toString('base64') });
  const page = await openUi(browser.context, { hash: `#/tasks/${id}` });
  await page.locator(`[data-testid="task-id"]:text-is("${id}")`).waitFor();
  const shown = await page.textContent('[data-testid="payload"]');
  assert.equal(shown, 'red\\u{1b}[31m \\u{202e}gnp.exe nul\\u{0} line\nbreak');
  assert.deepEqual(browser.problems, []);
});
