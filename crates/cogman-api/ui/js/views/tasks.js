// Tasks: the list, newest first, with the search box (GET /search: ids, keys and terms such as
// payload.customer_id=42) and filters (states, name, primary key, creation time) kept in the URL, cursor paging, and optional live updates (a reload on every live event; every
// 2 s while the live feed is down).

import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { errorBox } from '../errors.js';
import { preview, seconds, shortId, shortTime } from '../format.js';
import { follow, refresher } from '../refresh.js';
import { canWrite, onRoleChange } from '../session.js';
import { badge, LABELS, STATES } from '../states.js';
import { bulkBar } from './bulk.js';

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
    q: params.get('q') ?? '',
    status: (params.get('status') ?? '').split(',').filter((st) => STATES.includes(st)),
    name: params.get('name') ?? '',
    primary_key: params.get('primary_key') ?? '',
    created_from: params.get('created_from') ?? '',
    created_to: params.get('created_to') ?? '',
  };
}

function hashFor(filter) {
  const q = new URLSearchParams();
  if (filter.q) q.set('q', filter.q);
  if (filter.status.length) q.set('status', filter.status.join(','));
  for (const key of ['name', 'primary_key', 'created_from', 'created_to']) if (filter[key]) q.set(key, filter[key]);
  const text = q.toString();
  return text ? `#/tasks?${text}` : '#/tasks';
}

const quoted = (value) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** The search line of the box with the form's filters added as terms (GET /search). */
export function searchLine(filter) {
  const terms = [filter.q];
  if (filter.status.length) terms.push(`state:${filter.status.join(',')}`);
  if (filter.name) terms.push(`name:${quoted(filter.name)}`);
  if (filter.primary_key) terms.push(`key:${quoted(filter.primary_key)}`);
  if (filter.created_from) terms.push(`created>${filter.created_from}`);
  if (filter.created_to) terms.push(`created<${filter.created_to}`);
  return terms.filter(Boolean).join(' ');
}

/** Goes to `hash`, re-rendering when it is the current one (Filter or Reset with no change). */
function navigate(hash) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = hash;
}

