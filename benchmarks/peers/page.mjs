// One runtime per page, driven by benchmarks/peers/shipping.py through its local HTTP server.
//
//   page.html?id=ID   (served at /peers/page.html; /csrc/ and /work/ are served beside it)
//
// The page asks the server for its next command (GET /next/ID, which blocks until there is
// one), runs it and posts the answer (POST /result/ID); "load" replaces the page's model, so one
// page serves a runtime for a whole stage. Commands (like common.mjs's):
//   {op: "load", runtime: "ours"|"ort"|"tfjs"|"peak", model: URL, variant (ours: load()'s option), inputs: [{name, shape,
//        dtype, url}], peak?: {export, iters}, threads? (ours: load()'s option, with threadsAdaptive?; ort: numThreads; default 1;
//        more than 1 needs a cross-origin isolated page: shipping.Server(isolated=True))}   -> {info}
//   {op: "warmup", ms, min_runs}                                -> {runs, ms}
//   {op: "batch", calls}                                        -> {ms}: calls back to back
//   {op: "outputs"}   each output's bytes to POST /blob/ID/<i>  -> {outputs: [{name, shape, dtype}]}
//   {op: "quit"}
// Batches are timed as one interval (timing.mjs), so the browser's coarse performance.now()
// does not matter. Any error is posted as {error}.

import { timeBatch, warmup } from "./timing.mjs";
import { createEngine as createTfjs, initBackend } from "./tfjs_models.mjs";

const id = new URLSearchParams(location.search).get("id");
const log = (s) => { document.getElementById("log").textContent += s + "\n"; };
const post = (path, body, type = "application/json") =>
  fetch(path, { method: "POST", headers: { "content-type": type }, body });
const NM = "/peers/node_modules";
const ARRAYS = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array };

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

async function fetchInputs(inputs) {
  return Promise.all(inputs.map(async (x) => {
    const bytes = await (await fetch(x.url)).arrayBuffer();
    return { name: x.name, shape: x.shape, dtype: x.dtype, data: new ARRAYS[x.dtype](bytes) };
  }));
}

const RUNTIMES = {
  async ours(cmd, inputs) {
    const { load } = await import("/csrc/js/loader.mjs");
    const model = await load(fetch(cmd.model), { variant: cmd.variant, threads: cmd.threads ?? 1,
                                                 threadsAdaptive: cmd.threadsAdaptive ?? true });
    const arrays = inputs.map((x) => x.data);
    return { run: () => model.run(arrays), dispose: () => model.close?.(), // close: a threaded model's workers
             info: { memoryBytes: model.memory.buffer.byteLength, variant: model.variant, threads: model.threads,
                     crossOriginIsolated } };
  },
  async ort(cmd, inputs) {
    const ort = await import(`${NM}/onnxruntime-web/dist/ort.wasm.min.mjs`);
    ort.env.wasm.wasmPaths = `${NM}/onnxruntime-web/dist/`;
    ort.env.wasm.numThreads = cmd.threads ?? 1; // > 1: ORT's threaded build, needs crossOriginIsolated
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    const session = await ort.InferenceSession.create(cmd.model, {
      executionProviders: ["wasm"], graphOptimizationLevel: "all", executionMode: "sequential" });
    const feeds = Object.fromEntries(session.inputNames.map((n, i) =>
      [n, new ort.Tensor(inputs[i].dtype, inputs[i].data, inputs[i].shape)]));
    const run = async () => {
      const res = await session.run(feeds);
      return session.outputNames.map((n) => ({ name: n, shape: [...res[n].dims], dtype: res[n].type,
                                               data: res[n].data }));
    };
    return { run, dispose: () => session.release(),
             info: { ortVersion: ort.env.versions.web, numThreads: ort.env.wasm.numThreads, crossOriginIsolated } };
  },
  async tfjs(cmd, inputs) {
    if (!globalThis.tf?.wasm) {
      await loadScript(`${NM}/@tensorflow/tfjs-core/dist/tf-core.min.js`);
      await loadScript(`${NM}/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js`);
      globalThis.tf.wasm.setWasmPaths(`${NM}/@tensorflow/tfjs-backend-wasm/dist/`);
    }
    const tf = globalThis.tf;
    const backend = await initBackend(tf);
    const spec = await (await fetch(cmd.model)).json();
    const buffer = await (await fetch(new URL(spec.bin, new URL(cmd.model, location.href)))).arrayBuffer();
    const engine = createTfjs(tf, spec, buffer, inputs);
    return { run: engine.run, dispose: engine.dispose, info: backend };
  },
  async peak(cmd) {
    const { instance } = await WebAssembly.instantiate(await (await fetch(cmd.model)).arrayBuffer(), {});
    const fn = instance.exports[cmd.peak.export];
    if (typeof fn !== "function") throw new Error(`${cmd.model} has no export ${cmd.peak.export}`);
    const run = () => [{ name: "sum", shape: [1], dtype: "float32", data: new Float32Array([fn(cmd.peak.iters, 1)]) }];
    return { run, info: cmd.peak };
  },
};

let engine = null;
async function handle(cmd) {
  if (cmd.op === "load") {
    const t0 = performance.now();
    const inputs = await fetchInputs(cmd.inputs ?? []);
    await engine?.dispose?.(); // the page runs one model after another
    engine = await RUNTIMES[cmd.runtime](cmd, inputs);
    return { info: { ...engine.info, loadMs: performance.now() - t0, userAgent: navigator.userAgent } };
  }
  if (cmd.op === "warmup") return warmup(engine.run, cmd.ms ?? 1000, cmd.min_runs ?? 3);
  if (cmd.op === "batch") return { ms: await timeBatch(engine.run, cmd.calls ?? 1) };
  if (cmd.op === "outputs") {
    const outs = await engine.run();
    for (const [i, o] of outs.entries()) {
      await post(`/blob/${id}/${i}`, new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength),
                 "application/octet-stream");
    }
    return { outputs: outs.map((o) => ({ name: o.name, shape: [...o.shape], dtype: o.dtype })) };
  }
  throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
}

for (;;) {
  const cmd = await (await fetch(`/next/${id}`)).json();
  if (cmd.op === "quit") break;
  log(JSON.stringify(cmd).slice(0, 200));
  let reply;
  try {
    reply = await handle(cmd);
  } catch (e) {
    reply = { error: String(e?.stack ?? e) };
  }
  await post(`/result/${id}`, JSON.stringify(reply));
}
log("done");
