// The dead letters page: entries listed with their reason, task link, queue and payload;
// Requeue makes a new attempt that runs; Remove and Purge all ask first; paging; a read-only
// token sees no action; hostile names, reasons and payloads are shown as text.
//
// A dead letter is made the way the embedded queue makes one: a task waiting in the queue
// (delayed an hour) has its queue row moved to `dead_letters` and its log record failed with
// the reason, in one transaction on the server's SQLite file (UI_TEST_DB).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { call, cspViolations, launch, openUi, poll, READ, sendTask, show, unique, waitForState } from './harness.js';

const DB = process.env.UI_TEST_DB;
if (!DB) throw new Error('UI_TEST_DB is not set: run the tests through .ci/browser-tests.sh');

const EVIL = '<img src=x onerror=alert(1)>';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const sql = (text) => `'${String(text).replaceAll("'", "''")}'`;

/** Dead-letters the waiting tasks `ids` with `reason`, as the embedded queue does. */
function deadLetter(ids, reason) {
  const statements = ids.map((id) => `
    INSERT INTO dead_letters (task_id, reason, at, deliveries, task, payload)
      SELECT task_id, ${sql(reason)}, CAST(strftime('%s', 'now') AS INTEGER) * 1000000000, deliveries, task, payload
      FROM queue WHERE task_id = ${sql(id)};
    DELETE FROM queue WHERE task_id = ${sql(id)};
    UPDATE tasks SET status = 'failed', fail_error = ${sql(reason)} WHERE id = ${sql(id)};`);
  execFileSync('sqlite3', ['-cmd', '.timeout 10000', DB, `BEGIN IMMEDIATE;${statements.join('')}COMMIT;`]);
}

/** Sends a task delayed an hour (it waits in the queue) and returns its id. */
const waiting = (task) => sendTask({ delay_ms: 3600000, ...task });

/** The listed dead letter of task `id`, per the API (or undefined). */
async function listed(id) {
  const { status, body } = await call('GET', '/dead-letters?limit=1000');
  assert.equal(status, 200);
  return body.items.find((d) => d.task_id === id);
}

