// Entry point: the token box, the auth notice, and the hash router that mounts one view at a
// time (#/ dashboard, #/tasks list, #/tasks/<id> detail, #/send form, #/dead-letters).

import { setToken, token } from './api.js';
import { fill, h } from './dom.js';
import { onLiveEvent, onLiveState, reconnectLive } from './live.js';
import { currentRole, onRoleChange, probe, ROLE_LABELS } from './session.js';
import { dashboard } from './views/dashboard.js';
import { deadLetters } from './views/dead_letters.js';
import { send } from './views/send.js';
import { taskDetail } from './views/task.js';
import { tasks } from './views/tasks.js';

const main = document.getElementById('view');
const notice = document.getElementById('notice');
const rolePill = document.getElementById('role');
const tokenForm = document.getElementById('token-form');
const tokenInput = document.getElementById('token-input');
const livePill = document.getElementById('live');

const NOTICES = {
  missing: 'This server needs an API token: enter it in the box at the top right.',
  invalid: 'The server rejected this token (401): check it, or enter another one at the top right.',
  read: 'Read-only token: you can look at everything, but sending, retrying, cancelling and changing dead letters are refused (403).',
  offline: 'The cogman server cannot be reached.',
};

function showRole(role) {
  rolePill.dataset.role = role;
  rolePill.textContent = ROLE_LABELS[role] ?? role;
  const text = NOTICES[role];
  notice.hidden = !text;
  notice.dataset.kind = role;
  notice.textContent = text ?? '';
}

const LIVE_LABELS = {
  connecting: ['connecting…', 'Opening the live feed (GET /api/v1/events)'],
  live: ['live', 'Changes are pushed by the server as they happen'],
  polling: ['polling', 'The live feed is down: views reload on a timer until it is back'],
};

function showLive(state) {
  const [label, title] = LIVE_LABELS[state] ?? [state, ''];
  livePill.dataset.live = state;
  livePill.textContent = label;
  livePill.title = title;
}

/** The view for a hash: [name, mount(container, params)]. */
function resolve(hash) {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return ['dashboard', (el) => dashboard(el, params)];
  if (parts[0] === 'tasks' && parts.length === 1) return ['tasks', (el) => tasks(el, params)];
  if (parts[0] === 'tasks' && parts.length === 2) return ['task', (el) => taskDetail(el, params, parts[1])];
  if (parts[0] === 'send' && parts.length === 1) return ['send', (el) => send(el, params)];
  if (parts[0] === 'dead-letters' && parts.length === 1) return ['dead-letters', (el) => deadLetters(el)];
  return ['missing', (el) => fill(el, h('div', { class: 'panel' }, h('h1', {}, 'Nothing here'),
    h('p', {}, 'No view at this address. ', h('a', { href: '#/' }, 'Go to the dashboard.'))))];
}

let unmount = null;

function route() {
  if (typeof unmount === 'function') unmount();
  const [name, mount] = resolve(window.location.hash);
  for (const link of document.querySelectorAll('[data-nav]')) {
    const active = link.dataset.nav === name || (name === 'task' && link.dataset.nav === 'tasks');
    link.classList.toggle('active', active);
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const container = h('div', { dataset: { view: name } });
  fill(main, container);
  unmount = mount(container);
  document.title = `cogman · ${name === 'task' ? 'task' : name}`;
}

tokenInput.value = token();
tokenForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  setToken(tokenInput.value.trim());
  await probe();
  reconnectLive();
  route();
});
document.getElementById('token-clear').addEventListener('click', async () => {
  tokenInput.value = '';
  setToken('');
  await probe();
  reconnectLive();
  route();
});

onRoleChange(showRole);
onLiveState(showLive);
// The feed stays open while the UI is, so the badge tells the truth on every page; it counts the
// events received (data-events), which shows a reload came from a push.
onLiveEvent(() => {
  livePill.dataset.events = String(Number(livePill.dataset.events ?? 0) + 1);
});
window.addEventListener('hashchange', route);
showRole(currentRole());
probe().then(route, route);
