// Shared by run_ort.mjs and run_ours.mjs: argument parsing, input files, timing, statistics
// and the line protocol that benchmarks/peers/test_peers.py drives.
//
// An engine is `{ info, run, drain? }`: `run()` runs the model once on the inputs given at
// start-up and returns its outputs as [{ name, shape, dtype, data }] (or a promise of them),
// `info` is a JSON-able description, and `drain()` (optional) returns and forgets per-call
// figures the engine measured itself since the last drain (e.g. {forward_ms: [...]}).
// Timing is wall time of `run()` with performance.now(): it includes copying the inputs into
// WebAssembly memory and the outputs out of it, for both engines, as a JavaScript caller sees it.
//
// Two modes:
//   one-shot (default): load, warm up, time --runs calls, print one JSON object
//     { engine, model, runs, medianMs, minMs, meanMs, warmupRuns, warmupMs, ... }
//   --serve: print {"ready": true, ...} then answer one JSON command per stdin line:
//     {"op": "warmup", "ms": 1000, "min_runs": 5}  -> {"runs": n, "ms": elapsed}
//     {"op": "time", "runs": k}                    -> {"times_ms": [k per-call times], ...drain()}
//     {"op": "batch", "calls": c}                  -> {"ms": wall time of c back-to-back calls}
//     {"op": "outputs", "dir": "/path"}            -> {"outputs": [{name, shape, dtype, file}]}
//     {"op": "quit"}                               -> exits
//   so that Python can interleave blocks of calls of several engines in one benchmark run.

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { timeBatch, warmup } from "./timing.mjs";

export const ARRAY_TYPES = {
  float32: Float32Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array,
};

const USAGE = `usage: node --no-liftoff SCRIPT MODEL --inputs SPEC.json [--runs N] [--warmup-ms MS]
       [--warmup-runs N] [--out DIR] [--variant auto|simd128|relaxed_simd] [--threads N] [--fixed-threads] [--serve]
SPEC.json: {"inputs": [{"name", "shape", "dtype", "file"}]}, each file the raw little-endian
C-contiguous bytes of one input (written by benchmarks/peers/test_peers.py or export.py).`;

export function parseArgs(argv) {
  const args = { model: null, inputs: null, runs: 100, warmupMs: 2000, warmupRuns: 5, out: null, serve: false,
                 variant: undefined, threads: 1, threadsAdaptive: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === "--inputs") args.inputs = next();
    else if (a === "--runs") args.runs = Number(next());
    else if (a === "--warmup-ms") args.warmupMs = Number(next());
    else if (a === "--warmup-runs") args.warmupRuns = Number(next());
    else if (a === "--out") args.out = next();
    else if (a === "--serve") args.serve = true;
    else if (a === "--variant") args.variant = next(); // run_ours.mjs: which code of the artifact runs
    else if (a === "--threads") args.threads = Number(next()); // threads per call (ORT: numThreads)
    else if (a === "--fixed-threads") args.threadsAdaptive = false; // ours: every call on --threads (no measured choice)
    else if (a === "-h" || a === "--help") { console.log(USAGE); process.exit(0); }
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else if (args.model === null) args.model = a;
    else throw new Error(`unexpected argument ${a}\n${USAGE}`);
  }
  if (args.model === null || args.inputs === null) throw new Error(USAGE);
  if (!(args.runs >= 1)) throw new Error("--runs must be >= 1");
  if (!Number.isInteger(args.threads) || args.threads < 1) throw new Error("--threads must be an integer >= 1");
  return args;
}

