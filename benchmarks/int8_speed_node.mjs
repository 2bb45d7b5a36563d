// int8 vs float32 artifacts in Node (benchmarks/int8_speed.py --node): warm up, then
// alternate timed batches of calls; prints {int8_ms, f32_ms} (medians per call, CPU time).
import { load } from "../csrc/js/loader.mjs";

const [int8Path, f32Path, roundsArg] = process.argv.slice(2);
const q = await load(int8Path);
const f = await load(f32Path);
const x = new Float32Array(q.inputs[0].size).map(() => Math.random() * 2 - 1);
// CPU time of the process (user + system, µs), not wall time: descheduled time on the shared
// machine is not charged to whichever model runs (V8's helper threads are idle once warm)
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
const time = (m, reps) => {
  const t0 = cpu();
  for (let i = 0; i < reps; i++) m.run([x]);
  return (cpu() - t0) / reps;
};
const reps = Math.max(1, Math.round(20 / Math.max(1e-3, time(f, 3))));  // about 20 ms per batch
for (let i = 0; i < 30; i++) { q.run([x]); f.run([x]); }
const r = { int8: [], f32: [] };
for (let round = 0; round < Number(roundsArg || 15); round++) {
  r.int8.push(time(q, reps));
  r.f32.push(time(f, reps));
}
const med = (a) => a.slice().sort((u, v) => u - v)[a.length >> 1];
console.log(JSON.stringify({ int8_ms: med(r.int8), f32_ms: med(r.f32) }));
