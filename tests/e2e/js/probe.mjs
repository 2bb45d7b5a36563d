// Drive csrc/js/loader.mjs from a test: load one artifact, make the calls a JSON file lists,
// print what each returned or threw.
//
//   node probe.mjs MODEL.wasm CALLS.json
//
// CALLS.json: [{method, inputs, options}], where method is "run", "runNamed" or
// "runStructured"; inputs is an array or an object keyed by input name of encoded values:
// {type: "Float32Array" | "Int32Array" | "BigInt64Array" | "Uint8Array" | "Array", data: [...]}
// (BigInt64Array and Array data may hold strings "123n", decoded as bigints). Prints one
// JSON line: {repr: {inputs, outputs}, results: [{value} | {error: {name, message, wasmFunction}}]}
// where typed arrays are encoded the same way (bigints as "123n").
import { readFile } from "node:fs/promises";
import { load } from "../../../csrc/js/loader.mjs";

const [modelPath, callsPath] = process.argv.slice(2);
const model = await load(modelPath);
const calls = JSON.parse(await readFile(callsPath, "utf8"));

const decodeItem = (v) => (typeof v === "string" && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v);

function decode(x) {
  if (Array.isArray(x)) return x.map(decode);
  if (x && typeof x === "object" && "type" in x && "data" in x) {
    const data = x.data.map(decodeItem);
    return x.type === "Array" ? data : globalThis[x.type].from(data);
  }
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, decode(v)]));
  return x;
}

function encode(x) {
  if (ArrayBuffer.isView(x)) {
    return { type: x.constructor.name, data: Array.from(x, (v) => (typeof v === "bigint" ? `${v}n` : v)) };
  }
  if (Array.isArray(x)) return x.map(encode);
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, encode(v)]));
  return x;
}

const results = [];
for (const { method, inputs, options } of calls) {
  try {
    results.push({ value: encode(model[method](decode(inputs), options)) });
  } catch (e) {
    results.push({ error: { name: e.name, message: e.message, wasmFunction: e.wasmFunction ?? null } });
  }
}
console.log(JSON.stringify({ inputs: model.inputs, outputs: model.outputs, results }));
