// node threads_check.mjs MODEL.wasm INPUT.bin EXPECTED.bin N...
// Runs MODEL (one float32 input) with load(model, {threads: N}) for each N, three calls each,
// and prints a JSON line {results: [{threads, calls: [true|false, ...]}], warnings: [...]}:
// whether each call's output bytes equal EXPECTED.bin, and the console warnings seen.
import { readFile } from "node:fs/promises";
import { load } from "../../../csrc/js/loader.mjs";

const [modelPath, inputPath, expectedPath, ...counts] = process.argv.slice(2);
const warnings = [];
console.warn = (msg) => warnings.push(String(msg));
const bytes = await readFile(inputPath);
const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const want = new Uint8Array(await readFile(expectedPath));
const results = [];
for (const n of counts.map(Number)) {
  const model = await load(modelPath, { threads: n });
  const calls = [];
  for (let r = 0; r < 3; r++) {
    const [out] = model.run([x]);
    const got = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
    calls.push(got.length === want.length && got.every((b, i) => b === want[i]));
  }
  results.push({ threads: n, calls });
}
console.log(JSON.stringify({ results, warnings }));
