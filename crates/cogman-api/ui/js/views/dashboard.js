// Dashboard: tasks per state over a time range (cards and a stacked bar chart), the named
// queues (pause and resume, from named_queues.js), the broker's queues and the live workers.
// Reloads on live events (every 5 s while the live feed is down).

import { api } from '../api.js';
import { stackedBars } from '../chart.js';
import { fill, h } from '../dom.js';
import { errorBox } from '../errors.js';
import { age, shortTime, span } from '../format.js';
import { follow, refresher } from '../refresh.js';
import { LABELS, STATES } from '../states.js';
import { namedQueueTable } from './named_queues.js';

const REFRESH_MS = 5000;

const RANGES = {
  '1h': { label: '1 hour', buckets: 12, intervalMs: 5 * 60000, interval: '5m' },
  '24h': { label: '24 hours', buckets: 24, intervalMs: 3600000, interval: '1h' },
  '7d': { label: '7 days', buckets: 28, intervalMs: 6 * 3600000, interval: '6h' },
  '30d': { label: '30 days', buckets: 30, intervalMs: 86400000, interval: '1d' },
};

/** The range's query, aligned to whole buckets so bucket starts are predictable. */
export function countsQuery(rangeKey, now = Date.now()) {
  const range = RANGES[rangeKey] ?? RANGES['24h'];
  const end = (Math.floor(now / range.intervalMs) + 1) * range.intervalMs;
  const start = end - range.buckets * range.intervalMs;
  return {
    range,
    params: { from: new Date(start).toISOString(), to: new Date(end).toISOString(), interval: range.interval },
    start,
  };
}

function card(state, label, value) {
  const cls = state === 'total' ? 'card total' : `card state-${state}`;
  const href = state === 'total' ? '#/tasks' : `#/tasks?status=${state}`;
  return h('a', { class: cls, href, dataset: { testid: `count-${state}` } },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, value.toLocaleString()));
}

function renderCards(target, buckets) {
  const totals = Object.fromEntries(STATES.map((st) => [st, 0]));
  for (const b of buckets) for (const st of STATES) totals[st] += b.counts?.[st] ?? 0;
  const all = STATES.reduce((sum, st) => sum + totals[st], 0);
  fill(target, card('total', 'All tasks', all), STATES.map((st) => card(st, LABELS[st], totals[st])));
}

function fullBuckets(answer, query) {
  const byStart = new Map(answer.buckets.map((b) => [new Date(b.start).getTime(), b.counts]));
  return Array.from({ length: query.range.buckets }, (_, i) => {
    const start = query.start + i * query.range.intervalMs;
    return { start: new Date(start), counts: byStart.get(start) ?? {} };
  });
}

function legend() {
  return h('div', { class: 'legend' },
    STATES.map((st) => h('span', {}, h('i', { class: `swatch state-${st}` }), LABELS[st])));
}

function queueTable(answer) {
  if (!answer.supported) return h('p', { class: 'muted' }, 'This broker does not report queue numbers.');
  const rows = answer.queues.map((q) => h('tr', {},
    h('td', {}, h('div', { class: 'mono' }, q.name), h('div', { class: 'sub' }, q.priority ? `${q.priority} priority` : 'auxiliary')),
    h('td', { class: 'num' }, q.ready.toLocaleString()),
    h('td', { class: 'num' }, q.scheduled.toLocaleString()),
    h('td', { class: 'num' }, q.in_flight.toLocaleString()),
    h('td', { class: 'num' }, q.consumers ?? '—')));
  return h('div', { class: 'table-wrap' }, h('table', { dataset: { testid: 'queues' } },
    h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', { class: 'num', title: 'tasks ready to run' }, 'Depth'),
      h('th', { class: 'num', title: 'waiting for their run time' }, 'Scheduled'), h('th', { class: 'num', title: 'delivered, not yet settled' }, 'In flight'), h('th', { class: 'num' }, 'Consumers'))),
    h('tbody', {}, rows.length ? rows : h('tr', { class: 'empty-row' }, h('td', { colspan: 5 }, 'No queues yet.')))));
}

