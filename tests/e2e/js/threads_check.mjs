// node threads_check.mjs MODEL.wasm INPUT.bin EXPECTED.bin N...
// Runs MODEL (one float32 input) with load(model, {threads: N}) for each N, three calls each,
// and prints a JSON line {results: [{threads, ran, calls: [true|false, ...], closed}], warnings: [...]}:
// whether each call's output bytes equal EXPECTED.bin, model.threads, what a run after
// model.close() threw (null: it did not throw), and the console warnings seen.
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
  model.close();
  let closed = null;
  try {
    model.run([x]);
  } catch (e) {
    closed = `${e.name}: ${e.message}`;
  }
  results.push({ threads: n, ran: model.threads, calls, closed });
}
console.log(JSON.stringify({ results, warnings }));
