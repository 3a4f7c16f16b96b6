// The named queues of the dashboard's Queues panel: each with its state and a Pause or Resume
// button (admin tokens). A paused queue accepts sends and delivers nothing until resumed.

import { api } from '../api.js';
import { h } from '../dom.js';
import { errorBox } from '../errors.js';
import { age } from '../format.js';
import { canWrite } from '../session.js';

/** The table of `answer` (GET /named-queues); `changed()` is called after a pause or resume. */
export function namedQueueTable(answer, message, changed) {
  const now = Date.now();
  const act = async (button, call) => {
    button.disabled = true;
    try {
      await call();
      message.replaceChildren();
      await changed();
    } catch (e) {
      message.replaceChildren(errorBox(e, 'Not done'));
      button.disabled = false;
    }
  };
  const rows = answer.queues.map((q) => h('tr', { dataset: { queue: q.name } },
    h('td', {}, h('div', { class: 'mono' }, q.name)),
    h('td', { dataset: { testid: 'queue-state' } }, q.paused
      ? h('span', { class: 'badge state-cancelled', title: `paused ${q.paused_since}` }, `paused ${age(q.paused_since, now)}`)
      : h('span', { class: 'badge state-success' }, 'active')),
    h('td', { class: 'nowrap' }, canWrite()
      ? h('button', {
        type: 'button',
        class: 'btn btn-light btn-small',
        dataset: { testid: q.paused ? 'resume-queue' : 'pause-queue' },
        on: { click: (e) => act(e.currentTarget, () => (q.paused ? api.resumeQueue(q.name) : api.pauseQueue(q.name))) },
      }, q.paused ? 'Resume' : 'Pause')
      : h('span', { class: 'faint' }, '—'))));
  return h('div', { class: 'table-wrap' }, h('table', { dataset: { testid: 'named-queues' } },
    h('thead', {}, h('tr', {}, h('th', {}, 'Named queue'), h('th', { title: 'a paused queue accepts tasks and delivers none' }, 'State'), h('th', {}, ''))),
    h('tbody', {}, rows)));
}
