// What this browser session may do, as `GET /api/v1/whoami` says: `admin` or `read` for the
// token sent, `none` when the server has no tokens; a missing or wrong token is 401. Any later
// 401/403 updates the answer.

import { api, ApiError, onAuthError, token } from './api.js';

// checking | open | admin | read | missing | invalid | offline | unknown
let role = 'checking';
const listeners = new Set();

function set(next) {
  if (next === role) return;
  role = next;
  listeners.forEach((l) => l(role));
}

export function currentRole() {
  return role;
}

/** Calls `listener` on every change; returns the function that stops it. */
export function onRoleChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** True unless we know writes will be refused. */
export function canWrite() {
  return !['read', 'missing', 'invalid'].includes(role);
}

// The badge for each answer of GET /whoami.
const ROLES = { admin: 'admin', read: 'read', none: 'open' };

export async function probe() {
  set('checking');
  try {
    const answer = await api.whoami();
    set(ROLES[answer?.role] ?? 'unknown');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) set(token() ? 'invalid' : 'missing');
    else if (e.status === 0) set('offline');
    else set('unknown');
  }
  return role;
}

onAuthError((error) => {
  if (error.status === 403) set('read');
  else set(token() ? 'invalid' : 'missing');
});

export const ROLE_LABELS = {
  checking: 'checking…',
  open: 'no auth',
  admin: 'admin',
  read: 'read-only',
  missing: 'token required',
  invalid: 'token rejected',
  offline: 'server unreachable',
  unknown: 'role unknown',
};
