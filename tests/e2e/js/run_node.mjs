// Run a torch_wasm_backend artifact in Node with csrc/js/loader.mjs.
//
//   node run_node.mjs [--variant=auto|simd128|relaxed_simd] MODEL.wasm OUT_DIR [INPUT.bin ...]
//
// Each INPUT.bin holds one input's raw bytes (C-contiguous, little-endian), in manifest
// order. Writes OUT_DIR/<output name>.bin with each output's raw bytes and prints a JSON
// line {inputs, outputs: [{name, shape, dtype, file, bytes}], lastRunMs, variant} on stdout
// (variant: the code that ran, "simd128" or "relaxed_simd").
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { load, ARRAY_TYPES } from "../../../csrc/js/loader.mjs";

const args = process.argv.slice(2);
const variant = args[0]?.startsWith("--variant=") ? args.shift().slice("--variant=".length) : undefined;
const [modelPath, outDir, ...inputPaths] = args;
if (!modelPath || !outDir) {
  console.error("usage: node run_node.mjs MODEL.wasm OUT_DIR [INPUT.bin ...]");
  process.exit(2);
}
const model = await load(modelPath, { variant });
const inputs = {};
for (const [i, spec] of model.inputs.entries()) {
  const bytes = await readFile(inputPaths[i]);
  // Copy into a fresh ArrayBuffer: a Buffer's byteOffset need not be aligned for the type.
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  inputs[spec.name] = new ARRAY_TYPES[spec.dtype](buffer);
}
const outputs = model.run(inputs); // an object keyed by input name exercises the name path
const report = { inputs: model.inputs, outputs: [], lastRunMs: model.lastRunMs, variant: model.variant };
for (const out of outputs) {
  const file = path.join(outDir, `${out.name}.bin`);
  const d = out.data;
  await writeFile(file, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  report.outputs.push({ name: out.name, shape: out.shape, dtype: out.dtype, file, bytes: d.byteLength });
}
console.log(JSON.stringify(report));
