// Runs threaded artifacts with csrc/js/loader.mjs in the browser at several thread counts and
// POSTs {ok, userAgent, crossOriginIsolated, warnings, results} to ?report=URL (what
// tests/e2e/test_browser_threads.py reads). The list at ?cases=URL: [{name, artifact (URL),
// inputs: [URL of raw bytes], threads: [N, ...], calls (default 3)}]; results[name][i] =
// {threads (the count asked for), ran (model.threads), used (model.threadsUsed after the calls),
// woken (calls that woke the workers: the job counter GO, bytes 8..11 of the memory), calls:
// [[{name, base64} per output] per call]}: several calls per count, so state left behind
// between calls shows. `warnings`: every console.warn.
import { load, ARRAY_TYPES } from "../../../csrc/js/loader.mjs";
import { base64, fetchOk } from "./page_util.mjs";

const warnings = [];
const warn = console.warn;
console.warn = (...args) => {
  warnings.push(args.map(String).join(" "));
  warn.apply(console, args);
};

async function runCase(c) {
  const out = [];
  for (const n of c.threads) {
    const model = await load(c.artifact, { threads: n, variant: "simd128" }); // the threaded code is SIMD128
    const inputs = [];
    for (const [i, spec] of model.inputs.entries()) {
      inputs.push(new ARRAY_TYPES[spec.dtype](await (await fetchOk(c.inputs[i])).arrayBuffer()));
    }
    const calls = [];
    for (let r = 0; r < (c.calls ?? 3); r++) {
      calls.push(model.run(inputs).map((o) => ({ name: o.name, base64: base64(o.data) })));
    }
    const woken = new Int32Array(model.memory.buffer, 0, 4)[2];
    out.push({ threads: n, ran: model.threads, used: model.threadsUsed, woken, calls });
    model.close();
  }
  return out;
}

const params = new URL(location.href).searchParams;
let report;
try {
  const cases = await (await fetchOk(params.get("cases"))).json();
  const results = {};
  for (const c of cases) results[c.name] = await runCase(c);
  report = { ok: true, userAgent: navigator.userAgent, crossOriginIsolated, warnings, results };
} catch (e) {
  report = { ok: false, crossOriginIsolated, warnings, error: `${e.name}: ${e.message}\n${e.stack}` };
}
document.getElementById("result").textContent = JSON.stringify(report);
if (params.get("report")) await fetch(params.get("report"), { method: "POST", body: JSON.stringify(report) });
