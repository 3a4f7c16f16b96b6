// Loading a view's data again and again without overlap: a refresh tick is skipped while a
// request is out, an explicit load supersedes it (the older answer is dropped), and nothing is
// rendered once the view is gone.

/**
 * `fetch()` resolves to the data; `show(data)` renders it, `fail(error)` renders a failure.
 * Returns { load, stop }: `load({ tick })` loads once (a tick skips while a load is out),
 * `stop()` ends it for good (call it when the view unmounts).
 */
export function refresher(fetch, show, fail) {
  let seq = 0;
  let inFlight = false;
  let stopped = false;

  async function load({ tick = false } = {}) {
    if (stopped || (tick && inFlight)) return;
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
  }

  return {
    load,
    stop: () => {
      stopped = true;
    },
  };
}
