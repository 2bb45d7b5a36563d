// Threaded artifacts in JavaScript: the artifact's threaded variant (save(..., threads=True))
// on worker threads over one shared WebAssembly.Memory: Node worker_threads, or a browser's
// Web Workers when the page is cross-origin isolated (the same worker.mjs for both).
//
// Thread 0 is the caller (model.run stays synchronous); the others are workers parked in wasm
// between calls (csrc/wat/barrier.wat). A browser's main thread may not sleep in
// memory.atomic.wait32 (it traps there), so its instance is set to spin only (`spin_only`):
// it spins when it waits (for a chunk, or for the workers to leave a call), the workers still sleep. load() resolves once every worker has
// started and instantiated the module, so thread 0 never waits for a worker that cannot run.
//
// Each call runs on all the threads or on thread 0 alone (`run(1)`: the workers stay parked;
// the results are bitwise the same), whichever measured faster on the model's first calls,
// re-checked now and then (ThreadChoice, the rule and constants of the Python runtime's
// runtime/thread_choice.py); `threadsAdaptive: false` runs every call on all of them.

import { ArtifactError } from "./manifest.mjs";

export const THREADED_SECTION = "torch_wasm_backend.threaded";
export const ISOLATION_HEADERS = "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp";

// ThreadChoice's constants: those of torch_wasm_backend/runtime/thread_choice.py
const TRIAL = 3; // measured calls per thread count in one trial
const MARGIN = 0.95; // all threads must be at least 5% faster than one to be kept
const RECHECK_FIRST = 64; // calls on the chosen count before the first re-check
const RECHECK_MAX = 4096; // the longest interval between re-checks, in calls
const RECHECK_MIN_MS = 1000; // and at least this much time in calls between re-checks
const DRIFT = 1.5; // a call on the chosen count this much slower than its fastest trial call is slow
const DRIFT_CALLS = 8; // slow calls in a row that start a trial at once

/** The thread count of each call: count() before it, record(count, ms) after. After one
 *  unmeasured warm-up call on all `nthreads`, TRIAL calls each on 1 and `nthreads`,
 *  alternating; `used` = `nthreads` when its fastest call is below MARGIN times one thread's, else
 *  1; a trial again after RECHECK_FIRST calls that took RECHECK_MIN_MS in all, the interval
 *  in calls doubling (to RECHECK_MAX) while the choice stands, or at once after DRIFT_CALLS
 *  calls in a row slower than DRIFT times the chosen count's fastest trial call. `adaptive` false:
 *  always `nthreads`. */
export class ThreadChoice {
  constructor(nthreads, adaptive = true) {
    this.nthreads = nthreads;
    this.adaptive = adaptive && nthreads > 1;
    this.used = nthreads;
    this.best = {}; // the last trial's fastest call (ms) by count
    this.trials = 0;
    this.plan = [];
    this.times = {};
    this.warmup = this.adaptive;
    this.interval = RECHECK_FIRST;
    this.untilCheck = 0;
    this.sinceMs = 0; // time in calls since the last trial
    this.slow = 0; // calls in a row on the chosen count slower than DRIFT times its fastest trial call
    if (this.adaptive) this.startTrial();
  }

  startTrial() {
    this.plan = [];
    for (let i = 0; i < TRIAL; i++) this.plan.push(this.nthreads, 1); // popped from the end: 1, N, 1, ...
    this.times = { 1: [], [this.nthreads]: [] };
  }

  count() {
    if (this.warmup) return this.nthreads;
    return this.plan.length ? this.plan[this.plan.length - 1] : this.used;
  }

  record(count, ms) {
    if (!this.adaptive) return;
    if (this.warmup) {
      this.warmup = false;
    } else if (this.plan.length) {
      this.plan.pop();
      this.times[count].push(ms);
      if (!this.plan.length) this.decide();
    } else {
      this.untilCheck -= 1;
      this.sinceMs += ms;
      this.slow = ms > DRIFT * this.best[this.used] ? this.slow + 1 : 0;
      if ((this.untilCheck <= 0 && this.sinceMs >= RECHECK_MIN_MS) || this.slow >= DRIFT_CALLS) this.startTrial();
    }
  }

  decide() {
    const n = this.nthreads;
    this.best = { 1: Math.min(...this.times[1]), [n]: Math.min(...this.times[n]) };
    const best = this.best[n] < MARGIN * this.best[1] ? n : 1;
    if (this.trials) this.interval = best === this.used ? Math.min(2 * this.interval, RECHECK_MAX) : RECHECK_FIRST;
    this.used = best;
    this.trials += 1;
    this.untilCheck = this.interval;
    this.sinceMs = 0;
    this.slow = 0;
  }
}

const isNode = typeof process !== "undefined" && !!process.versions?.node;

/** Why `threads` > 1 cannot run here (a sentence), or null when it can. */
function whyOneThread(variant) {
  if (!variant) return "the artifact has no threaded variant (save it with save(..., threads=True))";
  if (isNode) return null;
  if (!globalThis.crossOriginIsolated) {
    return "the page is not cross-origin isolated (shared WebAssembly memory needs the page served with the " +
           `headers ${ISOLATION_HEADERS}; python -m torch_wasm_backend serve sends them)`;
  }
  if (typeof Worker === "undefined") return "this host has no Web Workers";
  return null;
}

