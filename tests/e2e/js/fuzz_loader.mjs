// Fuzz csrc/js/loader.mjs with mutated and truncated artifacts and manifests.
//
//   node fuzz_loader.mjs ARTIFACT.wasm SEED COUNT
//
// A seeded loop (mulberry32) makes COUNT mutants of a real artifact: half rewrite the
// manifest (valid JSON with wrong values: a field replaced by a hostile or a plausible
// value, or deleted), half mutate the bytes (truncation, flipped or inserted bytes, garbage
// where the manifest was). Each mutant is loaded; what loads is run with the inputs its
// manifest asks for and with the original's, and a Trainer also steps and rewrites its
// weights. The only error allowed is ArtifactError; anything else (a TypeError, a
// RangeError from a view outside memory, ...) is reported as unexpected. A mutant whose code
// section changed is loaded but not run: mutated code may legitimately loop forever.
// Prints {rejected, loaded, ran, unexpected: [{mutation, error}]} as JSON.
import { readFile } from "node:fs/promises";
import { load, ArtifactError, ARRAY_TYPES, MANIFEST_SECTION } from "../../../csrc/js/loader.mjs";

const [path, seedArg = "1", countArg = "300"] = process.argv.slice(2);
const original = new Uint8Array(await readFile(path));
const count = Number(countArg);
const deadline = Date.now() + 60_000; // bounded time whatever the count

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(Number(seedArg));
const int = (n) => Math.floor(random() * n);
const pick = (list) => list[int(list.length)];

