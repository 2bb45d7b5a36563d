// Runs saved artifacts with csrc/js/loader.mjs in the browser and writes their outputs into
// #result as JSON: {ok, userAgent, results: {case: {outputs: [{name, shape, dtype, base64}]}}},
// and POSTs the same JSON to ?report=URL when given (how tests/e2e/test_browser.py reads it).
// Each case of the list at ?cases=URL: {name, artifact (URL), inputs: [URL of raw bytes], source}
// where source picks how the artifact reaches load(): "url" (streaming compile when served as
// application/wasm), "response" (a Response with streaming off) or "buffer" (an ArrayBuffer);
// and optionally variant (load()'s option). Each result says which variant ran.
import { load, ARRAY_TYPES } from "../../../csrc/js/loader.mjs";
import { base64, fetchOk } from "./page_util.mjs";

const result = document.getElementById("result");

async function runCase(c) {
  let source = c.artifact;
  if (c.source === "response") source = await fetchOk(c.artifact);
  if (c.source === "buffer") source = await (await fetchOk(c.artifact)).arrayBuffer();
  const model = await load(source, { streaming: c.source !== "response", variant: c.variant });
  const inputs = [];
  for (const [i, spec] of model.inputs.entries()) {
    inputs.push(new ARRAY_TYPES[spec.dtype](await (await fetchOk(c.inputs[i])).arrayBuffer()));
  }
  const outputs = model.run(inputs);
  return {
    lastRunMs: model.lastRunMs,
    variant: model.variant,
    outputs: outputs.map((o) => ({ name: o.name, shape: o.shape, dtype: o.dtype, base64: base64(o.data) })),
  };
}

const params = new URL(location.href).searchParams;
let report;
try {
  const cases = await (await fetchOk(params.get("cases"))).json();
  const results = {};
  for (const c of cases) results[c.name] = await runCase(c);
  report = { ok: true, userAgent: navigator.userAgent, results };
} catch (e) {
  report = { ok: false, error: `${e.name}: ${e.message}\n${e.stack}` };
}
result.textContent = JSON.stringify(report);
if (params.get("report")) await fetch(params.get("report"), { method: "POST", body: result.textContent });
