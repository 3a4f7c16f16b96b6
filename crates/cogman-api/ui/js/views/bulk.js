// Bulk actions of the task list (POST /api/v1/tasks/bulk): retry or cancel the selected tasks,
// or everything the current search and filters match, and "Retry all failed" in one click.
// Each asks first: a dry run counts what would be done, the user confirms, then the requests
// run (following the cursor for a search) and the result is shown. Hidden for read-only tokens.

import { request } from '../api.js';
import { fill, h } from '../dom.js';
import { errorBox } from '../errors.js';
import { canWrite } from '../session.js';

const VERBS = { retry: ['Retry', 'retried'], cancel: ['Cancel', 'cancelled'] };

/** Runs the bulk request over every page of a search (or once for ids); sums the answers. */
async function runAll(body) {
  const total = { matched: 0, acted: 0, skipped: 0, requests: 0 };
  let after;
  for (;;) {
    const answer = await request('POST', '/tasks/bulk', { body: after ? { ...body, after } : body });
    total.matched += answer.matched;
    total.acted += answer.acted;
    total.skipped += answer.skipped.length;
    total.requests += 1;
    if (!answer.next) return total;
    after = answer.next;
  }
}

const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;

/**
 * The bulk bar. `selected` is the Set of selected ids (the list keeps it), `line()` the search
 * line of the current filters, `done()` is called after an action.
 */
export function bulkBar(selected, line, done) {
  const count = h('span', { class: 'muted', dataset: { testid: 'selected-count' } });
  const confirmBox = h('div', { dataset: { testid: 'bulk-confirm' } });
  const result = h('div', { dataset: { testid: 'bulk-result' } });

  async function ask(action, body, what) {
    fill(result);
    fill(confirmBox, h('p', { class: 'faint' }, 'Counting…'));
    let preview;
    try {
      preview = await runAll({ ...body, action, dry_run: true });
    } catch (e) {
      fill(confirmBox, errorBox(e));
      return;
    }
    const [verb, past] = VERBS[action];
    if (preview.acted === 0) {
      fill(confirmBox, h('div', { class: 'alert' },
        `Nothing to ${verb.toLowerCase()}: ${plural(preview.matched, 'attempt')} matched ${what}, none in a state for it.`));
      return;
    }
    const yes = h('button', { type: 'button', class: 'btn btn-danger', dataset: { testid: 'bulk-yes' } }, `${verb} ${plural(preview.acted, 'task')}`);
    const no = h('button', { type: 'button', class: 'btn btn-light', on: { click: () => fill(confirmBox) } }, 'Keep them');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        const outcome = await runAll({ ...body, action });
        fill(confirmBox);
        fill(result, h('div', { class: 'alert alert-ok', role: 'status' },
          `${plural(outcome.acted, 'task')} ${past}`,
          outcome.skipped ? `; ${plural(outcome.skipped, 'attempt')} left alone (already ${action === 'retry' ? 'retried or not finished' : 'finished'}, or another attempt of the same task).` : '.'));
        selected.clear();
        done();
      } catch (e) {
        fill(confirmBox, errorBox(e));
      }
    });
    fill(confirmBox, h('div', { class: 'alert alert-warn' },
      `${verb} ${plural(preview.acted, 'task')}? ${plural(preview.matched, 'attempt')} matched ${what}`,
      preview.matched > preview.acted ? ` (${plural(preview.matched - preview.acted, 'attempt')} will be left alone).` : '.',
      ' ', yes, ' ', no));
  }

  const onSelection = (action) => ask(action, { ids: [...selected] }, 'the selection');
  const onMatches = (action) => ask(action, { q: line() }, 'the search and filters');
  const bar = h('div', { class: 'bulk', dataset: { testid: 'bulk' } },
    count,
    h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'retry-selected' }, on: { click: () => onSelection('retry') } }, 'Retry selected'),
    h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'cancel-selected' }, on: { click: () => onSelection('cancel') } }, 'Cancel selected'),
    h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'retry-matching' }, on: { click: () => onMatches('retry') } }, 'Retry all matching…'),
    h('button', { type: 'button', class: 'btn btn-light btn-small', dataset: { testid: 'cancel-matching' }, on: { click: () => onMatches('cancel') } }, 'Cancel all matching…'));
  const element = h('div', {}, bar, confirmBox, result);

  function update() {
    element.hidden = !canWrite();
    count.textContent = `${selected.size} selected`;
    for (const b of bar.querySelectorAll('[data-testid$="-selected"]')) b.disabled = selected.size === 0;
  }
  update();
  return {
    element,
    update,
    /** "Retry all failed": the newest attempt of every failed task, after the confirmation. */
    retryAllFailed: () => ask('retry', { q: 'state:failed' }, '"state:failed"'),
  };
}
