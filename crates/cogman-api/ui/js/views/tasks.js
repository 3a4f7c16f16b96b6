// Tasks: the list, newest first, with filters (states, name, primary key, creation time) kept
// in the URL, cursor paging, and an optional refresh every 2 s.

import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { errorBox } from '../errors.js';
import { preview, seconds, shortId, shortTime } from '../format.js';
import { refresher } from '../refresh.js';
import { badge, LABELS, STATES } from '../states.js';

const REFRESH_MS = 2000;
const PAGE_SIZE = 25;
const AUTO_KEY = 'cogman.autoRefresh';

function autoRefreshWanted() {
  try {
    return sessionStorage.getItem(AUTO_KEY) !== 'off';
  } catch {
    return true;
  }
}

function rememberAutoRefresh(on) {
  try {
    sessionStorage.setItem(AUTO_KEY, on ? 'on' : 'off');
  } catch {
    // Not remembered; the toggle still works on this page.
  }
}

/** `datetime-local` value (local time) ↔ RFC 3339. */
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}

function fromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function filterFromParams(params) {
  return {
    status: (params.get('status') ?? '').split(',').filter((st) => STATES.includes(st)),
    name: params.get('name') ?? '',
    primary_key: params.get('primary_key') ?? '',
    created_from: params.get('created_from') ?? '',
    created_to: params.get('created_to') ?? '',
  };
}

function hashFor(filter) {
  const q = new URLSearchParams();
  if (filter.status.length) q.set('status', filter.status.join(','));
  for (const key of ['name', 'primary_key', 'created_from', 'created_to']) if (filter[key]) q.set(key, filter[key]);
  const text = q.toString();
  return text ? `#/tasks?${text}` : '#/tasks';
}

/** Goes to `hash`, re-rendering when it is the current one (Filter or Reset with no change). */
function navigate(hash) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = hash;
}

function row(task) {
  const href = `#/tasks/${encodeURIComponent(task.id)}`;
  const detail = task.fail_error
    ? h('td', { class: 'err' }, h('div', { class: 'ellipsis', title: task.fail_error }, task.fail_error))
    : h('td', { class: 'muted' }, h('div', { class: 'ellipsis' }, preview(task.result_base64 ?? '', task.result, 60)));
  return h('tr', {
    class: 'row-link',
    dataset: { id: task.id, state: task.status },
    on: { click: (e) => { if (!e.target.closest('a')) window.location.hash = href; } },
  },
  h('td', {}, h('div', { class: 'ellipsis' }, h('a', { href, title: task.name, dataset: { testid: 'task-link' } }, task.name)),
    h('div', { class: 'sub mono', title: task.id }, shortId(task.id))),
  h('td', {}, badge(task.status)),
  h('td', { class: 'num' }, task.attempt),
  h('td', { class: 'hide-narrow' }, task.priority),
  h('td', { class: 'hide-narrow' }, h('div', { class: 'ellipsis narrow', title: task.primary_key ?? '' }, task.primary_key ?? h('span', { class: 'faint' }, '—'))),
  h('td', { class: 'nowrap', title: task.created_at }, shortTime(task.created_at)),
  h('td', { class: 'num hide-narrow' }, seconds(task.duration)),
  detail);
}

