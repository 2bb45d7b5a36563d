// The Node half of benchmarks/i8_gemm_probe.py: the same module, kernels interleaved per
// round; prints {kernel: median ms per GEMM} (process CPU time).
//   node --no-liftoff i8_gemm_probe.mjs probe.wasm DIR f32,i8,... M K N REPS ROUNDS [PA,PB,PC]
import { readFileSync } from "node:fs";

const [wasmPath, dir, names, m, k, n, reps, rounds, addrs] = process.argv.slice(2);
const [pa, pb, pc] = JSON.parse(addrs);
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath));
const mem = new Uint8Array(instance.exports.memory.buffer);
const list = names.split(",");
const data = Object.fromEntries(list.map((nm) => [nm, [readFileSync(`${dir}/${nm}_a.bin`),
                                                       readFileSync(`${dir}/${nm}_b.bin`)]]));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
const run = (nm, r) => {
  mem.set(data[nm][0], pa);
  mem.set(data[nm][1], pb);
  const t0 = cpu();
  instance.exports[nm](r, pa, pb, pc, +m, +n, +k);
  return (cpu() - t0) / r;
};
for (const nm of list) for (let i = 0; i < 20; i++) run(nm, Math.max(1, +reps >> 2));  // warm up (TurboFan)
const times = Object.fromEntries(list.map((nm) => [nm, []]));
for (let r = 0; r < +rounds; r++) for (const nm of list) times[nm].push(run(nm, +reps));
const med = (a) => a.slice().sort((u, v) => u - v)[a.length >> 1];
console.log(JSON.stringify(Object.fromEntries(list.map((nm) => [nm, med(times[nm])]))));
