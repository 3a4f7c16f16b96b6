// Formatting for people: times, ages, durations, sizes, ids, and the bytes of payloads and
// results (JSON, UTF-8 text, or base64 when the bytes are not text).

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n, w = 2) => String(n).padStart(w, '0');

function valid(iso) {
  const d = iso instanceof Date ? iso : new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "Nov 27 22:20:55" in local time. */
export function shortTime(iso) {
  const d = valid(iso);
  if (!d) return '—';
  return `${MONTHS[d.getMonth()]} ${d.getDate()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "2026-11-27 22:20:55.132" in local time. */
export function fullTime(iso) {
  const d = valid(iso);
  if (!d) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "HH:MM" or "Nov 27" for chart axes, depending on the bucket width. */
export function axisTime(date, intervalMs) {
  if (intervalMs >= 86400000) return `${MONTHS[date.getMonth()]} ${date.getDate()}`;
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A span of milliseconds: "850 ms", "12 s", "4 min", "3 h", "2 d". */
export function span(ms) {
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(a)} ms`;
  if (a < 60000) return `${Math.round(a / 1000)} s`;
  if (a < 3600000) return `${Math.round(a / 60000)} min`;
  if (a < 86400000) return `${Math.round(a / 3600000)} h`;
  return `${Math.round(a / 86400000)} d`;
}

/** "5 s ago" or "in 10 min". */
export function age(iso, now = Date.now()) {
  const d = valid(iso);
  if (!d) return '—';
  const diff = now - d.getTime();
  return diff >= 0 ? `${span(diff)} ago` : `in ${span(diff)}`;
}

/** A handler duration given in seconds. */
export function seconds(secs) {
  if (secs === null || secs === undefined || Number.isNaN(secs)) return '—';
  if (secs < 0.001) return `${Math.round(secs * 1e6)} µs`;
  if (secs < 1) return `${(secs * 1000).toFixed(secs < 0.01 ? 2 : 1)} ms`;
  if (secs < 60) return `${secs.toFixed(2)} s`;
  return `${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** "01a21f18…25cb4d": the start (time) and end (random part) of a UUID v7. */
export function shortId(id) {
  const text = String(id);
  return text.length > 16 ? `${text.slice(0, 8)}…${text.slice(-6)}` : text;
}

function fromBase64(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * How to show stored bytes: {kind: 'json'|'text'|'base64'|'empty', text, size}. `json` is the
 * API's JSON view of the bytes when they are JSON.
 */
export function describeBytes(base64, json) {
  let raw;
  try {
    raw = fromBase64(base64 ?? '');
  } catch {
    return { kind: 'base64', text: String(base64), size: 0 };
  }
  if (raw.length === 0) return { kind: 'empty', text: '', size: 0 };
  if (json !== undefined) return { kind: 'json', text: JSON.stringify(json, null, 2), size: raw.length };
  try {
    return { kind: 'text', text: utf8.decode(raw), size: raw.length };
  } catch {
    const lines = String(base64).match(/.{1,76}/g) ?? [];
    return { kind: 'base64', text: lines.join('\n'), size: raw.length };
  }
}

/** One line of a payload or result for a table cell. */
export function preview(base64, json, max = 80) {
  const d = describeBytes(base64, json);
  if (d.kind === 'empty') return '';
  const flat = d.kind === 'json' ? JSON.stringify(json) : d.text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The bytes of UTF-8 text as standard base64. */
export function textToBase64(text) {
  const encoded = new TextEncoder().encode(text);
  let binary = '';
  for (const b of encoded) binary += String.fromCharCode(b);
  return btoa(binary);
}
