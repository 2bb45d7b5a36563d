// One worker thread of a threaded torch_wasm_backend model (loader.mjs, `load(src, {threads})`).
//
// Started by the loader with workerData = {module, memory, tid, nthreads}: `module` is the
// artifact's threaded variant (custom section "torch_wasm_backend.threaded"), `memory` the
// shared WebAssembly.Memory it imports as env.memory. The worker instantiates it and calls
// its `worker(tid, nthreads, 0)` export, which never returns while the model lives: it parks
// in memory.atomic.wait32 between calls and runs forward(tid, nthreads) each time thread 0's
// `run` wakes it (csrc/wat/barrier.wat). A trap sets the module's ABORT flag (`abort`), so
// thread 0 traps out of its barrier instead of waiting forever, and is reported to the loader.
import { parentPort, workerData } from "node:worker_threads";

const { module, memory, tid, nthreads } = workerData;
const { exports } = new WebAssembly.Instance(module, { env: { memory } });
try {
  exports.worker(tid, nthreads, 0);
} catch (e) {
  try {
    exports.abort();
  } finally {
    parentPort.postMessage({ tid, error: String(e && e.message ? e.message : e) });
  }
}