function workerTable(answer) {
  if (!answer.supported) return h('p', { class: 'muted' }, 'This task log keeps no worker heartbeats.');
  const now = Date.now();
  const rows = answer.workers.map((w) => {
    const load = w.concurrency > 0 ? Math.min(100, Math.round((100 * w.in_flight) / w.concurrency)) : 0;
    const meter = h('span', { class: 'meter' }, h('span'));
    meter.firstChild.style.width = `${load}%`;
    return h('tr', {},
      h('td', { class: 'nowrap' }, h('div', { class: 'mono' }, w.id), h('div', { class: 'sub' }, `${w.host} · pid ${w.pid} · up ${span(now - new Date(w.started_at).getTime())}`)),
      h('td', {}, h('div', { class: 'ellipsis narrow', title: w.handlers.join(', ') }, w.handlers.join(', ') || '—'),
        h('div', { class: 'sub', title: 'the named queues it consumes' }, `queues: ${(w.queues || ['default']).join(', ')}`)),
      h('td', { class: 'num nowrap', title: `${load}% of its slots busy` }, `${w.in_flight} / ${w.concurrency}`, meter),
      h('td', { class: 'nowrap', title: shortTime(w.last_heartbeat) }, age(w.last_heartbeat, now)));
  });
  return h('div', { class: 'table-wrap' }, h('table', { dataset: { testid: 'workers' } },
    h('thead', {}, h('tr', {}, h('th', {}, 'Worker'), h('th', {}, 'Handlers'),
      h('th', { class: 'num', title: 'tasks running / concurrency' }, 'In flight / max'), h('th', {}, 'Heartbeat'))),
    h('tbody', {}, rows.length ? rows : h('tr', { class: 'empty-row' }, h('td', { colspan: 4 }, 'No worker reported in the last 30 s.')))));
}

export function dashboard(root, params) {
  const rangeKey = RANGES[params.get('range')] ? params.get('range') : '24h';
  const cards = h('div', { class: 'cards', dataset: { testid: 'cards' } });
  const chart = h('div', { class: 'chart', dataset: { testid: 'chart' } });
  const chartError = h('div');
  const queues = h('div', {}, h('p', { class: 'faint' }, 'Loading…'));
  const named = h('div');
  const namedMessage = h('div');
  const workers = h('div', {}, h('p', { class: 'faint' }, 'Loading…'));
  const updated = h('span', { class: 'updated', dataset: { testid: 'updated' } });
  const ranges = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' },
    Object.entries(RANGES).map(([key, r]) => h('button', {
      type: 'button',
      'aria-pressed': String(key === rangeKey),
      on: { click: () => { window.location.hash = `#/?range=${key}`; } },
    }, r.label)));
  const refresh = h('button', { type: 'button', class: 'btn btn-light btn-small', on: { click: () => load() } }, 'Refresh');

  fill(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Overview'), h('span', { class: 'spacer' }), updated, ranges, refresh),
    cards,
    h('section', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, 'Tasks created'),
        h('span', { class: 'hint' }, `last ${RANGES[rangeKey].label}, per ${RANGES[rangeKey].interval}, by current state`)),
      chartError, chart, legend()),
    h('div', { class: 'columns' },
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Queues')), namedMessage, named, queues),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Workers'),
        h('span', { class: 'hint' }, 'alive in the last 30 s')), workers)));

  let lastBuckets = null;
  const drawChart = () => {
    if (lastBuckets) fill(chart, stackedBars(lastBuckets, RANGES[rangeKey].intervalMs, chart.clientWidth || 800));
  };
  // A refresh tick skips while a request is out; the Refresh button supersedes it.
  const { load, stop } = refresher(async () => {
    const query = countsQuery(rangeKey);
    const [counts, qs, ws, ns] = await Promise.allSettled([api.counts(query.params), api.queues(), api.workers(), api.namedQueues()]);
    return { query, counts, qs, ws, ns };
  }, ({ query, counts, qs, ws, ns }) => {
    if (counts.status === 'fulfilled') {
      lastBuckets = fullBuckets(counts.value, query);
      renderCards(cards, lastBuckets);
      fill(chartError);
      drawChart();
    } else {
      fill(chartError, errorBox(counts.reason, 'Counts'));
    }
    fill(queues, qs.status === 'fulfilled' ? queueTable(qs.value) : errorBox(qs.reason));
    // A log that cannot pause queues (409) shows no named-queue table.
    if (ns.status === 'fulfilled') fill(named, namedQueueTable(ns.value, namedMessage, () => load()));
    else fill(named, ns.reason?.status === 409 ? [] : errorBox(ns.reason, 'Named queues'));
    fill(workers, ws.status === 'fulfilled' ? workerTable(ws.value) : errorBox(ws.reason));
    updated.textContent = `updated ${shortTime(new Date())}`;
    root.dataset.loaded = String(Number(root.dataset.loaded ?? 0) + 1);
  }, (e) => fill(chartError, errorBox(e, 'Counts')));

  load();
  const unfollow = follow(() => load({ tick: true }), REFRESH_MS);
  window.addEventListener('resize', drawChart);
  return () => {
    stop();
    unfollow();
    window.removeEventListener('resize', drawChart);
  };
}
