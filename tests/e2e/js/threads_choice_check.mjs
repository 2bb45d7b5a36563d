// node threads_choice_check.mjs MODEL.wasm INPUT.bin EXPECTED.bin CALLS N
// Loads MODEL (one float32 input) with {threads: N} and with {threads: N, threadsAdaptive:
// false}, runs CALLS calls of each and prints a JSON line {results: [{adaptive, threads, used,
// woken, calls: [true|false, ...]}], badOption}: model.threadsUsed after the calls, how many
// calls woke the workers (the job counter GO, bytes 8..11 of the shared memory:
// csrc/wat/barrier.wat), whether each call's output bytes equal EXPECTED.bin, and the error
// that load() gives for threadsAdaptive: "yes".
import { readFile } from "node:fs/promises";
import { load } from "../../../csrc/js/loader.mjs";

const [modelPath, inputPath, expectedPath, callCount, count] = process.argv.slice(2);
const bytes = await readFile(inputPath);
const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const want = new Uint8Array(await readFile(expectedPath));
const results = [];
for (const adaptive of [true, false]) {
  const model = await load(modelPath, { threads: Number(count), threadsAdaptive: adaptive });
  const calls = [];
  for (let r = 0; r < Number(callCount); r++) {
    const [out] = model.run([x]);
    const got = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
    calls.push(got.length === want.length && got.every((b, i) => b === want[i]));
  }
  const woken = new Int32Array(model.memory.buffer, 0, 4)[2];
  results.push({ adaptive, threads: model.threads, used: model.threadsUsed, woken, calls });
  model.close();
}
let badOption = null;
try {
  await load(modelPath, { threads: 2, threadsAdaptive: "yes" });
} catch (e) {
  badOption = `${e.name}: ${e.message}`;
}
console.log(JSON.stringify({ results, badOption }));
