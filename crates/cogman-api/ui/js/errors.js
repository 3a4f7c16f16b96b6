// How a failed request is shown: a sentence for people, with the server's own message.

import { h } from './dom.js';

/** A sentence explaining `error` (an ApiError or any Error). */
export function explain(error) {
  switch (error?.status) {
    case 401:
      return 'A valid API token is required: enter one in the token box at the top right.';
    case 403:
      return `Not allowed with this token: ${error.message}.`;
    case 0:
      return `The cogman server cannot be reached (${error.message}).`;
    default:
      return error?.message ?? String(error);
  }
}

/** An error box for a panel. */
export function errorBox(error, prefix) {
  return h('div', { class: 'alert alert-error', role: 'alert', dataset: { status: String(error?.status ?? '') } },
    prefix ? `${prefix}: ` : '', explain(error));
}