// ---- the binary format: sections, LEB128, the manifest section
function leb128(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function sections(wasm) { // [{id, start, end, nameEnd}] or null when malformed
  const out = [];
  let pos = 8;
  const u32 = () => {
    let result = 0, shift = 0, byte;
    do {
      if (pos >= wasm.length || shift > 28) throw new RangeError("bad LEB128");
      byte = wasm[pos++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  try {
    while (pos < wasm.length) {
      const sectionStart = pos, id = wasm[pos++], size = u32(), start = pos, end = start + size;
      if (end > wasm.length) return null;
      let name = null;
      if (id === 0) {
        const n = u32();
        name = new TextDecoder().decode(wasm.subarray(pos, pos + n));
      }
      out.push({ id, sectionStart, start, end, name });
      pos = end;
    }
  } catch {
    return null;
  }
  return out;
}

function withManifest(wasm, payload) {
  const kept = [wasm.subarray(0, 8)];
  for (const s of sections(wasm)) if (s.name !== MANIFEST_SECTION) kept.push(wasm.subarray(s.sectionStart, s.end));
  const name = new TextEncoder().encode(MANIFEST_SECTION);
  const body = [...leb128(name.length), ...name, ...payload];
  kept.push(Uint8Array.from([0, ...leb128(body.length), ...body]));
  const out = new Uint8Array(kept.reduce((n, part) => n + part.length, 0));
  let pos = 0;
  for (const part of kept) { out.set(part, pos); pos += part.length; }
  return out;
}

function codeOf(wasm) {
  const code = (sections(wasm) ?? []).filter((s) => s.id === 10);
  return code.length ? Array.from(wasm.subarray(code[0].start, code[0].end)).join(",") : null;
}

// ---- mutations
const manifestSection = sections(original).find((s) => s.name === MANIFEST_SECTION);
const manifestText = new TextDecoder().decode(
  original.subarray(manifestSection.start + 1 + MANIFEST_SECTION.length, manifestSection.end));
const manifest = JSON.parse(manifestText);

const HOSTILE = [null, true, false, 0, 1, -1, 2 ** 31, 2 ** 53, 2 ** 64, -(2 ** 63), 0.5, 1e308, "", "s0", "x",
  "bfloat16", [], {}, [1, -1], { poly: [[2 ** 60, { s0: 8 }]] }, { poly: [[1, { s0: 99 }]] }, { poly: [[-5, {}]] },
  { tensor: 99 }, { dict: [["a", { tensor: 0 }], ["a", { tensor: 0 }]] }, [[[[[[[[[[]]]]]]]]]], "__proto__",
  { __proto__: null, poly: [] }, "constructor", { toString: 1 }];

function paths(value, prefix = []) {
  const out = [prefix];
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(...paths(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
    }
  }
  return out;
}
const PATHS = paths({ ...manifest, traps: { pointwise0: "a message" },
                      output_tree: { tuple: manifest.outputs.map((_, k) => ({ tensor: k })) } });

function near(value) { // plausible wrong values: they pass the type checks and test the bounds
  if (Number.isInteger(value)) return value - 8 + int(4096);
  return pick(["s0", ...(manifest.symbols ?? []).map((s) => s.name)]);
}

function mutateManifest() {
  let m = structuredClone({ ...manifest, traps: { pointwise0: "a message" },
                            output_tree: { tuple: manifest.outputs.map((_, k) => ({ tensor: k })) } });
  const n = 1 + int(2);
  const done = [];
  for (let i = 0; i < n; i++) {
    const p = pick(PATHS);
    let parent = m;
    try {
      for (const key of p.slice(0, -1)) parent = parent[key];
      if (p.length === 0) { m = pick(HOSTILE); done.push("root"); continue; }
      const key = p[p.length - 1];
      if (parent === null || typeof parent !== "object" || !(key in parent)) continue;
      if (int(5) === 0) {
        if (Array.isArray(parent)) parent.splice(key, 1); else delete parent[key];
        done.push(`delete ${p.join(".")}`);
      } else {
        const value = int(2) ? pick(HOSTILE) : near(parent[key]);
        parent[key] = value;
        done.push(`${p.join(".")} = ${JSON.stringify(value)}`);
      }
    } catch {
      // the path went away with an earlier mutation
    }
  }
  return { bytes: withManifest(original, new TextEncoder().encode(JSON.stringify(m))), what: done.join("; ") };
}

function mutateBytes() {
  const how = pick(["truncate", "flip", "insert", "garbage"]);
  if (how === "truncate") {
    const n = int(original.length);
    return { bytes: original.slice(0, n), what: `truncate to ${n}` };
  }
  if (how === "garbage") {
    const junk = Uint8Array.from({ length: int(64) }, () => int(256));
    return { bytes: withManifest(original, junk), what: `manifest = ${junk.length} random bytes` };
  }
  const bytes = Array.from(original);
  const changes = [];
  for (let i = 0, n = 1 + int(8); i < n; i++) {
    const pos = int(bytes.length), byte = int(256);
    if (how === "flip") bytes[pos] = byte; else bytes.splice(pos, 0, byte);
    changes.push(`${pos}:${byte}`);
  }
  return { bytes: Uint8Array.from(bytes), what: `${how} ${changes.join(",")}` };
}

// ---- running what loads
function inputsFor(m, specs = m.inputs) {
  try {
    const sizes = Object.fromEntries((m.symbols ?? []).map((s) => [s.name, s.min]));
    return specs.map((s) => {
      const shape = s.shape.map((d) => (typeof d === "number" ? d : sizes[d]));
      const n = shape.reduce((a, b) => a * b, 1);
      if (!Number.isInteger(n) || n < 0 || n > 1 << 14) throw new RangeError("no inputs");
      return new (ARRAY_TYPES[s.dtype] ?? Float32Array)(n);
    });
  } catch {
    return null;
  }
}

const expected = (e) => e instanceof ArtifactError;
const report = { rejected: 0, loaded: 0, ran: 0, unexpected: [] };
const originalCode = codeOf(original);

for (let i = 0; i < count && Date.now() < deadline; i++) {
  const { bytes, what } = i % 2 ? mutateBytes() : mutateManifest();
  let model;
  try {
    model = await load(bytes);
  } catch (e) {
    if (expected(e)) report.rejected++;
    else report.unexpected.push({ mutation: what, error: `${e.name}: ${e.message}` });
    continue;
  }
  if (codeOf(bytes) !== originalCode) { report.loaded++; continue; }
  report.ran++;
  for (const inputs of [inputsFor(model.manifest), inputsFor(manifest)]) {
    if (!inputs) continue;
    try {
      model.run(inputs);
      model.runNamed(inputs);
      model.runStructured(inputs);
      const batch = model.trainStep ? inputsFor(model.manifest, model.manifest.train_step.inputs) : null;
      if (batch) {
        model.trainStep(batch.slice(0, -1), batch.at(-1));
        model.setWeights(model.getWeights());
      }
    } catch (e) {
      if (!expected(e)) report.unexpected.push({ mutation: what, error: `${e.name}: ${e.message}\n${e.stack}` });
    }
  }
}
console.log(JSON.stringify(report));
