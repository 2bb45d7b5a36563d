// Train a trainable artifact in Node for a few steps and report what the Python test
// compares with torch_wasm_backend.load's trainer.
//
//   node train_node.mjs TRAINER.wasm DATA.json STEPS
//
// DATA.json: [[x (flat list), y (flat list)], ...], one pair per batch, used in turn. Then a
// federated-averaging round trip: halve every parameter, write back, read again; a wrong
// length is refused; the eval forward runs on the first batch. Prints one JSON line
// {losses, bias, halved, names, err, out}.
import { readFile } from "node:fs/promises";
import { load } from "../../../csrc/js/loader.mjs";

const [path, dataPath, stepsArg] = process.argv.slice(2);
const t = await load(path);
const data = JSON.parse(await readFile(dataPath, "utf8"));
const losses = [];
for (let s = 0; s < Number(stepsArg); s++) {
  const [x, y] = data[s % data.length];
  losses.push(t.trainStep(Float32Array.from(x), Float32Array.from(y)));
}
const w = t.getWeights("param:");
const halved = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.map((e) => e / 2)]));
t.setWeights(halved);
const again = t.getWeights("param:");
let err = null;
try {
  t.setWeights({ "param:0.bias": new Float32Array(3) });
} catch (e) {
  err = e.message;
}
const out = t.run([Float32Array.from(data[0][0])])[0].data;
console.log(JSON.stringify({ losses, bias: Array.from(w["param:0.bias"]), halved: Array.from(again["param:0.bias"]),
                             names: t.state.map((s) => s.name), err, out: Array.from(out) }));