/** Start worker `tid`; resolves with a handle once the worker has instantiated the module
 *  (its {ready} message), rejects when it fails first. `onFailure(message)`: a later trap. */
async function startWorker(tmod, memory, tid, nthreads, onFailure) {
  const url = new URL("./worker.mjs", import.meta.url);
  const data = { module: tmod, memory, tid, nthreads };
  let worker;
  const ready = new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m.ready) resolve();
      else if (m.error) {
        onFailure(m);
        reject(new ArtifactError(`worker thread ${tid} failed: ${m.error}`));
      }
    };
    const onError = (e) => reject(new ArtifactError(`worker thread ${tid} could not start: ${e?.message ?? e} ` +
                                                    `(${url})`));
    if (isNode) {
      worker = new node.Worker(url, { workerData: data });
      worker.on("message", onMessage);
      worker.on("error", onError);
    } else {
      worker = new Worker(url, { type: "module", name: `torch_wasm_backend thread ${tid}` });
      worker.onmessage = (e) => onMessage(e.data);
      worker.onerror = (e) => { e.preventDefault?.(); onError(e); };
      worker.postMessage(data);
    }
  });
  await ready;
  if (isNode) worker.unref(); // parked workers never keep the process alive
  return worker;
}

let node = null; // node:worker_threads, imported on first use

/** `threads` > 1: the artifact's threaded variant (saved with save(..., threads=True)) on
 *  `threads` threads over a shared memory that starts as a copy of the (prepared) single-thread
 *  instance's memory. Returns {exports (instance-like), close() (stop and end the workers;
 *  forward then throws), choice (the ThreadChoice: `adaptive` false runs every call on
 *  `threads`), runner ({run(n)}: what forward calls)}, or null (one thread) when the
 *  artifact has no threaded variant or the host cannot run it, with one console warning
 *  saying why (in a browser: a page that is not cross-origin isolated, naming the COOP/COEP
 *  headers). */
export async function startThreads(module, instance, names, threads, adaptive = true) {
  const [variant] = WebAssembly.Module.customSections(module, THREADED_SECTION);
  let why = whyOneThread(variant);
  const tmod = why ? null : await WebAssembly.compile(variant);
  if (tmod && !isNode && !WebAssembly.Module.exports(tmod).some((e) => e.name === "spin_only")) {
    why = "the artifact's threaded variant predates browser threads (it has no spin_only export); save it again";
  }
  if (why) {
    console.warn(`torch_wasm_backend: running on one thread: ${why}`);
    return null;
  }
  if (isNode) node ??= await import("node:worker_threads");
  const [imp] = WebAssembly.Module.imports(tmod);
  if (!imp || imp.kind !== "memory") throw new ArtifactError("the threaded variant does not import a memory");
  const src = new Uint8Array(instance.exports[names.memory].buffer);
  const pages = src.byteLength / 65536 + 1; // + the page of the kernels' chunk counters (csrc/wat/barrier.wat)
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  new Uint8Array(memory.buffer).set(src.subarray(16), 16); // bytes 0..15: the threads' control block
  const main = await WebAssembly.instantiate(tmod, { env: { memory } });
  if (!isNode) main.exports.spin_only(); // a browser's main thread traps in memory.atomic.wait32
  const failed = [];
  const starting = [];
  for (let tid = 1; tid < threads; tid++) starting.push(startWorker(tmod, memory, tid, threads, (m) => failed.push(m)));
  let workers;
  try {
    workers = await Promise.all(starting);
  } catch (e) { // stop the workers that did start, then say which one failed
    main.exports.stop();
    throw e;
  }
  const runner = { run: main.exports.run }; // run(n): a call on n threads (a property: tests slow it down)
  const choice = new ThreadChoice(threads, adaptive);
  let closed = false;
  const forward = () => {
    if (closed) throw new ArtifactError("the model was closed (close() stops its worker threads); load it again");
    if (failed.length) throw new ArtifactError(`a worker thread trapped earlier (${failed[0].error}); load the model again`);
    const n = choice.count();
    try {
      const t0 = performance.now();
      runner.run(n);
      choice.record(n, performance.now() - t0);
    } catch (e) {
      main.exports.abort();
      throw e;
    }
  };
  const stop = stopper(main, workers);
  const token = {};
  const close = () => {
    if (closed) return;
    closed = true;
    finalizer?.unregister(token);
    stop();
  };
  finalizer?.register(forward, stop, token); // a model dropped without close(): stop its workers
  return { exports: { ...main.exports, [names.memory]: memory, [names.forward]: forward }, close, choice, runner };
}

/** A function stopping the workers: the parked workers return from worker() and end. Made
 *  out of startThreads' scope, so that it (the finalizer's held value) keeps nothing of the
 *  model alive. */
function stopper(main, workers) {
  return () => {
    main.exports.stop();
    for (const w of workers) w.terminate();
  };
}

// workers of models that were garbage-collected without close() (keyed by the model's forward)
const finalizer = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((stop) => stop()) : null;
