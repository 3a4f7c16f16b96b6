// The REST API client: every call goes to /api/v1 with the session's token as a bearer token
// and fails with an ApiError carrying the status and the server's {error, message}.

const PREFIX = '/api/v1';
const TOKEN_KEY = 'cogman.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const listeners = new Set();

/** Called with every ApiError whose status is 401 or 403. */
export function onAuthError(listener) {
  listeners.add(listener);
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lasts until the page is closed.
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    q.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** One request; resolves to the parsed JSON body. */
export async function request(method, path, { params, body } = {}) {
  // X-Cogman-Client: the server refuses writes that a cross-site form could send.
  const headers = { Accept: 'application/json', 'X-Cogman-Client': 'cogman-ui' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${PREFIX}${path}${query(params)}`, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', `cannot reach the cogman server (${e.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(
      response.status,
      typeof data?.error === 'string' ? data.error : `http_${response.status}`,
      typeof data?.message === 'string' ? data.message : `the server answered ${response.status}`,
    );
    if (error.status === 401 || error.status === 403) listeners.forEach((l) => l(error));
    throw error;
  }
  return data;
}

const id = (value) => encodeURIComponent(String(value));

export const api = {
  whoami: () => request('GET', '/whoami'),
  tasks: (params) => request('GET', '/tasks', { params }),
  search: (params) => request('GET', '/search', { params }),
  task: (taskId) => request('GET', `/tasks/${id(taskId)}`),
  send: (body) => request('POST', '/tasks', { body }),
  retry: (taskId, retry) => request('POST', `/tasks/${id(taskId)}/retry`, { body: { retry } }),
  cancel: (taskId) => request('POST', `/tasks/${id(taskId)}/cancel`),
  queues: () => request('GET', '/queues'),
  namedQueues: () => request('GET', '/named-queues'),
  pauseQueue: (name) => request('POST', `/named-queues/${id(name)}/pause`),
  resumeQueue: (name) => request('POST', `/named-queues/${id(name)}/resume`),
  workers: () => request('GET', '/workers'),
  counts: (params) => request('GET', '/counts', { params }),
  deadLetters: (params) => request('GET', '/dead-letters', { params }),
  requeueDeadLetter: (deadId) => request('POST', `/dead-letters/${id(deadId)}/requeue`),
  removeDeadLetter: (deadId) => request('DELETE', `/dead-letters/${id(deadId)}`),
  purgeDeadLetters: () => request('DELETE', '/dead-letters'),
};
