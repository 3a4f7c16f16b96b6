// The task states as the API names them, which are final, and which actions each allows
// (the same rules as the server: retry needs a final state, cancel a state that is not).

import { h } from './dom.js';

export const STATES = ['initiated', 'scheduled', 'queued', 'in_progress', 'retry', 'success', 'failed', 'cancelled'];

const FINAL = new Set(['retry', 'success', 'failed', 'cancelled']);

export const LABELS = {
  initiated: 'initiated',
  scheduled: 'scheduled',
  queued: 'queued',
  in_progress: 'in progress',
  retry: 'retried',
  success: 'success',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** The state if it is one we know, else 'unknown' (used in class names). */
export function known(state) {
  return STATES.includes(state) ? state : 'unknown';
}

export function isFinal(state) {
  return FINAL.has(state);
}

export const canRetry = isFinal;

export function canCancel(state) {
  return STATES.includes(state) && !FINAL.has(state);
}

/** A coloured badge for a state. */
export function badge(state) {
  const k = known(state);
  return h('span', { class: `badge state-${k}`, dataset: { state: String(state) } }, LABELS[k] ?? String(state));
}
