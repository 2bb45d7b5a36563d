// The runtime half of the npm consumer test: imports the installed package by name (through
// node_modules and its `exports` map, not a relative path), runs an artifact on raw input
// bytes and writes the raw output bytes.
//
//   node run.mjs model.wasm input.bin output.bin
//
// Prints JSON: {version, name, shape, dtype, errorName, errorMessage} where the error is what
// run() raises for an input of the wrong length (it must be an ArtifactError).
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { ArtifactError, load } from "torch-wasm-backend-loader";

const [artifact, inputPath, outputPath] = process.argv.slice(2);
const { version } = createRequire(import.meta.url)("torch-wasm-backend-loader/package.json");
const model = await load(artifact);
const bytes = await readFile(inputPath);
const x = new Float32Array(new Uint8Array(bytes).buffer); // a copy: aligned, whole buffer
const [y] = model.run([x]);
await writeFile(outputPath, new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength));

let error = null;
try {
  model.run([x.subarray(1)]);
} catch (e) {
  if (!(e instanceof ArtifactError)) throw e;
  error = e;
}
console.log(JSON.stringify({ version, name: y.name, shape: y.shape, dtype: y.dtype,
                             errorName: error?.name ?? null, errorMessage: error?.message ?? null }));
