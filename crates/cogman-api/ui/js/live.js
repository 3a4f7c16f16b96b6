// The live feed: one stream of GET /api/v1/events (server-sent events) shared by every view,
// opened while at least one view listens. It is read with fetch rather than EventSource so the
// bearer token travels in a header, as on every other call, never in the URL. When the stream
// cannot be opened or drops, the state turns to `polling` (views then poll on a timer) and the
// stream is tried again with a growing pause.

import { token } from './api.js';

const URL = '/api/v1/events';
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;

// connecting | live | polling
let state = 'connecting';
const stateListeners = new Set();
const eventListeners = new Set();
let controller = null;
let retryTimer = null;
let retryMs = RETRY_FIRST_MS;

function setState(next) {
  if (next === state) return;
  state = next;
  stateListeners.forEach((l) => l(state));
}

export function liveState() {
  return state;
}

/** Calls `listener(state)` now and on every change; returns the function that stops it. */
export function onLiveState(listener) {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}

/** Calls `listener({ type, data })` for every event; returns the function that stops it. */
export function onLiveEvent(listener) {
  eventListeners.add(listener);
  if (eventListeners.size === 1) connect();
  return () => {
    eventListeners.delete(listener);
    if (eventListeners.size === 0) disconnect();
  };
}

/** Opens the stream again (the token changed). */
export function reconnectLive() {
  if (eventListeners.size === 0) return;
  disconnect();
  connect();
}

function disconnect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  controller?.abort();
  controller = null;
}

function scheduleRetry() {
  setState('polling');
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, retryMs);
  retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
}

/** Splits one event block (the lines between blank lines) into { type, data }. */
export function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { type, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}

async function connect() {
  disconnect();
  const mine = new AbortController();
  controller = mine;
  const headers = { Accept: 'text/event-stream' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  try {
    const response = await fetch(URL, { headers, cache: 'no-store', credentials: 'omit', signal: mine.signal });
    if (!response.ok || !response.body) throw new Error(`the server answered ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!event) continue;
        setState('live');
        retryMs = RETRY_FIRST_MS;
        eventListeners.forEach((l) => l(event));
      }
    }
    throw new Error('the stream ended');
  } catch {
    // Aborted on purpose (a newer stream or no listener left): nothing to do.
    if (controller !== mine) return;
    controller = null;
    scheduleRetry();
  }
}
