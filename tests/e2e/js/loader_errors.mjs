// The JavaScript loader's messages for wrong inputs and for sources that are not artifacts,
// on the "mixed" model of tests/e2e/js/models.py (inputs x: float32[4, 6], idx: int64[5],
// mask: bool[4, 6], n: int32[5]).
//
//   node loader_errors.mjs MIXED.wasm
//
// Prints one JSON line {case: message or null (accepted)}; a message from an error other
// than ArtifactError starts with "NOT ArtifactError: ".
import { load, ArtifactError } from "../../../csrc/js/loader.mjs";

const [path] = process.argv.slice(2);
const model = await load(path);
const good = () => [new Float32Array(24), new BigInt64Array(5), new Uint8Array(24), new Int32Array(5)];
const byName = () => Object.fromEntries(good().map((v, i) => [model.inputs[i].name, v]));
const replace = (i, value) => () => { const a = good(); a[i] = value; return a; };
const cases = {
  length: replace(0, new Float32Array(23)),
  dtype: replace(0, new Float64Array(24)),
  int64AsInt32: replace(1, new Int32Array(5)), // widened
  int64AsFloat: replace(1, new Float32Array(5)),
  plainArray: replace(3, [1, 2, 3, 4, 5]),
  badBool: replace(2, new Uint8Array(24).fill(2)),
  count: () => good().slice(0, 3),
  missing: () => ({ x: new Float32Array(24) }),
  unknown: () => ({ ...byName(), y: new Float32Array(1) }),
};
const messages = {};
for (const [key, make] of Object.entries(cases)) {
  try {
    model.run(make());
    messages[key] = null;
  } catch (e) {
    messages[key] = (e instanceof ArtifactError ? "" : "NOT ArtifactError: ") + e.message;
  }
}
const sources = {
  notWasm: new Uint8Array([1, 2, 3, 4]),
  noManifest: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
  noFile: `${path}.missing`,
};
for (const [key, source] of Object.entries(sources)) {
  try {
    await load(source);
    messages[key] = null;
  } catch (e) {
    messages[key] = e.message;
  }
}
console.log(JSON.stringify(messages));
