// Threaded artifacts in JavaScript: the artifact's threaded variant (save(..., threads=True))
// on Node worker threads (worker.mjs) over one shared WebAssembly.Memory.

import { ArtifactError } from "./manifest.mjs";

export const THREADED_SECTION = "torch_wasm_backend.threaded";

/** `threads` > 1: the artifact's threaded variant (saved with save(..., threads=True)) on
 *  `threads` threads over a shared memory that starts as a copy of the (prepared) single-thread
 *  instance's memory; thread 0 is the caller, the others Node worker threads (worker.mjs)
 *  parked in wasm between calls. Returns an instance-like {exports}, or null (one thread) when
 *  the artifact has no threaded variant or the host cannot run it, with one console warning
 *  saying why. Browsers: not yet (their main thread may not wait; cross-origin isolation, the
 *  COOP/COEP headers, is needed too). */
export async function startThreads(module, instance, names, threads) {
  const [variant] = WebAssembly.Module.customSections(module, THREADED_SECTION);
  const isNode = typeof process !== "undefined" && !!process.versions?.node;
  let why = null;
  if (!variant) why = "the artifact has no threaded variant (save it with save(..., threads=True))";
  else if (!isNode && !globalThis.crossOriginIsolated) {
    why = "the page is not cross-origin isolated (shared memory needs the headers " +
          "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
  } else if (!isNode) why = "this loader runs threads in Node only so far";
  if (why) {
    console.warn(`torch_wasm_backend: running on one thread: ${why}`);
    return null;
  }
  const { Worker } = await import("node:worker_threads");
  const tmod = await WebAssembly.compile(variant);
  const [imp] = WebAssembly.Module.imports(tmod);
  if (!imp || imp.kind !== "memory") throw new ArtifactError("the threaded variant does not import a memory");
  const src = new Uint8Array(instance.exports[names.memory].buffer);
  const pages = src.byteLength / 65536;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  new Uint8Array(memory.buffer).set(src.subarray(16), 16); // bytes 0..15: the threads' control block
  const main = await WebAssembly.instantiate(tmod, { env: { memory } });
  const failed = [];
  for (let tid = 1; tid < threads; tid++) {
    const w = new Worker(new URL("./worker.mjs", import.meta.url), { workerData: { module: tmod, memory, tid, nthreads: threads } });
    w.on("message", (m) => failed.push(m));
    w.unref(); // parked workers never keep the process alive
  }
  const run = main.exports.run;
  const forward = () => {
    if (failed.length) throw new ArtifactError(`a worker thread trapped earlier (${failed[0].error}); load the model again`);
    try {
      run(threads);
    } catch (e) {
      main.exports.abort();
      throw e;
    }
  };
  return { exports: { ...main.exports, [names.memory]: memory, [names.forward]: forward } };
}
