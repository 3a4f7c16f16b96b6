// What this browser session may do. The API has no "who am I" route, so the role is learned
// by a request that changes nothing: POST /tasks with an empty object. An admin token (or a
// server without tokens) gets 422 for the missing name, a read-only token 403, no or a wrong
// token 401. Any later 401/403 updates the answer.

import { ApiError, onAuthError, request, token } from './api.js';

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

export async function probe() {
  set('checking');
  try {
    await request('POST', '/tasks', { body: {} });
    set('unknown');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 422 || e.status === 400) set(token() ? 'admin' : 'open');
    else if (e.status === 403) set('read');
    else if (e.status === 401) set(token() ? 'invalid' : 'missing');
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
