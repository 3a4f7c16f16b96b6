// Task detail: every field, the payload and result (JSON, text or base64), the error, the
// chain of attempts, the history timeline (with its notes: reruns, waits for a handler), and
// Retry / Cancel when the state and the role allow them. Reloads on live events about its
// chain (every 2 s while the live feed is down).

import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { errorBox, explain } from '../errors.js';
import { bytes, describeBytes, fullTime, seconds, shortId, span } from '../format.js';
import { follow } from '../refresh.js';
import { canWrite, currentRole, onRoleChange } from '../session.js';
import { badge, canCancel, canRetry, isFinal } from '../states.js';

const REFRESH_MS = 2000;
const KIND_LABELS = { json: 'JSON', text: 'text', base64: 'base64 (binary)', empty: 'empty' };

function taskLink(id, label) {
  return h('a', { href: `#/tasks/${encodeURIComponent(id)}` }, label);
}

function dataBlock(title, testid, base64, json) {
  const d = describeBytes(base64, json);
  return h('section', { class: 'panel' },
    h('div', { class: 'panel-head' }, h('h2', {}, title),
      h('span', { class: 'hint' }, `${KIND_LABELS[d.kind]} · ${bytes(d.size)}`)),
    d.kind === 'empty'
      ? h('p', { class: 'faint' }, 'No bytes.')
      : h('pre', { class: 'data', dataset: { testid, kind: d.kind } }, d.text));
}

// The outcome of the whole chain of attempts (the newest attempt's state), with a link to the
// newest attempt when it is another one.
function chainState(details) {
  const { task, chain_status: status, latest_attempt: latest, attempts } = details;
  if (!status) return null;
  const newest = attempts.find((a) => a.id === latest);
  return h('span', { dataset: { testid: 'chain-status', state: status } }, badge(status),
    latest && latest !== task.id
      ? h('span', { class: 'muted' }, ' newest attempt ', taskLink(latest, newest ? `#${newest.attempt}` : shortId(latest)))
      : h('span', { class: 'muted' }, ' (this is the newest attempt)'));
}

