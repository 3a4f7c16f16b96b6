// Dead letters: the messages the broker moved aside because they can never run (malformed,
// poison), newest first, with their reason, task, queue, time and a payload preview. Requeue
// (a new attempt of the task's chain), Remove and Purge all are confirmed inline and shown
// only to a session that may write; paging follows the API's `before` cursor.

import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { errorBox } from '../errors.js';
import { preview, shortId, shortTime } from '../format.js';
import { canWrite, currentRole, onRoleChange } from '../session.js';

const PAGE_SIZE = 25;

const faint = (text) => h('span', { class: 'faint' }, text);

export function deadLetters(root) {
  const message = h('div');
  const status = h('div');
  const tbody = h('tbody');
  const headActions = h('div', { class: 'actions', dataset: { testid: 'dead-letter-actions' } });
  const newest = h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => go([]) } }, '« Newest');
  const newer = h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => go(cursors.slice(0, -1)) } }, '← Newer');
  const older = h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'older' }, on: { click: () => go([...cursors, next]) } }, 'Older →');
  const where = h('span', { class: 'where' });

  fill(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Dead letters'), h('span', { class: 'spacer' }), headActions),
    h('p', { class: 'muted' }, 'Tasks the broker moved aside because they can never run as sent: malformed messages, and poison tasks delivered again and again without an outcome. Their task is failed with the same reason. Requeue sends the task again as a new attempt.'),
    message,
    h('section', { class: 'panel' }, status,
      h('div', { class: 'table-wrap' }, h('table', { dataset: { testid: 'dead-letters' } },
        h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'Reason'), h('th', { class: 'hide-narrow' }, 'Queue'),
          h('th', {}, 'Dead-lettered'), h('th', {}, 'Payload'), h('th', {}, ''))),
        tbody)),
      h('div', { class: 'pager' }, where, newest, newer, older)));

  // cursors[i] is the `before` of page i + 1; the current page is cursors.length.
  let cursors = [];
  let next = null;
  let page = null;
  // The row (dead letter id) or 'purge' waiting for its confirmation.
  let confirming = null;
  let stopped = false;

  function rowActions(dead) {
    if (!canWrite()) return [];
    const id = String(dead.id);
    if (confirming === id) {
      return [h('span', { class: 'muted' }, 'Remove for good?'),
        h('button', {
          type: 'button', class: 'btn btn-danger btn-small', dataset: { testid: 'confirm-remove' },
          on: { click: (e) => act(e.currentTarget, () => api.removeDeadLetter(dead.id), () => [`Dead letter ${dead.id} removed.`]) },
        }, 'Yes, remove'),
        h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => { confirming = null; render(); } } }, 'Keep')];
    }
    return [
      dead.requeueable
        ? h('button', {
          type: 'button', class: 'btn btn-small', dataset: { testid: 'requeue' },
          on: {
            click: (e) => act(e.currentTarget, () => api.requeueDeadLetter(dead.id),
              (r) => ['Requeued as a new attempt: ', h('a', { href: `#/tasks/${encodeURIComponent(r.id)}`, dataset: { testid: 'requeued-task' } }, shortId(r.id))]),
          },
        }, 'Requeue')
        : h('span', { class: 'faint', title: 'The message did not decode to a task' }, 'not requeueable'),
      h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'remove' }, on: { click: () => { confirming = id; render(); } } }, 'Remove…'),
    ];
  }

  function row(dead) {
    const task = dead.task_id
      ? h('a', { href: `#/tasks/${encodeURIComponent(dead.task_id)}`, title: dead.task_id, dataset: { testid: 'dead-task-link' } }, dead.name ?? shortId(dead.task_id))
      : (dead.name ?? faint('unreadable'));
    return h('tr', { dataset: { id: dead.id, testid: 'dead-letter' } },
      h('td', {}, h('div', { class: 'ellipsis' }, task),
        dead.task_id ? h('div', { class: 'sub mono', title: dead.task_id }, shortId(dead.task_id)) : null),
      h('td', { class: 'err' }, h('div', { class: 'ellipsis', title: dead.reason, dataset: { testid: 'reason' } }, dead.reason)),
      h('td', { class: 'hide-narrow' }, dead.queue ?? faint('—')),
      h('td', { class: 'nowrap', title: dead.dead_lettered_at }, shortTime(dead.dead_lettered_at)),
      h('td', { class: 'muted' }, h('div', { class: 'ellipsis', dataset: { testid: 'body' } }, preview(dead.body_base64, undefined, 60))),
      h('td', { class: 'nowrap' }, h('div', { class: 'actions' }, rowActions(dead))));
  }

  function purgeActions() {
    if (!canWrite()) {
      return [h('span', { class: 'faint', dataset: { testid: 'read-only' } }, `actions need an admin token (${currentRole() === 'read' ? 'this one may only read' : 'none accepted'})`)];
    }
    if (!page?.items.length) return [];
    if (confirming === 'purge') {
      return [h('span', { class: 'muted' }, 'Remove every dead letter?'),
        h('button', {
          type: 'button', class: 'btn btn-danger', dataset: { testid: 'confirm-purge' },
          on: { click: (e) => act(e.currentTarget, () => api.purgeDeadLetters(), (r) => [`${r.purged} dead letter${r.purged === 1 ? '' : 's'} removed.`]) },
        }, 'Yes, purge'),
        h('button', { type: 'button', class: 'btn btn-light', on: { click: () => { confirming = null; render(); } } }, 'Keep them')];
    }
    return [h('button', { type: 'button', class: 'btn btn-light', dataset: { testid: 'purge' }, on: { click: () => { confirming = 'purge'; render(); } } }, 'Purge all…')];
  }

  function render() {
    fill(headActions, purgeActions());
    if (!page) return;
    fill(tbody, page.items.length ? page.items.map(row)
      : h('tr', { class: 'empty-row' }, h('td', { colspan: 6 }, 'No dead letters.')));
    where.textContent = `page ${cursors.length + 1} · ${page.items.length} dead letter${page.items.length === 1 ? '' : 's'}`;
    older.disabled = !next;
    newer.disabled = cursors.length === 0;
    newest.disabled = cursors.length === 0;
  }

  async function act(button, call, describe) {
    button.disabled = true;
    try {
      const answer = await call();
      confirming = null;
      fill(message, h('div', { class: 'alert alert-ok', role: 'status', dataset: { testid: 'action-result' } }, describe(answer)));
      await load();
    } catch (e) {
      fill(message, errorBox(e, 'Not done'));
      button.disabled = false;
      render();
    }
  }

  let seq = 0;
  async function load() {
    seq += 1;
    const mine = seq;
    try {
      const answer = await api.deadLetters({ before: cursors.at(-1), limit: PAGE_SIZE });
      if (stopped || mine !== seq) return;
      fill(status);
      page = answer;
      next = answer.next_before;
      root.dataset.count = String(answer.items.length);
      render();
    } catch (e) {
      if (stopped || mine !== seq) return;
      fill(status, errorBox(e));
    }
  }

  function go(newCursors) {
    cursors = newCursors;
    confirming = null;
    load();
  }

  const unsubscribe = onRoleChange(() => render());
  older.disabled = true;
  newer.disabled = true;
  newest.disabled = true;
  load();
  return () => {
    stopped = true;
    unsubscribe();
  };
}