test('a dead letter is listed and Requeue runs it again as a new attempt', async () => {
  const tag = unique('dl-requeue');
  const id = await waiting({ name: 'echo', payload: tag, primary_key: tag });
  deadLetter([id], `poison: ${tag}`);
  const dead = await listed(id);
  assert.ok(dead, 'the API lists it');

  const page = await openUi(browser.context, { hash: '#/dead-letters' });
  await page.locator('nav a[data-nav="dead-letters"][aria-current="page"]').waitFor();
  const row = page.locator(`tr[data-testid="dead-letter"][data-id="${dead.id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('[data-testid="reason"]').textContent(), `poison: ${tag}`);
  assert.equal(await row.locator('[data-testid="dead-task-link"]').textContent(), 'echo');
  assert.equal(await row.locator('[data-testid="dead-task-link"]').getAttribute('href'), `#/tasks/${id}`);
  assert.equal(await row.locator('[data-testid="body"]').textContent(), JSON.stringify(tag));
  assert.match(await row.textContent(), /default/, 'the queue is shown');

  await row.locator('[data-testid="requeue"]').click();
  const link = page.locator('[data-testid="action-result"] [data-testid="requeued-task"]');
  await link.waitFor();
  await row.waitFor({ state: 'detached' });
  const { body } = await call('GET', `/tasks?primary_key=${encodeURIComponent(tag)}`);
  const attempt = body.items.find((t) => t.id !== id);
  assert.ok(attempt, 'a new attempt exists');
  assert.equal(attempt.original_task_id, id);
  assert.equal(await link.getAttribute('href'), `#/tasks/${attempt.id}`);
  await waitForState(attempt.id, 'success');
  assert.equal(await listed(id), undefined, 'gone from the list');
  assert.deepEqual(await cspViolations(page), []);
  assert.deepEqual(browser.problems, []);
});

test('Remove asks first, then deletes only that dead letter', async () => {
  const tag = unique('dl-remove');
  const [keep, drop] = [await waiting({ name: 'echo', payload: `${tag}-keep` }), await waiting({ name: 'echo', payload: `${tag}-drop` })];
  deadLetter([keep, drop], `malformed: ${tag}`);
  const [kept, dropped] = [await listed(keep), await listed(drop)];

  const page = await openUi(browser.context, { hash: '#/dead-letters' });
  const row = page.locator(`tr[data-testid="dead-letter"][data-id="${dropped.id}"]`);
  await row.locator('[data-testid="remove"]').click();
  // Nothing is removed before the confirmation.
  await row.locator('[data-testid="confirm-remove"]').waitFor();
  assert.ok(await listed(drop), 'still there while asking');
  await row.locator('[data-testid="confirm-remove"]').click();
  await row.waitFor({ state: 'detached' });
  await page.locator('[data-testid="action-result"]').waitFor();
  assert.equal(await listed(drop), undefined);
  assert.ok(await listed(keep), 'the other one stays');
  await page.locator(`tr[data-testid="dead-letter"][data-id="${kept.id}"]`).waitFor();
  assert.deepEqual(browser.problems, []);
});

test('a read-only token sees dead letters without any action, and the API refuses it', async () => {
  const tag = unique('dl-read');
  const id = await waiting({ name: 'echo', payload: tag });
  deadLetter([id], `poison: ${tag}`);
  const dead = await listed(id);

  const page = await openUi(browser.context, { token: READ, hash: '#/dead-letters' });
  const row = page.locator(`tr[data-testid="dead-letter"][data-id="${dead.id}"]`);
  await row.waitFor();
  await page.locator('[data-testid="dead-letter-actions"] [data-testid="read-only"]').waitFor();
  for (const action of ['requeue', 'remove', 'purge']) {
    assert.equal(await page.locator(`[data-testid="${action}"]`).count(), 0, `no ${action} for a read-only token`);
  }
  const refused = await call('POST', `/dead-letters/${dead.id}/requeue`, { token: READ });
  assert.equal(refused.status, 403);
  assert.ok(await listed(id), 'still listed');
  assert.deepEqual(browser.problems, []);
});

test('markup and hidden characters in a dead letter are shown as text', async () => {
  const id = await waiting({ name: EVIL, payload_base64: Buffer.from(EVIL).toString('base64') });
  deadLetter([id], `${EVIL}<script>alert(2)</script>\u202eevil`);
  const dead = await listed(id);

  const page = await openUi(browser.context, { hash: '#/dead-letters' });
  const row = page.locator(`tr[data-testid="dead-letter"][data-id="${dead.id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('[data-testid="dead-task-link"]').textContent(), EVIL);
  assert.equal(await row.locator('[data-testid="body"]').textContent(), EVIL);
  assert.equal(await row.locator('[data-testid="reason"]').textContent(), `${EVIL}<script>alert(2)</script>\\u{202e}evil`);
  assert.equal(await page.locator('#view img, #view script').count(), 0);
  assert.deepEqual(browser.dialogs, []);
  assert.deepEqual(browser.problems, []);
});

test('dead letters page by 25, and Purge all asks first, then empties the list', async () => {
  const tag = unique('dl-purge');
  const ids = [];
  for (let i = 0; i < 26; i += 1) ids.push(await waiting({ name: 'echo', payload: `${tag}-${i}` }));
  deadLetter(ids, `poison: ${tag}`);

  const page = await openUi(browser.context, { hash: '#/tasks' });
  await show(page, '#/dead-letters', 'dead-letters');
  const rows = page.locator('tr[data-testid="dead-letter"]');
  await page.locator('[data-view="dead-letters"][data-count="25"]').waitFor();
  assert.equal(await rows.count(), 25);
  await page.click('[data-testid="older"]');
  await poll(async () => (await page.locator('.where').textContent()).startsWith('page 2'), { message: 'page 2' });
  assert.ok(await rows.count() >= 1);

  await page.click('[data-testid="purge"]');
  await page.locator('[data-testid="confirm-purge"]').waitFor();
  assert.ok((await call('GET', '/dead-letters')).body.items.length > 0, 'nothing purged while asking');
  await page.click('[data-testid="confirm-purge"]');
  await page.locator('[data-testid="action-result"]').waitFor();
  assert.match(await page.textContent('[data-testid="action-result"]'), /dead letters? removed/);
  await page.locator('[data-view="dead-letters"][data-count="0"]').waitFor();
  assert.equal((await call('GET', '/dead-letters')).body.items.length, 0);
  assert.deepEqual(browser.problems, []);
});
