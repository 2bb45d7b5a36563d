// One worker thread of a threaded torch_wasm_backend model (threads.mjs, `load(src, {threads})`):
// a Node worker_threads Worker, or a browser's module Web Worker; the same file for both.
//
// It gets {module, memory, tid, nthreads}: as workerData in Node, as its first message in a
// browser. `module` is the artifact's threaded variant (custom section
// "torch_wasm_backend.threaded"), `memory` the shared WebAssembly.Memory it imports as
// env.memory. The worker instantiates it, posts {tid, ready: true} (the loader waits for every
// worker before load() resolves: a browser's main thread cannot wait for a worker that has not
// started yet) and calls its `worker(tid, nthreads, 0)` export, which never returns while the
// model lives: it parks in memory.atomic.wait32 between calls and runs forward(tid, nthreads)
// each time thread 0's `run` wakes it (csrc/wat/barrier.wat). A trap sets the module's ABORT
// flag (`abort`), so thread 0 traps out of its wait instead of waiting forever, and is
// posted to the loader as {tid, error}.
const isNode = typeof process !== "undefined" && !!process.versions?.node;
const node = isNode ? await import("node:worker_threads") : null;
const post = (message) => (node ? node.parentPort.postMessage(message) : self.postMessage(message));
const data = node ? node.workerData
  : await new Promise((resolve) => self.addEventListener("message", (e) => resolve(e.data), { once: true }));
const { module, memory, tid, nthreads } = data;

let exports = null;
try {
  ({ exports } = new WebAssembly.Instance(module, { env: { memory } }));
  post({ tid, ready: true });
  exports.worker(tid, nthreads, 0);
} catch (e) {
  try {
    exports?.abort();
  } finally {
    post({ tid, error: String(e && e.message ? e.message : e) });
  }
}
