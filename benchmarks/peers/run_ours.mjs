#!/usr/bin/env node
// Time a torch_wasm_backend artifact (the .wasm written by torch_wasm_backend.save) in Node,
// through the project's own JavaScript loader, csrc/js/loader.mjs.
//
//   node --no-liftoff [--experimental-wasm-relaxed-simd] benchmarks/peers/run_ours.mjs model.wasm \
//        --inputs inputs.json --runs 200 [--variant simd128|relaxed_simd] [--threads N]
//
// Prints one JSON object (median/min/mean ms per call; also forward_medianMs, the forward()
// call alone as the loader's lastRunMs measures it); --serve answers timing commands on stdin
// instead (see common.mjs).
//
// Timed: `model.run(arrays)`: inputs copied into linear memory, forward(), outputs copied out
// (the loader's ordinary use), the same work as one onnxruntime-web session.run().
// --threads N: load(model, {threads: N}), the artifact's threaded variant (save(..., threads=True))
// on N - 1 worker threads plus this one; info.threads says how many ran. --fixed-threads: every
// call on N (threadsAdaptive: false), else the loader's measured choice of 1 or N
// (drain() reports threadsUsed, the count it chose).

import { fileURLToPath } from "node:url";
import { main } from "./common.mjs";

const LOADER = new URL("../../csrc/js/loader.mjs", import.meta.url);
const { load } = await import(LOADER.href);

await main("torch_wasm_backend", async (args, inputs) => {
  const model = await load(args.model, { variant: args.variant, threads: args.threads,
                                          threadsAdaptive: args.threadsAdaptive });
  const arrays = inputs.map((x) => x.data);
  model.inputs.forEach((s, i) => {
    if (!inputs[i] || JSON.stringify(s.shape) !== JSON.stringify(inputs[i].shape)) {
      throw new Error(`${args.model}: input ${i} (${s.name}) has shape ${JSON.stringify(s.shape)}, ` +
                      `given ${JSON.stringify(inputs[i]?.shape)}`);
    }
  });
  let forwardMs = [];
  const run = () => {
    const out = model.run(arrays);
    forwardMs.push(model.lastRunMs); // forward() alone, without the copies in and out
    return out;
  };
  const drain = () => {
    const out = { forward_ms: forwardMs, threads_used: model.threadsUsed };
    forwardMs = [];
    return out;
  };
  return {
    run,
    drain,
    info: {
      loader: fileURLToPath(LOADER),
      inputNames: model.inputs.map((s) => s.name), outputNames: model.outputs.map((s) => s.name),
      memoryBytes: model.memory.buffer.byteLength, variant: model.variant, threads: model.threads,
    },
  };
});