function row(task, selected, changed) {
  const pick = h('input', {
    type: 'checkbox', checked: selected.has(task.id), 'aria-label': 'Select', dataset: { testid: 'select' },
    on: { change: (e) => { if (e.target.checked) selected.add(task.id); else selected.delete(task.id); changed(); } },
  });
  const href = `#/tasks/${encodeURIComponent(task.id)}`;
  const detail = task.fail_error
    ? h('td', { class: 'err' }, h('div', { class: 'ellipsis', title: task.fail_error }, task.fail_error))
    : h('td', { class: 'muted' }, h('div', { class: 'ellipsis' }, preview(task.result_base64 ?? '', task.result, 60)));
  return h('tr', {
    class: 'row-link',
    dataset: { id: task.id, state: task.status },
    on: { click: (e) => { if (!e.target.closest('a, .pick')) window.location.hash = href; } },
  },
  h('td', { class: 'pick' }, pick),
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
  const search = h('input', {
    type: 'search', name: 'q', value: filter.q, spellcheck: 'false', dataset: { testid: 'search' },
    placeholder: 'id, primary key, or terms: state:failed queue:images error:"timed out" payload.customer_id=42',
    'aria-label': 'Search',
  });
  const auto = h('input', { type: 'checkbox', checked: autoRefreshWanted(), dataset: { testid: 'auto-refresh' } });

  const form = h('form', {
    class: 'filters',
    on: {
      submit: (e) => {
        e.preventDefault();
        navigate(hashFor({
          q: search.value.trim(),
          status: stateBoxes.filter((b) => b.checked).map((b) => b.value),
          name: name.value.trim(),
          primary_key: key.value.trim(),
          created_from: fromLocalInput(from.value),
          created_to: fromLocalInput(to.value),
        }));
      },
    },
  },
  h('label', { class: 'field search' }, h('span', {}, 'Search'), search,
    h('div', { class: 'help' }, 'Terms: id: name: state: queue: key: error: created> created< payload.PATH=VALUE (see docs/api.md). Enter searches.')),
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
    h('label', { class: 'switch' }, auto, 'Live updates')));

  const status = h('div');
  const tbody = h('tbody');
  const newest = h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => go([]) } }, '« Newest');
  const newer = h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => go(cursors.slice(0, -1)) } }, '← Newer');
  const older = h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'older' }, on: { click: () => go([...cursors, next]) } }, 'Older →');
  const where = h('span', { class: 'where' });

  const selected = new Set();
  // After an action the rows are drawn again (their checkboxes cleared), changed or not.
  const bulk = bulkBar(selected, () => searchLine(filter), () => { shown = ''; load(); });
  const retryFailed = h('button', { type: 'button', class: 'btn btn-light', dataset: { testid: 'retry-all-failed' }, on: { click: () => bulk.retryAllFailed() } }, 'Retry all failed');
  const showWrites = () => {
    retryFailed.hidden = !canWrite();
    root.classList.toggle('can-write', canWrite());
    bulk.update();
  };
  fill(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Tasks'), h('span', { class: 'spacer' }),
      retryFailed, h('a', { class: 'btn', href: '#/send' }, 'Send a task')),
    h('section', { class: 'panel' }, form),
    h('section', { class: 'panel' }, bulk.element, status,
      h('div', { class: 'table-wrap' }, h('table', { dataset: { testid: 'tasks' } },
        h('thead', {}, h('tr', {}, h('th', { class: 'pick' }), h('th', {}, 'Task'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Attempt'),
          h('th', { class: 'hide-narrow' }, 'Priority'), h('th', { class: 'hide-narrow' }, 'Primary key'), h('th', {}, 'Created'),
          h('th', { class: 'num hide-narrow' }, 'Duration'), h('th', {}, 'Result / error'))),
        tbody)),
      h('div', { class: 'pager' }, where, newest, newer, older)));

  // cursors[i] is the `after` of page i + 1; the current page is cursors.length.
  let cursors = [];
  let next = null;
  let shown = '';
  // A refresh tick skips while a request is out; an explicit load supersedes it.
  const { load, stop } = refresher(() => (filter.q ? api.search({
    q: searchLine(filter),
    after: cursors.at(-1),
    limit: PAGE_SIZE,
  }) : api.tasks({
    status: filter.status,
    name: filter.name,
    primary_key: filter.primary_key,
    created_from: filter.created_from,
    created_to: filter.created_to,
    after: cursors.at(-1),
    limit: PAGE_SIZE,
  })), (page) => {
    fill(status);
    next = page.next;
    const signature = JSON.stringify(page);
    if (signature !== shown) {
      shown = signature;
      fill(tbody, page.items.length ? page.items.map((task) => row(task, selected, bulk.update))
        : h('tr', { class: 'empty-row' }, h('td', { colspan: 9 }, 'No task matches these filters.')));
    }
    const read = page.scanned === undefined ? '' : ` · ${page.scanned.toLocaleString()} read`;
    where.textContent = `page ${cursors.length + 1} · ${page.items.length} task${page.items.length === 1 ? '' : 's'}${read}`;
    older.disabled = !next;
    newer.disabled = cursors.length === 0;
    newest.disabled = cursors.length === 0;
  }, (e) => fill(status, errorBox(e)));

  function go(newCursors) {
    cursors = newCursors;
    shown = '';
    load();
  }

  let unfollow = null;
  const setAuto = () => {
    unfollow?.();
    unfollow = auto.checked ? follow(() => load({ tick: true }), REFRESH_MS) : null;
    rememberAutoRefresh(auto.checked);
  };
  auto.addEventListener('change', setAuto);
  setAuto();
  older.disabled = true;
  newer.disabled = true;
  newest.disabled = true;
  const offRole = onRoleChange(showWrites);
  showWrites();
  load();
  return () => {
    stop();
    unfollow?.();
    offRole();
  };
}
