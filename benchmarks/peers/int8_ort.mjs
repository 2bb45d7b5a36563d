#!/usr/bin/env node
// Our int8 artifact against onnxruntime-web running the same model quantized by
// onnxruntime's own quantize_dynamic (MatMulInteger / ConvInteger), both single-threaded in
// Node, same process, interleaved (benchmarks/int8_speed.py --ort):
//
//   node --no-liftoff benchmarks/peers/int8_ort.mjs ours_int8.wasm model_int8.onnx input.bin ROUNDS
//
// input.bin: the one float32 input's raw bytes. Both are warmed up (2 s each: ORT's large
// module must leave Liftoff code first), then ROUNDS alternating batches of about 20 ms are
// timed in process CPU time (descheduled time is not charged). Prints
// {ours_ms, ort_ms, ort_version, max_abs_diff} (medians per call; ORT's call includes its
// copies in and out, ours its own).
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { load } from "../../csrc/js/loader.mjs";

const [oursPath, onnxPath, inputPath, roundsArg] = process.argv.slice(2);
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = "error";
const ours = await load(oursPath);
const session = await ort.InferenceSession.create(onnxPath, {
  executionProviders: ["wasm"], graphOptimizationLevel: "all", executionMode: "sequential",
});
const bytes = readFileSync(inputPath);
const x = new Float32Array(bytes.byteLength / 4);
new Uint8Array(x.buffer).set(bytes);
const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", x, ours.inputs[0].shape) };
const runOurs = async () => ours.run([x]);
const runOrt = async () => session.run(feeds);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
const timed = async (run, reps) => {
  const t0 = cpu();
  for (let i = 0; i < reps; i++) await run();
  return (cpu() - t0) / reps;
};
const warm = async (run) => { const t0 = performance.now(); while (performance.now() - t0 < 2000) await run(); };
await warm(runOurs);
await warm(runOrt);
const repsOf = async (run) => Math.max(1, Math.round(20 / Math.max(1e-3, await timed(run, 3))));
const [repsOurs, repsOrt] = [await repsOf(runOurs), await repsOf(runOrt)];
const r = { ours: [], ort: [] };
for (let round = 0; round < Number(roundsArg || 15); round++) {
  r.ours.push(await timed(runOurs, repsOurs));
  r.ort.push(await timed(runOrt, repsOrt));
}
const a = (await runOurs())[0].data;
const b = (await runOrt())[session.outputNames[0]].data;
let diff = 0;
for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
const med = (v) => v.slice().sort((p, q) => p - q)[v.length >> 1];
console.log(JSON.stringify({ ours_ms: med(r.ours), ort_ms: med(r.ort), ort_version: ort.env.versions.web,
                             max_abs_diff: diff }));
