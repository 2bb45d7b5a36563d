#!/usr/bin/env node
// Time an ONNX model in onnxruntime-web's WebAssembly backend in Node, single-threaded unless
// --threads N (ort.env.wasm.numThreads = N: ORT's own threaded build on worker threads).
//
//   node --no-liftoff benchmarks/peers/run_ort.mjs model.onnx --inputs inputs.json --runs 200 [--threads 2]
//
// Prints one JSON object (median/min/mean ms per call, warm-up done, ORT version and
// settings); --serve answers timing commands on stdin instead (see common.mjs). Run Node with
// --no-liftoff: with V8's default tiering, short warm-ups measure ORT up to 10x too slow
// while its large module is still running Liftoff (baseline) code.
//
// Timed: `await session.run(feeds)` with the input tensors created once, outputs returned as
// new CPU tensors (ORT's ordinary use): copies in and out of WebAssembly memory included.

import * as ort from "onnxruntime-web";
import { main } from "./common.mjs";

await main("onnxruntime-web", async (args, inputs) => {
  ort.env.wasm.numThreads = args.threads; // default 1: one core, like the single-thread artifact
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  });
  if (session.inputNames.length !== inputs.length) {
    throw new Error(`${args.model} takes ${session.inputNames.length} inputs (${session.inputNames}), ` +
                    `${inputs.length} given`);
  }
  // inputs are matched by position (export.py names them like the artifact's inputs)
  const feeds = Object.fromEntries(session.inputNames.map((n, i) =>
    [n, new ort.Tensor(inputs[i].dtype, inputs[i].data, inputs[i].shape)]));
  const run = async () => {
    const res = await session.run(feeds);
    return session.outputNames.map((n) => ({ name: n, shape: [...res[n].dims], dtype: res[n].type,
                                             data: res[n].data }));
  };
  return {
    run,
    info: {
      ortVersion: ort.env.versions.web, numThreads: ort.env.wasm.numThreads,
      inputNames: session.inputNames, outputNames: session.outputNames,
    },
  };
});