function fields(details) {
  const { task, history } = details;
  const worker = [...history].reverse().find((c) => c.worker)?.worker;
  const rows = [
    ['ID', h('span', { class: 'mono', dataset: { testid: 'task-id' } }, task.id)],
    ['Name', task.name],
    ['State', badge(task.status)],
    ['Chain', chainState(details) ?? h('span', { class: 'faint' }, '—')],
    ['Attempt', task.original_task_id === task.id ? `${task.attempt} (first)`
      : h('span', {}, `${task.attempt} of `, taskLink(task.original_task_id, shortId(task.original_task_id)))],
    ['Retries left', task.retry],
    ['Queue', task.queue],
    ['Priority', task.priority],
    ['Primary key', task.primary_key ?? h('span', { class: 'faint' }, '—')],
    ['Created', fullTime(task.created_at)],
    ['Updated', fullTime(task.updated_at)],
    ['Run at', task.run_at ? fullTime(task.run_at) : h('span', { class: 'faint' }, 'as soon as possible')],
    ['Timeout', task.timeout_ms ? `${task.timeout_ms.toLocaleString()} ms` : h('span', { class: 'faint' }, 'none')],
    ['Duration', seconds(task.duration)],
    ['Worker', worker ? h('span', { class: 'mono' }, worker) : h('span', { class: 'faint' }, '—')],
  ];
  if (details.waiting_for_handler) {
    rows.splice(4, 0, ['Waiting', h('span', { dataset: { testid: 'waiting-for-handler' } },
      `for a worker with a handler for “${task.name}” on queue “${task.queue}”`)]);
  }
  if (task.workflow) rows.push(['Workflow', h('pre', { class: 'data' }, JSON.stringify(task.workflow, null, 2))]);
  return h('dl', { class: 'fields' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function attemptsChain(task, attempts) {
  const ordered = [...attempts].sort((a, b) => a.attempt - b.attempt || a.created_at.localeCompare(b.created_at));
  const items = ordered.map((a, i) => {
    const inner = [`#${a.attempt}`, badge(a.status)];
    const node = a.id === task.id
      ? h('span', { class: 'current', dataset: { testid: 'attempt', id: a.id, state: a.status } }, inner)
      : h('a', { href: `#/tasks/${encodeURIComponent(a.id)}`, dataset: { testid: 'attempt', id: a.id, state: a.status } }, inner);
    return i === 0 ? node : [h('span', { class: 'arrow' }, '→'), node];
  });
  return h('div', { class: 'chain', dataset: { testid: 'attempts' } }, items);
}

// What a history note says (an entry that records an event, not a change of state).
const NOTE_TEXT = {
  rerun: 'ran again: an earlier run was cut short',
  waiting_for_handler: 'handed back: this worker has no handler for the task; waiting for one that has',
};

function timeline(history) {
  let previous = null;
  const items = history.map((c) => {
    const at = new Date(c.at).getTime();
    const delta = previous === null ? '' : ` (+${span(at - previous)})`;
    previous = at;
    const meta = [];
    if (c.worker) meta.push(`worker ${c.worker}`);
    if (c.duration !== null && c.duration !== undefined) meta.push(`ran ${seconds(c.duration)}`);
    const note = c.note ? { state: c.state, note: c.note } : { state: c.state };
    return h('li', { class: `state-${c.state}${c.note ? ' note' : ''}`, dataset: note },
      h('i', { class: 'dot' }),
      badge(c.state), h('span', { class: 'when' }, `${fullTime(c.at)}${delta}`),
      c.note ? h('div', { class: 'meta', dataset: { testid: 'note' } }, NOTE_TEXT[c.note] ?? c.note) : null,
      meta.length ? h('div', { class: 'meta' }, meta.join(' · ')) : null,
      c.error ? h('div', { class: 'meta err' }, c.error) : null);
  });
  return items.length
    ? h('ol', { class: 'timeline', dataset: { testid: 'history' } }, items)
    : h('p', { class: 'faint' }, 'No state change recorded yet.');
}

export function taskDetail(root, params, id) {
  const head = h('div', { class: 'page-head' });
  const message = h('div');
  const body = h('div', {}, h('p', { class: 'faint' }, 'Loading…'));
  fill(root, h('p', { class: 'back' }, h('a', { href: '#/tasks' }, '← All tasks')), head, message, body);

  let details = null;
  let stopped = false;
  let running = true;
  let seq = 0;
  let confirming = false;

  function actions(task) {
    const out = [];
    if (!canWrite()) {
      if (canRetry(task.status) || canCancel(task.status)) {
        out.push(h('span', { class: 'faint', dataset: { testid: 'read-only' } }, `actions need an admin token (${currentRole() === 'read' ? 'this one may only read' : 'none accepted'})`));
      }
      return out;
    }
    if (canRetry(task.status)) {
      const budget = h('input', { type: 'number', min: 0, max: 100, value: '0', 'aria-label': 'Retries for the new attempt' });
      out.push(h('label', {}, 'retries', budget),
        h('button', {
          type: 'button', class: 'btn', dataset: { testid: 'retry' },
          on: { click: (e) => act(e.currentTarget, () => api.retry(task.id, Number(budget.value) || 0), (r) => [`New attempt created (${r.status}): `, taskLink(r.id, shortId(r.id))]) },
        }, 'Retry'));
    }
    if (canCancel(task.status)) {
      if (confirming) {
        out.push(h('span', { class: 'muted' }, 'Cancel this task?'),
          h('button', {
            type: 'button', class: 'btn btn-danger', dataset: { testid: 'confirm-cancel' },
            on: { click: (e) => act(e.currentTarget, () => api.cancel(task.id), () => ['Task cancelled.']) },
          }, 'Yes, cancel it'),
          h('button', { type: 'button', class: 'btn btn-light', on: { click: () => { confirming = false; render(); } } }, 'Keep it'));
      } else {
        out.push(h('button', {
          type: 'button', class: 'btn btn-light', dataset: { testid: 'cancel' },
          on: { click: () => { confirming = true; render(); } },
        }, 'Cancel…'));
      }
    }
    return out;
  }

  async function act(button, call, describe) {
    button.disabled = true;
    try {
      const answer = await call();
      confirming = false;
      fill(message, h('div', { class: 'alert alert-ok', role: 'status', dataset: { testid: 'action-result' } }, describe(answer)));
      await load();
    } catch (e) {
      fill(message, errorBox(e, 'Not done'));
      button.disabled = false;
      render();
    }
  }

  function render() {
    if (!details) return;
    const { task, attempts, history } = details;
    fill(head,
      h('div', { class: 'detail-title' }, h('h1', { dataset: { testid: 'task-name' } }, task.name), badge(task.status),
        details.chain_status && details.chain_status !== task.status
          ? h('span', { class: 'muted', dataset: { testid: 'chain-status-head' } }, ' chain: ', badge(details.chain_status))
          : null),
      h('span', { class: 'spacer' }),
      h('div', { class: 'actions', dataset: { testid: 'actions' } }, actions(task)));
    const left = [h('section', { class: 'panel' }, h('h2', {}, 'Task'), fields(details))];
    if (task.fail_error) {
      left.push(h('section', { class: 'panel' }, h('h2', {}, 'Error'),
        h('pre', { class: 'data error', dataset: { testid: 'error' } }, task.fail_error)));
    }
    left.push(dataBlock('Payload', 'payload', task.payload_base64, task.payload));
    if (task.result_base64 !== null && task.result_base64 !== undefined) {
      left.push(dataBlock('Result', 'result', task.result_base64, task.result));
    }
    fill(body, h('div', { class: 'detail-grid' },
      h('div', {}, left),
      h('div', {},
        h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Attempts'),
          h('span', { class: 'hint', dataset: { testid: 'attempt-count' } },
            `1 task · ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}`)), attemptsChain(task, attempts)),
        h('section', { class: 'panel' }, h('h2', {}, 'History'), timeline(history)))));
  }

  async function load() {
    seq += 1;
    const mine = seq;
    try {
      const answer = await api.task(id);
      if (stopped || mine !== seq) return;
      details = answer;
      render();
      root.dataset.state = answer.task.status;
      running = [answer.task, ...answer.attempts].some((t) => !isFinal(t.status));
    } catch (e) {
      if (stopped || mine !== seq) return;
      if (!details) fill(body, errorBox(e));
      else fill(message, h('div', { class: 'alert alert-error' }, 'Refresh failed: ', explain(e)));
    }
  }

  // An event about this chain reloads it; while an attempt still runs, any change of the totals
  // does too (a change beyond the feed's window of newest attempts shows only there).
  const concerns = (event) => event.type === 'resync'
    || (event.type === 'task' && (event.data.id === id || event.data.original_task_id === details?.task?.original_task_id))
    || (event.type === 'counts' && running);
  const unfollow = follow(load, REFRESH_MS, concerns);
  const unsubscribe = onRoleChange(() => render());
  load();
  return () => {
    stopped = true;
    unsubscribe();
    unfollow();
  };
}
