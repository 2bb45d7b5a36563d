#!/usr/bin/env node
// The register-only SIMD128 peak (csrc/wat/f32_peak.wat) in Node, through common.mjs, so
// shipping.py times it in the same rounds as the models and reports GEMM speed as a fraction
// of it.
//
//   node --no-liftoff [--experimental-wasm-relaxed-simd] benchmarks/peers/run_peak.mjs \
//       peak.wasm --inputs peak.json --serve
//
// peak.wasm is built by shipping.py (f32_peak.wat plus exports peak_muladd / peak_fma);
// peak.json is {"inputs": [], "peak": {"export": "peak_muladd", "iters": N}}. One call of
// run() is one call of the export with N iterations (flops per iteration: see f32_peak.wat).

import { readFileSync } from "node:fs";
import { main } from "./common.mjs";

await main("peak", async (args) => {
  const { peak } = JSON.parse(readFileSync(args.inputs, "utf8"));
  const { instance } = await WebAssembly.instantiate(readFileSync(args.model), {});
  const fn = instance.exports[peak.export];
  if (typeof fn !== "function") throw new Error(`${args.model} has no export ${peak.export}`);
  const run = () => [{ name: "sum", shape: [1], dtype: "float32", data: new Float32Array([fn(peak.iters, 1.0)]) }];
  return { run, info: { export: peak.export, iters: peak.iters } };
});
