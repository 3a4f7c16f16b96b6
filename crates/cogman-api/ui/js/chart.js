// A stacked bar chart of tasks per state per time bucket, drawn as SVG elements (no library).

import { s } from './dom.js';
import { axisTime } from './format.js';
import { LABELS, STATES } from './states.js';

const MARGIN = { top: 10, right: 8, bottom: 24, left: 40 };
const HEIGHT = 220;

/** A whole round number at or above `n` (1, 2, 5 × 10^k). */
function niceCeil(n) {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

/**
 * buckets: [{start: Date, counts: {state: n}}] (every bucket of the range, oldest first);
 * width: pixels available.
 */
export function stackedBars(buckets, intervalMs, width) {
  const w = Math.max(320, Math.floor(width));
  const plotW = w - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const totals = buckets.map((b) => STATES.reduce((sum, st) => sum + (b.counts[st] ?? 0), 0));
  const step = niceCeil(Math.max(1, ...totals) / 4);
  const max = step * Math.max(1, Math.ceil(Math.max(0, ...totals) / step));
  const y = (v) => MARGIN.top + plotH - (v / max) * plotH;
  const svg = s('svg', {
    viewBox: `0 0 ${w} ${HEIGHT}`,
    width: w,
    height: HEIGHT,
    role: 'img',
    'aria-label': 'Tasks created per time bucket, stacked by current state',
  });

  for (let t = 0; t <= max; t += step) {
    svg.append(
      s('line', { class: 'grid', x1: MARGIN.left, x2: w - MARGIN.right, y1: y(t), y2: y(t) }),
      s('text', { class: 'axis', x: MARGIN.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, t.toLocaleString()),
    );
  }

  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(2, Math.min(48, slot * 0.72));
  const labelEvery = Math.max(1, Math.ceil(56 / slot));
  buckets.forEach((bucket, i) => {
    const x = MARGIN.left + i * slot + (slot - barW) / 2;
    const group = s('g', { class: 'bucket' });
    const parts = STATES.filter((st) => bucket.counts[st] > 0).map((st) => `${LABELS[st]} ${bucket.counts[st]}`);
    group.append(s('title', {}, `${axisTime(bucket.start, intervalMs)} — ${totals[i]} task${totals[i] === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`));
    let base = 0;
    for (const st of STATES) {
      const n = bucket.counts[st] ?? 0;
      if (n <= 0) continue;
      const top = y(base + n);
      group.append(s('rect', { class: `bar fill-${st}`, x, y: top, width: barW, height: Math.max(1, y(base) - top), rx: 1.5 }));
      base += n;
    }
    // An invisible full-height target so the tooltip works on empty and thin bars too.
    group.append(s('rect', { x: MARGIN.left + i * slot, y: MARGIN.top, width: slot, height: plotH, fill: 'transparent' }));
    svg.append(group);
    if (i % labelEvery === 0) {
      svg.append(s('text', { class: 'axis', x: x + barW / 2, y: HEIGHT - 6, 'text-anchor': 'middle' }, axisTime(bucket.start, intervalMs)));
    }
  });

  if (totals.every((t) => t === 0)) {
    svg.append(s('text', { class: 'empty', x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH / 2, 'text-anchor': 'middle' }, 'No tasks created in this range'));
  }
  return svg;
}
