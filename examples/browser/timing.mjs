// Timing in a page. Browsers round performance.now() (to 0.1 ms, or to about 5 µs when the
// page is cross-origin isolated), so one call of a small model reads as 0 or 0.1 ms. Time a
// batch instead: call fn() until at least `minMs` have passed, per call = elapsed / calls; the
// clock's rounding is then under 0.1% of the batch. Several batches give a spread.

/** One batch: {calls, elapsedMs, perCallMs}. */
export function timeBatch(fn, minMs = 100) {
  const t0 = performance.now();
  let calls = 0;
  let elapsedMs = 0;
  do {
    fn();
    calls += 1;
    elapsedMs = performance.now() - t0;
  } while (elapsedMs < minMs);
  return { calls, elapsedMs, perCallMs: elapsedMs / calls };
}

/** `batches` batches of fn(): {batches, medianMs, minMs, maxMs} of the per-call times. */
export function timeBatches(fn, { batches = 5, minMs = 100 } = {}) {
  const runs = Array.from({ length: batches }, () => timeBatch(fn, minMs));
  const perCall = runs.map((b) => b.perCallMs).sort((a, b) => a - b);
  const mid = perCall.length >> 1;
  const medianMs = perCall.length % 2 ? perCall[mid] : (perCall[mid - 1] + perCall[mid]) / 2;
  return { batches: runs, medianMs, minMs: perCall[0], maxMs: perCall[perCall.length - 1] };
}

/** The smallest step performance.now() takes here, in ms (the timer's resolution). */
export function timerStepMs() {
  let step = Infinity;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    let t1 = t0;
    while (t1 === t0) t1 = performance.now();
    step = Math.min(step, t1 - t0);
  }
  return step;
}

/** A time in ms with enough digits: 0.0123 ms, 1.23 ms, 123 ms. */
export function formatMs(ms) {
  return ms < 0.1 ? `${(ms * 1000).toFixed(1)} µs` : ms < 10 ? `${ms.toFixed(3)} ms` : `${ms.toFixed(1)} ms`;
}
