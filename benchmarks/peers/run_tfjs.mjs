#!/usr/bin/env node
// Time a benchmark model in TF.js's WebAssembly backend (XNNPACK), single-threaded, in Node.
//
//   node --no-liftoff benchmarks/peers/run_tfjs.mjs DIR/cnn.tfjs.json --inputs inputs.json --runs 200
//
// MODEL is the JSON written by tfjs_export.py (its "model" field picks the builder in
// tfjs_models.mjs; the weights are the .bin beside it). Prints one JSON object like
// run_ort.mjs; --serve answers timing commands on stdin instead (see common.mjs).
//
// Timed: the model's ops under tf.tidy() on input tensors created once, then dataSync() of the
// output (copies out of WebAssembly memory included), like one session.run() of onnxruntime-web.
// The non-threaded SIMD binary: WASM_HAS_MULTITHREAD_SUPPORT=false before tf.setBackend("wasm").

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { main } from "./common.mjs";
import { createEngine, initBackend } from "./tfjs_models.mjs";

const require = createRequire(import.meta.url);
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-wasm");

await main("tfjs-wasm", async (args, inputs) => {
  const backend = await initBackend(tf);
  const spec = JSON.parse(readFileSync(args.model, "utf8"));
  const bin = readFileSync(join(dirname(args.model), spec.bin));
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const engine = createEngine(tf, spec, buffer, inputs);
  engine.info = { ...engine.info, ...backend };
  return engine;
});
