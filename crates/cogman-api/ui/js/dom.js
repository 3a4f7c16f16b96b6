// Building the DOM without parsing HTML: every value becomes a text node or an attribute, so
// task names, payloads and errors (attacker-controlled) are always shown as text, and the
// characters that would hide or reorder text are shown escaped (`visible`).

const SVG_NS = 'http://www.w3.org/2000/svg';

// Characters that are invisible or move other text: control characters (but tab and line
// breaks), and the bidirectional overrides and isolates.
const HIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every hidden character written as an escape: ESC shows as `\u{1b}`. */
export function visible(text) {
  return String(text).replace(HIDDEN, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
}

// Properties set on the element rather than as attributes.
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'open']);

function setAttributes(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') {
      el.textContent = visible(value);
    } else if (key === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (key === 'dataset') {
      for (const [name, v] of Object.entries(value)) el.dataset[name] = String(v);
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else {
      const name = key === 'className' ? 'class' : key;
      if (/^on/i.test(name) || name === 'style' || name === 'srcdoc') {
        throw new Error(`refusing to set attribute ${name}`);
      }
      if ((name === 'href' || name === 'src') && !/^[#/]/.test(String(value))) {
        throw new Error(`refusing a non-relative ${name}`);
      }
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(visible(child)));
  }
}

/** An HTML element: h('a', {href: '#/', class: 'x'}, 'text', otherNode). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, props);
  appendChildren(el, children);
  return el;
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  appendChildren(el, children);
  return el;
}

/** Replaces every child of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  appendChildren(el, children);
  return el;
}
