// Every kernel of a compiled model timed alone in Node (V8): kernel_profile.py --node.
//   node --no-liftoff kernel_profile_node.mjs MODULE.wasm MEMORY.bin REPS NAME...
// MODULE.wasm is the model's module with one export per kernel ("prof_" + NAME); MEMORY.bin
// is its memory after one forward call, so every kernel finds its inputs in place. Each
// kernel runs once (warm-up), then REPS times in a row, best of 3 such runs. Prints one JSON
// object: {NAME: seconds per call}.
import { readFileSync } from "node:fs";

const [wasmPath, memPath, repsText, ...names] = process.argv.slice(2);
const reps = Number(repsText);
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const memory = instance.exports.memory;
const snapshot = readFileSync(memPath);
const pages = Math.ceil(snapshot.length / 65536) - memory.buffer.byteLength / 65536;
if (pages > 0) memory.grow(pages);
new Uint8Array(memory.buffer).set(snapshot);
const out = {};
for (const name of names) {
  const f = instance.exports["prof_" + name];
  f();
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9 / reps);
  }
  out[name] = best;
}
process.stdout.write(JSON.stringify(out) + "\n");
