// node threads_choice_check.mjs MODEL.wasm INPUT.bin EXPECTED.bin CALLS N
// Loads MODEL (one float32 input) with {threads: N}, with {threads: N, threadsAdaptive: false},
// and with {threads: N} whose calls on N threads are made 2 ms slower after the first (a busy
// wait after the real run: what a host with no free core does); runs CALLS calls of each and
// prints a JSON line {results: [{adaptive, threads, used, woken, calls: [true|false, ...]}],
// badOption, rule}: model.threadsUsed after the calls, how many calls woke the workers (the
// job counter GO, bytes 8..11 of the shared memory: csrc/wat/barrier.wat), whether each
// call's output bytes equal EXPECTED.bin; the error load() gives for threadsAdaptive: "yes";
// and ThreadChoice's choices for given call times (2 threads faster, 1 faster, a tie, two
// zero readings, after a re-check when the faster count changed, and after the chosen count
// drifted slower).
import { readFile } from "node:fs/promises";
import { load } from "../../../csrc/js/loader.mjs";
import { ThreadChoice } from "../../../csrc/js/threads.mjs";

const [modelPath, inputPath, expectedPath, callCount, count] = process.argv.slice(2);
const bytes = await readFile(inputPath);
const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const want = new Uint8Array(await readFile(expectedPath));
const n = Number(count);

const busyWait = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

const results = [];
for (const [adaptive, slow] of [[true, false], [false, false], [true, true]]) {
  const model = await load(modelPath, { threads: n, threadsAdaptive: adaptive });
  const calls = [];
  for (let r = 0; r < Number(callCount); r++) {
    const [out] = model.run([x]);
    const got = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
    calls.push(got.length === want.length && got.every((b, i) => b === want[i]));
    if (slow && r === 0) {
      const runner = model._threaded.runner;
      const real = runner.run;
      runner.run = (k) => {
        real(k);
        if (k === n) busyWait(2);
      };
    }
  }
  const woken = new Int32Array(model.memory.buffer, 0, 4)[2];
  results.push({ adaptive, threads: model.threads, used: model.threadsUsed, woken, calls });
  model.close();
}
let badOption = null;
try {
  await load(modelPath, { threads: 2, threadsAdaptive: "yes" });
} catch (e) {
  badOption = `${e.name}: ${e.message}`;
}

const drive = (choice, ms, calls) => {
  for (let i = 0; i < calls; i++) {
    const k = choice.count();
    choice.record(k, ms[k]);
  }
  return choice.used;
};
const rule = {};
for (const [name, ms] of Object.entries({
  faster2: { 1: 100, 2: 60 }, faster1: { 1: 100, 2: 140 }, tie: { 1: 100, 2: 96 }, zeros: { 1: 0, 2: 0 },
})) {
  rule[name] = drive(new ThreadChoice(2), ms, 7);
}
const c = new ThreadChoice(2);
const first = drive(c, { 1: 100, 2: 140 }, 7 + 64); // 64 calls of 100 ms: past RECHECK_MIN_MS too
rule.recheck = [first, drive(c, { 1: 100, 2: 50 }, 7)];
const d = new ThreadChoice(2);
const fast = drive(d, { 1: 100, 2: 0.1 }, 7);
drive(d, { 1: 0.2, 2: 0.4 }, 8); // 8 calls 4x slower than 2 threads' fastest: a trial at once
rule.drift = [fast, drive(d, { 1: 0.2, 2: 0.4 }, 6)];
console.log(JSON.stringify({ results, badOption, rule }));
