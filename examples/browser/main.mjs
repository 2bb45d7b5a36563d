// Browser demo: load model.wasm (made by make_model.py), run it on a deterministic input,
// show the logits, softmax and latency.
import { load } from "../../csrc/js/loader.mjs";

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

async function main() {
  const t0 = performance.now();
  const model = await load(new URL("model.wasm", import.meta.url));
  const loadMs = performance.now() - t0;
  const [input] = model.inputs;
  const m = model.manifest;
  $("model").textContent = `Input "${input.name}": [${input.shape.join(", ")}] ${input.dtype}; ` +
    `${(m.memory.weights_bytes / 1024).toFixed(1)} KiB of weights, ${m.memory.pages} pages of memory; ` +
    `built with torch ${m.tools.torch}. Loaded and compiled in ${loadMs.toFixed(1)} ms.`;

  const x = demoInput(input.size);
  const first = model.run([x]);
  const firstMs = model.lastRunMs;
  const { outputs, meanMs, medianMs, times } = model.runTimed([x], { warmup: 5, repeat: 200 });
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
  $("latency").textContent = `forward(): mean ${meanMs.toFixed(3)} ms, median ${medianMs.toFixed(3)} ms ` +
    `over ${times.length} runs; first run ${firstMs.toFixed(3)} ms. (Browsers round performance.now() ` +
    "to 0.1 ms or coarser, so the mean is the figure to trust for a model this small.)";
  $("status").textContent = `ok: output "${outputs[0].name}": [${outputs[0].shape.join(", ")}], ` +
    `argmax ${logits.indexOf(peak)}`;
}

main().catch((e) => {
  const status = $("status");
  status.className = "error";
  status.textContent = `error: ${e.message}` +
    (/HTTP 404/.test(e.message) ? "\nRun python examples/browser/make_model.py to write model.wasm first." : "");
});
