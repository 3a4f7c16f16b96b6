// Send: a form for POST /tasks. The server validates every field; its answer is shown next to
// the field it names (or above the form), so the rules live in one place.

import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { explain } from '../errors.js';
import { shortId, textToBase64 } from '../format.js';
import { canWrite, currentRole, onRoleChange } from '../session.js';

// Which field a server message is about, by the words it uses (first match wins).
const FIELD_WORDS = [
  ['primary_key', /primary[ _]key/i],
  ['payload', /payload/i],
  ['delay', /delay|run_at/i],
  ['timeout', /timeout/i],
  ['retry', /retr/i],
  ['priority', /priority/i],
  ['name', /\bname\b|`name`/i],
];

export function fieldOf(message) {
  return FIELD_WORDS.find(([, re]) => re.test(message))?.[0] ?? null;
}

function field(label, input, help) {
  const error = h('div', { class: 'field-error', role: 'alert', hidden: true });
  const wrap = h('label', { class: 'field' }, h('span', {}, label), input, help ? h('span', { class: 'help' }, help) : null, error);
  return { wrap, input, error };
}

export function send(root) {
  const f = {
    name: field('Name', h('input', { name: 'name', placeholder: 'e.g. email.send', autocomplete: 'off', dataset: { testid: 'name' } }), 'The handler that runs it.'),
    payload: field('Payload', h('textarea', { name: 'payload', rows: 7, spellcheck: 'false', placeholder: '{"to": "ada@example.com"}', dataset: { testid: 'payload' } })),
    format: field('Payload is', h('select', { name: 'format', dataset: { testid: 'format' } },
      h('option', { value: 'json' }, 'JSON'), h('option', { value: 'text' }, 'text (sent as UTF-8 bytes)'), h('option', { value: 'base64' }, 'base64 bytes'))),
    priority: field('Priority', h('select', { name: 'priority' }, h('option', { value: 'Low' }, 'Low'), h('option', { value: 'High' }, 'High'))),
    delay: field('Delay (seconds)', h('input', { name: 'delay', type: 'number', min: 0, step: 'any', placeholder: '0', dataset: { testid: 'delay' } }), 'Run no earlier than this.'),
    retry: field('Retries', h('input', { name: 'retry', type: 'number', min: 0, step: 1, placeholder: '0', dataset: { testid: 'retry' } }), 'Attempts after a failure.'),
    primary_key: field('Primary key', h('input', { name: 'primary_key', autocomplete: 'off', placeholder: 'optional', dataset: { testid: 'primary-key' } }), 'Your own key to find it by.'),
    timeout: field('Timeout (seconds)', h('input', { name: 'timeout', type: 'number', min: 0, step: 'any', placeholder: 'none', dataset: { testid: 'timeout' } }), 'The handler is stopped after this.'),
  };
  const outcome = h('div', { dataset: { testid: 'send-outcome' } });
  const notice = h('div');
  const submit = h('button', { type: 'submit', class: 'btn', dataset: { testid: 'submit' } }, 'Send task');

  function clearErrors() {
    fill(outcome);
    for (const { input, error } of Object.values(f)) {
      error.hidden = true;
      error.textContent = '';
      input.removeAttribute('aria-invalid');
    }
  }

  function showError(name, text) {
    const target = name ? f[name] : null;
    if (!target) {
      fill(outcome, h('div', { class: 'alert alert-error', role: 'alert' }, text));
      return;
    }
    target.error.textContent = text;
    target.error.hidden = false;
    target.input.setAttribute('aria-invalid', 'true');
    target.input.focus();
  }

  /** The request body, or null after showing what the browser alone can tell is wrong. */
  function body() {
    const out = { name: f.name.input.value, priority: f.priority.input.value };
    const payload = f.payload.input.value;
    if (payload.trim() !== '') {
      const format = f.format.input.value;
      if (format === 'json') {
        try {
          out.payload = JSON.parse(payload);
        } catch (e) {
          showError('payload', `not valid JSON (${e.message}); choose "text" to send it as it is`);
          return null;
        }
      } else if (format === 'text') {
        out.payload_base64 = textToBase64(payload);
      } else {
        out.payload_base64 = payload.replace(/\s+/g, '');
      }
    }
    const number = (name) => {
      const raw = f[name].input.value.trim();
      return raw === '' ? undefined : Number(raw);
    };
    const delay = number('delay');
    if (delay !== undefined) out.delay_ms = Math.round(delay * 1000);
    const retry = number('retry');
    if (retry !== undefined) out.retry = retry;
    const timeout = number('timeout');
    if (timeout !== undefined) out.timeout_ms = Math.round(timeout * 1000);
    const key = f.primary_key.input.value;
    if (key !== '') out.primary_key = key;
    return out;
  }

  const form = h('form', {
    class: 'panel',
    novalidate: true,
    on: {
      submit: async (e) => {
        e.preventDefault();
        clearErrors();
        const request = body();
        if (!request) return;
        submit.disabled = true;
        try {
          const answer = await api.send(request);
          fill(outcome, h('div', { class: 'alert alert-ok', role: 'status' },
            `Task sent (${answer.status}): `,
            h('a', { href: `#/tasks/${encodeURIComponent(answer.id)}`, dataset: { testid: 'sent-link' } }, shortId(answer.id)),
            ' · ', h('a', { href: '#/tasks' }, 'all tasks')));
        } catch (err) {
          const fieldName = err.status === 422 ? fieldOf(err.message) : null;
          showError(fieldName, fieldName ? err.message : explain(err));
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  h('div', { class: 'form-grid' },
    h('div', { class: 'span2' }, f.name.wrap), f.priority.wrap, f.primary_key.wrap,
    h('div', { class: 'wide' }, f.payload.wrap),
    f.format.wrap, f.delay.wrap, f.retry.wrap, f.timeout.wrap),
  h('div', { class: 'form-actions' }, submit,
    h('span', { class: 'faint' }, 'The server checks every field; nothing is written if one is refused.')));

  const showNotice = () => fill(notice, canWrite() ? null
    : h('div', { class: 'alert alert-warn', dataset: { testid: 'read-only' } },
      currentRole() === 'read'
        ? 'This token may only read: the server will refuse to send. Use an admin token to send tasks.'
        : 'Sending needs an admin token: enter one at the top right.'));
  const unsubscribe = onRoleChange(showNotice);
  showNotice();

  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Send a task')), notice, outcome, form);
  f.name.input.focus();
  return unsubscribe;
}
