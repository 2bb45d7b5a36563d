// Loader semantics on the "mixed" model of tests/e2e/js/models.py: every kind of source
// gives the same output, outputs are fresh copies (never views of memory), specs, timing,
// and a file of another format version is refused.
//
//   node loader_semantics.mjs MIXED.wasm FUTURE.wasm
//
// Prints one JSON line: {<source kind>: first output as a list, unchanged, changed, fresh,
// kinds, specs, lastRunMs, timed, future}.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { load } from "../../../csrc/js/loader.mjs";

const [path, futurePath] = process.argv.slice(2);
const bytes = await readFile(path);
const sources = {
  path,
  fileUrl: pathToFileURL(path),
  fileUrlString: pathToFileURL(path).href,
  buffer: bytes,
  arrayBuffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  response: new Response(bytes, { headers: { "content-type": "application/wasm" } }),
  responseOctet: new Response(bytes, { headers: { "content-type": "application/octet-stream" } }),
};
const x = Float32Array.from({ length: 24 }, (_, i) => i - 11.5);
const inputs = [x, BigInt64Array.from([1n, 2n, 3n, -4n, 5n]), new Uint8Array(24).fill(1), new Int32Array(5)];
const result = {};
for (const [key, source] of Object.entries(sources)) {
  const model = await load(source);
  result[key] = Array.from(model.run(inputs)[0].data);
}
const model = await load(path);
const first = model.run(inputs);
const keep = Array.from(first[0].data);
inputs[0] = new Float32Array(24).fill(7);
const second = model.run(inputs);
result.unchanged = JSON.stringify(Array.from(first[0].data)) === JSON.stringify(keep);
result.changed = JSON.stringify(Array.from(second[0].data)) !== JSON.stringify(keep);
result.fresh = first[0].data.buffer !== model.memory.buffer && second[0].data.buffer !== first[0].data.buffer;
result.kinds = second.map((o) => o.data.constructor.name);
result.specs = { inputs: model.inputs, outputs: model.outputs };
result.lastRunMs = model.lastRunMs;
const timed = model.runTimed(inputs, { warmup: 1, repeat: 5 });
result.timed = { ...timed, outputs: timed.outputs.length };
try {
  await load(futurePath);
  result.future = null;
} catch (e) {
  result.future = e.message;
}
console.log(JSON.stringify(result));