export function tasks(root, params) {
  const filter = filterFromParams(params);
  const stateBoxes = STATES.map((st) => h('input', { type: 'checkbox', value: st, checked: filter.status.includes(st) }));
  const name = h('input', { type: 'search', name: 'name', value: filter.name, placeholder: 'exact name' });
  const key = h('input', { type: 'search', name: 'primary_key', value: filter.primary_key, placeholder: 'exact key' });
  const from = h('input', { type: 'datetime-local', name: 'created_from', step: 1, value: filter.created_from ? toLocalInput(filter.created_from) : '' });
  const to = h('input', { type: 'datetime-local', name: 'created_to', step: 1, value: filter.created_to ? toLocalInput(filter.created_to) : '' });
  const auto = h('input', { type: 'checkbox', checked: autoRefreshWanted(), dataset: { testid: 'auto-refresh' } });

  const form = h('form', {
    class: 'filters',
    on: {
      submit: (e) => {
        e.preventDefault();
        navigate(hashFor({
          status: stateBoxes.filter((b) => b.checked).map((b) => b.value),
          name: name.value.trim(),
          primary_key: key.value.trim(),
          created_from: fromLocalInput(from.value),
          created_to: fromLocalInput(to.value),
        }));
      },
    },
  },
  h('div', { class: 'states', role: 'group', 'aria-label': 'States' },
    STATES.map((st, i) => h('label', { class: `pill state-${st}` }, stateBoxes[i], h('i', { class: `swatch state-${st}` }), LABELS[st]))),
  h('label', { class: 'field' }, h('span', {}, 'Name'), name),
  h('label', { class: 'field' }, h('span', {}, 'Primary key'), key),
  h('label', { class: 'field' }, h('span', {}, 'Created from'), from),
  h('label', { class: 'field' }, h('span', {}, 'Created before'), to),
  h('div', { class: 'filter-actions' },
    h('button', { type: 'submit', class: 'btn' }, 'Filter'),
    h('button', { type: 'button', class: 'btn btn-light', on: { click: () => navigate('#/tasks') } }, 'Reset'),
    h('span', { class: 'spacer' }),
    h('label', { class: 'switch' }, auto, 'Auto-refresh every 2 s')));

  const status = h('div');
  const tbody = h('tbody');
  const newest = h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => go([]) } }, '« Newest');
  const newer = h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => go(cursors.slice(0, -1)) } }, '← Newer');
  const older = h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'older' }, on: { click: () => go([...cursors, next]) } }, 'Older →');
  const where = h('span', { class: 'where' });

  fill(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Tasks'), h('span', { class: 'spacer' }),
      h('a', { class: 'btn', href: '#/send' }, 'Send a task')),
    h('section', { class: 'panel' }, form),
    h('section', { class: 'panel' }, status,
      h('div', { class: 'table-wrap' }, h('table', { dataset: { testid: 'tasks' } },
        h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Attempt'),
          h('th', { class: 'hide-narrow' }, 'Priority'), h('th', { class: 'hide-narrow' }, 'Primary key'), h('th', {}, 'Created'),
          h('th', { class: 'num hide-narrow' }, 'Duration'), h('th', {}, 'Result / error'))),
        tbody)),
      h('div', { class: 'pager' }, where, newest, newer, older)));

  // cursors[i] is the `after` of page i + 1; the current page is cursors.length.
  let cursors = [];
  let next = null;
  let shown = '';
  // A refresh tick skips while a request is out; an explicit load supersedes it.
  const { load, stop } = refresher(() => api.tasks({
    status: filter.status,
    name: filter.name,
    primary_key: filter.primary_key,
    created_from: filter.created_from,
    created_to: filter.created_to,
    after: cursors.at(-1),
    limit: PAGE_SIZE,
  }), (page) => {
    fill(status);
    next = page.next;
    const signature = JSON.stringify(page);
    if (signature !== shown) {
      shown = signature;
      fill(tbody, page.items.length ? page.items.map(row)
        : h('tr', { class: 'empty-row' }, h('td', { colspan: 8 }, 'No task matches these filters.')));
    }
    where.textContent = `page ${cursors.length + 1} · ${page.items.length} task${page.items.length === 1 ? '' : 's'}`;
    older.disabled = !next;
    newer.disabled = cursors.length === 0;
    newest.disabled = cursors.length === 0;
  }, (e) => fill(status, errorBox(e)));

  function go(newCursors) {
    cursors = newCursors;
    shown = '';
    load();
  }

  let timer = null;
  const setAuto = () => {
    clearInterval(timer);
    timer = auto.checked ? setInterval(() => load({ tick: true }), REFRESH_MS) : null;
    rememberAutoRefresh(auto.checked);
  };
  auto.addEventListener('change', setAuto);
  setAuto();
  older.disabled = true;
  newer.disabled = true;
  newest.disabled = true;
  load();
  return () => {
    stop();
    clearInterval(timer);
  };
}
