// Load each artifact given on the command line with csrc/js/loader.mjs and print, as one
// JSON line, what happened to each: {loaded: true} or {error: {name, message}}.
//
//   node load_errors.mjs A.wasm B.wasm ...
import { readFile } from "node:fs/promises";
import { load } from "../../../csrc/js/loader.mjs";

const results = [];
for (const path of process.argv.slice(2)) {
  try {
    await load(new Uint8Array(await readFile(path)));
    results.push({ loaded: true });
  } catch (e) {
    results.push({ error: { name: e.name, message: e.message } });
  }
}
console.log(JSON.stringify(results));
