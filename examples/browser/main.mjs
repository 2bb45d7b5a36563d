// Browser demo: load model.wasm (made by make_model.py), run it on a deterministic input,
// show the logits, softmax and a table of the model's size and latency per call (timed over
// batches of calls: timing.mjs says why).
import { load } from "../../csrc/js/loader.mjs";
import { formatMs, timeBatch, timeBatches, timerStepMs } from "./timing.mjs";

const $ = (id) => document.getElementById(id);

// The same pattern as make_model.demo_input(): exact arithmetic, so the floats match Python's.
function demoInput(size) {
  return Float32Array.from({ length: size }, (_, i) => ((i * 37) % 101) / 50 - 1);
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

function latencyTable(rows) {
  const table = document.createElement("table");
  const head = table.insertRow();
  for (const h of ["model", "file", "weights and constants", "per call (median)", "range over batches",
                   "calls timed"]) head.appendChild(document.createElement("th")).textContent = h;
  for (const r of rows) {
    const row = table.insertRow();
    cell(row, r.name);
    cell(row, kib(r.fileBytes), "num");
    cell(row, kib(r.weightsBytes), "num");
    const median = cell(row, formatMs(r.timing.medianMs), "num per-call");
    median.dataset.ms = String(r.timing.medianMs);
    cell(row, `${formatMs(r.timing.minMs)} – ${formatMs(r.timing.maxMs)}`, "num");
    const calls = r.timing.batches.reduce((n, b) => n + b.calls, 0);
    cell(row, `${calls.toLocaleString("en")} in ${r.timing.batches.length} batches`, "num");
  }
  return table;
}

async function main() {
  const t0 = performance.now();
  const url = new URL("model.wasm", import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  const model = await load(bytes);
  const loadMs = performance.now() - t0;
  const [input] = model.inputs;
  const m = model.manifest;
  $("model").textContent = `Input "${input.name}": [${input.shape.join(", ")}] ${input.dtype}; ` +
    `${kib(bytes.byteLength)} file, ${kib(m.memory.weights_bytes)} of weights and constants, ` +
    `${m.memory.pages} pages of memory; built with torch ${m.tools.torch}. ` +
    `Fetched and compiled in ${loadMs.toFixed(1)} ms.`;

  const x = demoInput(input.size);
  const first = model.run([x]);
  const firstMs = model.lastRunMs;
  timeBatch(() => model.run([x]), 100); // untimed: lets the engine tier the code up first
  const timing = timeBatches(() => model.run([x]), { batches: 5, minMs: 100 });
  const outputs = model.run([x]);
  const logits = Array.from(outputs[0].data);
  if (JSON.stringify(Array.from(first[0].data)) !== JSON.stringify(logits)) throw new Error("runs disagree");

  const peak = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - peak));
  const total = exps.reduce((a, b) => a + b, 0);
  const table = $("output");
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ["class", "logit", "softmax", ""]) head.appendChild(document.createElement("th")).textContent = h;
  logits.forEach((v, k) => {
    const row = table.insertRow();
    if (v === peak) row.className = "best";
    cell(row, String(k), "num");
    cell(row, v.toPrecision(6), "num logit");
    cell(row, (exps[k] / total).toFixed(4), "num");
    cell(row, "").appendChild(Object.assign(document.createElement("span"), { className: "bar" }))
      .style.width = `${(200 * exps[k]) / total}px`;
  });
  const note = Object.assign(document.createElement("p"), { className: "note" });
  note.textContent = `Per call = elapsed time / calls, over ${timing.batches.length} batches of at least 100 ms ` +
    "each; a call copies the input in and the output out (model.run). performance.now() moves in steps of " +
    `${formatMs(timerStepMs())} here (cross-origin isolated: ${globalThis.crossOriginIsolated ? "yes" : "no"}), ` +
    `too coarse to time one call. The first call took ${formatMs(firstMs)}.`;
  $("latency").replaceChildren(latencyTable([{ name: "model.wasm", fileBytes: bytes.byteLength,
                                               weightsBytes: m.memory.weights_bytes, timing }]), note);
  $("status").textContent = `ok: output "${outputs[0].name}": [${outputs[0].shape.join(", ")}], ` +
    `argmax ${logits.indexOf(peak)}`;
}

main().catch((e) => {
  const status = $("status");
  status.className = "error";
  status.textContent = `error: ${e.message}` +
    (/HTTP 404/.test(e.message) ? "\nRun python examples/browser/make_model.py to write model.wasm first." : "");
});