/** [{ name, shape, dtype, data }] from an input spec file (paths relative to it or absolute). */
export function readInputs(specPath) {
  const spec = JSON.parse(readFileSync(specPath, "utf8"));
  return spec.inputs.map((s) => {
    const Type = ARRAY_TYPES[s.dtype];
    if (!Type) throw new Error(`input ${s.name}: unsupported dtype ${s.dtype}`);
    const bytes = readFileSync(s.file);
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (bytes.byteLength !== size * Type.BYTES_PER_ELEMENT) {
      throw new Error(`input ${s.name}: ${s.file} holds ${bytes.byteLength} bytes, shape ${JSON.stringify(s.shape)} ` +
                      `${s.dtype} needs ${size * Type.BYTES_PER_ELEMENT}`);
    }
    // copy into a fresh, aligned buffer (Buffer views may be unaligned slices of a pool)
    const data = new Type(size);
    new Uint8Array(data.buffer).set(bytes);
    return { name: s.name, shape: s.shape, dtype: s.dtype, data };
  });
}

export function stats(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[n >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { runs: n, medianMs: median, minMs: sorted[0], meanMs: times.reduce((a, b) => a + b, 0) / n };
}

const isPromise = (x) => typeof x?.then === "function";

/** Per-call wall times (ms) of `count` calls. A synchronous run() is not awaited (an await
 *  would add a microtask turn to every call), an asynchronous one is. */
export async function timeRuns(run, count) {
  const times = new Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const r = run();
    if (isPromise(r)) await r;
    times[i] = performance.now() - t0;
  }
  return times;
}

export function writeOutputs(outputs, dir) {
  mkdirSync(dir, { recursive: true });
  return outputs.map((o, i) => {
    const file = join(dir, `output${i}.bin`);
    writeFileSync(file, new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength));
    return { name: o.name, shape: o.shape, dtype: o.dtype, file };
  });
}

function engineHeader(engineName) {
  return { engine: engineName, node: process.version, v8: process.versions.v8, execArgv: process.execArgv };
}

async function serve(engine, engineName) {
  const send = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  send({ ready: true, ...engineHeader(engineName), ...engine.info });
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let cmd;
    try {
      cmd = JSON.parse(line);
      if (cmd.op === "quit") break;
      if (cmd.op === "warmup") send(await warmup(engine.run, cmd.ms ?? 1000, cmd.min_runs ?? 5));
      else if (cmd.op === "time") {
        engine.drain?.();
        const times_ms = await timeRuns(engine.run, cmd.runs ?? 1);
        send({ times_ms, ...(engine.drain?.() ?? {}) });
      }
      else if (cmd.op === "batch") send({ ms: await timeBatch(engine.run, cmd.calls ?? 1) });
      else if (cmd.op === "outputs") {
        let out = engine.run();
        if (isPromise(out)) out = await out;
        send({ outputs: writeOutputs(out, cmd.dir) });
      } else send({ error: `unknown op ${JSON.stringify(cmd.op)}` });
    } catch (e) {
      send({ error: String(e?.stack ?? e) });
    }
  }
  process.exit(0);
}

/** Entry point of both scripts: `makeEngine(args, inputs) -> Promise<engine>`. */
export async function main(engineName, makeEngine) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  const inputs = readInputs(args.inputs);
  const t0 = performance.now();
  const engine = await makeEngine(args, inputs);
  const loadMs = performance.now() - t0;
  engine.info = { ...engine.info, loadMs };
  if (args.serve) return serve(engine, engineName);

  const w = await warmup(engine.run, args.warmupMs, args.warmupRuns);
  engine.drain?.();
  const times = await timeRuns(engine.run, args.runs);
  const result = { ...engineHeader(engineName), model: args.model, ...engine.info, ...stats(times),
                   warmupRuns: w.runs, warmupMs: w.ms };
  for (const [key, values] of Object.entries(engine.drain?.() ?? {})) {
    const s = stats(values); // e.g. forward_ms -> forward_medianMs, forward_minMs
    result[`${key.replace(/_ms$/, "")}_medianMs`] = s.medianMs;
    result[`${key.replace(/_ms$/, "")}_minMs`] = s.minMs;
  }
  if (args.out) {
    let out = engine.run();
    if (isPromise(out)) out = await out;
    result.outputs = writeOutputs(out, args.out);
  }
  console.log(JSON.stringify(result));
}
