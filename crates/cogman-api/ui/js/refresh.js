// Loading a view's data again and again without overlap: a refresh tick arriving while a
// request is out runs once that request is answered, an explicit load supersedes it (the older
// answer is dropped), and nothing is rendered once the view is gone. `follow` reloads on every
// event of the live feed, and polls on a timer only while the feed is down.

import { onLiveEvent, onLiveState } from './live.js';

/** Events closer together than this cause one reload. */
const COALESCE_MS = 200;

/**
 * `fetch()` resolves to the data; `show(data)` renders it, `fail(error)` renders a failure.
 * Returns { load, stop }: `load({ tick })` loads once (a tick while a load is out waits for
 * it, then loads once more), `stop()` ends it for good (call it when the view unmounts).
 */
export function refresher(fetch, show, fail) {
  let seq = 0;
  let inFlight = false;
  let again = false;
  let stopped = false;

  async function load({ tick = false } = {}) {
    if (stopped) return;
    if (tick && inFlight) {
      again = true;
      return;
    }
    again = false;
    seq += 1;
    const mine = seq;
    inFlight = true;
    let outcome;
    try {
      outcome = { ok: true, data: await fetch() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (mine !== seq) return;
    inFlight = false;
    if (stopped) return;
    if (outcome.ok) show(outcome.data);
    else fail(outcome.error);
    if (again) load({ tick: true });
  }

  return {
    load,
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * Calls `reload()` after live events (`wanted(event)` picks which; default all), and every
 * `pollMs` while the live feed is down. Returns the function that stops it.
 */
export function follow(reload, pollMs, wanted = () => true) {
  let timer = null;
  let pending = null;
  const offState = onLiveState((state) => {
    clearInterval(timer);
    timer = state === 'live' ? null : setInterval(reload, pollMs);
  });
  const offEvent = onLiveEvent((event) => {
    if (pending || !wanted(event)) return;
    pending = setTimeout(() => {
      pending = null;
      reload();
    }, COALESCE_MS);
  });
  return () => {
    offState();
    offEvent();
    clearInterval(timer);
    clearTimeout(pending);
  };
}
