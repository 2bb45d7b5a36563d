// Batch timing shared by Node (common.mjs) and the browser page (page.mjs): no Node imports.
//
// A batch is `calls` back-to-back calls of run() timed as one interval with performance.now();
// callers size it (tens of ms) so that a coarse timer (browsers round performance.now() to
// 0.1 ms or coarser) costs under 1% of the interval. A synchronous run() is not awaited (an
// await would add a microtask turn to every call), a promise is.

const isPromise = (x) => typeof x?.then === "function";

/** Wall time in ms of `calls` back-to-back calls of run(). */
export async function timeBatch(run, calls) {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const r = run();
    if (isPromise(r)) await r;
  }
  return performance.now() - t0;
}

/** Run until both `ms` milliseconds and `minRuns` calls have passed: {runs, ms}. */
export async function warmup(run, ms, minRuns) {
  const t0 = performance.now();
  let runs = 0;
  while (runs < minRuns || performance.now() - t0 < ms) {
    const r = run();
    if (isPromise(r)) await r;
    runs++;
  }
  return { runs, ms: performance.now() - t0 };
}
