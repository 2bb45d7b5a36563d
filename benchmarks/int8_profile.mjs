// Every kernel of a compiled module timed alone in Node (benchmarks/int8_profile.py --node):
//
//   node --no-liftoff benchmarks/int8_profile.mjs module.wasm memory.bin REPS name...
//
// module.wasm exports "prof_<name>" for each kernel; memory.bin is the memory after one
// forward call, so every kernel finds its inputs in place (kernels are idempotent). Prints
// {name: microseconds per call} (best of 3 batches of REPS calls, wall time).
import { readFileSync } from "node:fs";

const [wasmPath, memPath, repsArg, ...names] = process.argv.slice(2);
const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), {});
const mem = readFileSync(memPath);
const memory = inst.exports.memory;
const grow = Math.ceil(mem.length / 65536) - memory.buffer.byteLength / 65536;
if (grow > 0) memory.grow(grow);
new Uint8Array(memory.buffer).set(mem);
const reps = Number(repsArg);
const out = {};
for (const name of names) {
  const f = inst.exports[`prof_${name}`];
  for (let i = 0; i < 3; i++) f();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  out[name] = best * 1e3;
}
console.log(JSON.stringify(out));
