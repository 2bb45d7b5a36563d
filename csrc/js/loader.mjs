// Loader for torch_wasm_backend artifacts: one self-describing .wasm file written by
// torch_wasm_backend.save(). Works in browsers and Node (>= 18), no dependencies.
//
//   import { load } from "./loader.mjs";
//   const model = await load("model.wasm");
//   const [y] = model.run([new Float32Array(model.inputs[0].size)]);   // outputs by position
//   const { logits } = model.runNamed({ x });                          // outputs by name
//
// The module imports nothing and exports `memory`, `forward` and `prepare`; the weights are
// baked into a data segment. A custom section holds a JSON manifest with the byte offset,
// shape and dtype of every input and output. Running = write each input (C-contiguous) at
// its offset, call forward(), copy each output out as a strided view at its offset.
// Reference semantics: torch_wasm_backend/runtime/artifact.py and runtime/manifest.py.
//
// The file is untrusted: checkManifest() checks every field the loader reads (types,
// ranges, symbol references, dtypes, exports) and checkExtents() checks that every tensor
// lies inside linear memory for the sizes of a call, before any view of memory is made.
// Errors are ArtifactErrors naming the field (`invalid manifest: outputs[1].strides[0]: ...`).
// A trap inside forward() becomes an ArtifactError with the manifest's message for the
// function that trapped (manifest.traps, e.g. "embedding: index out of range [0, 50)").
//
// An artifact may carry a relaxed-SIMD (FMA) variant of its code beside the SIMD128 module
// (manifest.variants.relaxed_simd; format and checks: runtime/variants.py, variant.mjs here).
// load() runs it where WebAssembly.validate accepts relaxed SIMD (Chromium, Node >= 22, Node
// 20 with --experimental-wasm-relaxed-simd, Firefox) and the SIMD128 module elsewhere (e.g.
// Safari); load(src, {variant: "simd128" | "relaxed_simd"}) forces one. model.variant says
// which runs. Its results differ from the SIMD128 module's by rounding.
//
// A trainable artifact (torch_wasm_backend.save_training) loads as a Trainer: a Model whose
// run() is the eval-mode forward, plus trainStep(inputs, target) (forward, loss, backward
// and optimizer update inside WebAssembly; returns the loss), getWeights() and
// setWeights(weights) (state tensors by name, e.g. for federated averaging).

export const MANIFEST_SECTION = "torch_wasm_backend.manifest";
export const FORMAT_VERSION = 1;
export const ARRAY_TYPES = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array };

export class ArtifactError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "ArtifactError";
  }
}

const isNode = typeof process !== "undefined" && !!process.versions?.node;
const now = () => (globalThis.performance ?? Date).now();
const product = (shape) => shape.reduce((a, b) => a * b, 1);
const fmtShape = (shape) => `[${shape.join(", ")}]`;
const kindOf = (x) => (x === null ? "null" : x?.constructor?.name ?? typeof x);

async function compileResponse(response, options) {
  if (!response.ok) {
    throw new ArtifactError(`could not fetch ${response.url || "the artifact"}: HTTP ${response.status}`);
  }
  const type = response.headers.get("content-type") || "";
  // Streaming compiles the whole file as it is, so only where no variant has to be chosen.
  if (options.streaming !== false && options.variant === "simd128" &&
      typeof WebAssembly.compileStreaming === "function" && type.split(";")[0].trim() === "application/wasm") {
    return { module: await WebAssembly.compileStreaming(response), variant: "simd128" };
  }
  return compileBytes(await response.arrayBuffer(), options); // choose a variant, or no streaming API
}

/** {module, variant}: the compiled code and which variant it is (undefined: as the manifest says). */
async function compileSource(source, options) {
  if (typeof source?.then === "function") source = await source; // e.g. load(fetch(url))
  if (source instanceof WebAssembly.Module) return { module: source, variant: undefined };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return compileBytes(source, options);
  if (typeof Response !== "undefined" && source instanceof Response) return compileResponse(source, options);
  const isUrl = source instanceof URL;
  if (!isUrl && typeof source !== "string") {
    throw new ArtifactError(`load(): expected a URL, path, ArrayBuffer, typed array or Response, ` +
                            `got ${kindOf(source)}`);
  }
  if (isNode) { // a path or file: URL is read from disk; http(s) goes through fetch
    const hasScheme = isUrl || /^[a-z][a-z0-9+.-]+:/i.test(source);
    const url = hasScheme ? new URL(source) : null;
    if (!url || url.protocol === "file:") {
      const { readFile } = await import("node:fs/promises");
      return compileBytes(await readFile(url ?? source), options);
    }
  }
  return compileResponse(await fetch(source, options.fetch), options);
}

/** Load an artifact. `source`: URL string or URL, (in Node) a file path, ArrayBuffer, typed
 *  array, Response (or a promise of one) or WebAssembly.Module. Options: `variant` ("auto":
 *  the relaxed-SIMD variant where the engine accepts it, else the SIMD128 module; "simd128";
 *  "relaxed_simd"), `streaming` (default true: with variant "simd128", compile while
 *  downloading when served as application/wasm), `fetch` (a RequestInit), `threads` (> 1:
 *  the artifact's threaded variant of the SIMD128 code on Node worker threads). */
export async function load(source, options = {}) {
  if (options.variant !== undefined && !VARIANTS.includes(options.variant)) {
    throw new ArtifactError(`load(): variant ${show(options.variant)}: expected one of ${VARIANTS.join(", ")}`);
  }
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new ArtifactError(`threads must be an integer from 1 to 64, got ${threads}`);
  }
  if (threads > 1) { // the threaded variant is the SIMD128 code split over threads
    if (options.variant === "relaxed_simd") {
      throw new ArtifactError("load(): threads > 1 runs the threaded twin of the SIMD128 code; leave variant " +
                              "unset (or \"simd128\") to use threads");
    }
    options = { ...options, variant: "simd128" };
  }
  let module, variant;
  try {
    ({ module, variant } = await compileSource(source, options));
  } catch (e) {
    if (e instanceof ArtifactError || !(e instanceof WebAssembly.CompileError)) throw e;
    throw new ArtifactError(`the artifact does not compile: ${e.message} (artifacts need WebAssembly ` +
                            "SIMD128: Chrome/Edge 91+, Firefox 89+, Safari 16.4+, Node 16.4+)", { cause: e });
  }
  const manifest = checkManifest(parseManifest(module));
  const imports = WebAssembly.Module.imports(module);
  if (imports.length) {
    throw new ArtifactError(`the module imports ${imports.length} thing(s); an artifact imports nothing`);
  }
  const have = Object.fromEntries(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  const names = exportNames(manifest);
  const needed = { [names.memory]: "memory", [names.forward]: "function" };
  if (manifest.kind === "trainer") {
    Object.assign(needed, { [names.prepare]: "function", [names.train_step]: "function" });
  }
  for (const [name, kind] of Object.entries(needed)) {
    if (have[name] !== kind) {
      throw new ArtifactError(`the module does not export a ${kind} named "${name}" ` +
                              `(exports: ${Object.keys(have).join(", ")})`);
    }
  }
  let instance;
  try {
    instance = await WebAssembly.instantiate(module, {});
  } catch (e) { // e.g. a data segment outside memory
    throw new ArtifactError(`the artifact could not be instantiated: ${e.message}`, { cause: e });
  }
  const threaded = threads > 1 && manifest.kind !== "trainer" ? await startThreads(module, instance, names, threads)
    : null;
  const model = manifest.kind === "trainer" ? new Trainer(manifest, module, instance)
    : new Model(manifest, module, threaded ?? instance);
  /** Which code runs: "simd128" or "relaxed_simd" (the FMA variant, or a relaxed-only artifact). */
  model.variant = variant ?? (manifest.requires?.relaxed_simd ? "relaxed_simd" : "simd128");
  return model;
}

// --------------------------------------------------------------------------- code variants
// The same format and checks as torch_wasm_backend/runtime/variants.py: the custom section
// manifest.variants.relaxed_simd.section holds the FMA module without a data section; it
// runs with the SIMD128 module's data section spliced in after its code section.

export const RELAXED_SECTION = "torch_wasm_backend.relaxed_simd";
export const VARIANTS = ["auto", "simd128", "relaxed_simd"];
// (module (func (param v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 0) (local.get 0))))
const RELAXED_PROBE = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7b, 1, 0x7b, 3, 2, 1, 0,
  0x0a, 0x0d, 1, 0x0b, 0, 0x20, 0, 0x20, 0, 0x20, 0, 0xfd, 0x85, 2, 0x0b]);
const CODE = 10, DATA = 11, DATACOUNT = 12, IMPORT = 2, MEMORY = 5, EXPORT = 7;
let relaxedSupport;

/** Whether this engine accepts relaxed SIMD (WebAssembly.validate of a 35-byte module):
 *  Chromium, Firefox, Node >= 22, Node 20 with --experimental-wasm-relaxed-simd; not Safari. */
export function hasRelaxedSimd() {
  relaxedSupport ??= WebAssembly.validate(RELAXED_PROBE);
  return relaxedSupport;
}

function readU32(bytes, pos) {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= bytes.length) throw new ArtifactError("truncated WebAssembly module");
    const byte = bytes[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return [result, pos];
  }
  throw new ArtifactError("malformed WebAssembly module (a LEB128 number longer than 5 bytes)");
}

/** [{id, head, start, end, name}]: each section's first byte, payload start and end (custom: name). */
function wasmSections(bytes) {
  const magic = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) {
    throw new ArtifactError("not a WebAssembly module (bad magic number or version)");
  }
  const out = [];
  for (let pos = 8; pos < bytes.length;) {
    const head = pos, id = bytes[pos];
    const [size, start] = readU32(bytes, pos + 1);
    const end = start + size;
    if (end > bytes.length) throw new ArtifactError("truncated WebAssembly section");
    let name = null;
    if (id === 0) {
      const [n, p] = readU32(bytes, start);
      if (p + n > end) throw new ArtifactError("malformed WebAssembly module (a name runs past its section)");
      name = new TextDecoder().decode(bytes.subarray(p, p + n));
    }
    out.push({ id, head, start, end, name });
    pos = end;
  }
  return out;
}

const sectionBytes = (bytes, secs, id) => {
  const s = secs.find((x) => x.id === id);
  return s ? bytes.subarray(s.head, s.end) : new Uint8Array(0);
};
const sameBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

function exportList(bytes, secs) { // "name:kind" of each export, sorted
  const s = secs.find((x) => x.id === EXPORT);
  if (!s) return [];
  const out = [];
  let [count, pos] = readU32(bytes, s.start);
  for (; count > 0; count--) {
    let n;
    [n, pos] = readU32(bytes, pos);
    if (pos + n >= s.end) throw new ArtifactError("malformed WebAssembly export section");
    const name = new TextDecoder().decode(bytes.subarray(pos, pos + n));
    out.push(`${name}:${bytes[pos + n]}`);
    [, pos] = readU32(bytes, pos + n + 1);
  }
  return out.sort();
}

/** The FMA variant may differ from the SIMD128 module only in its code; throws an ArtifactError
 *  saying what is wrong. */
function checkVariant(main, mainSecs, variant) {
  const where = `the relaxed-SIMD variant (custom section "${RELAXED_SECTION}")`;
  let secs;
  try {
    secs = wasmSections(variant);
    exportList(variant, secs);
  } catch (e) {
    throw new ArtifactError(`${where} is not a valid WebAssembly module: ${e.message}`);
  }
  const ids = secs.map((s) => s.id);
  if (ids.includes(DATA)) {
    throw new ArtifactError(`${where} has a data section of its own; it must share the SIMD128 module's weights`);
  }
  const imports = secs.find((s) => s.id === IMPORT);
  if (imports && readU32(variant, imports.start)[0]) {
    throw new ArtifactError(`${where} imports something; an artifact imports nothing`);
  }
  if (!ids.includes(CODE)) throw new ArtifactError(`${where} has no code section`);
  for (const [id, what] of [[MEMORY, "memory"], [DATACOUNT, "data count"]]) {
    if (!sameBytes(sectionBytes(variant, secs, id), sectionBytes(main, mainSecs, id))) {
      throw new ArtifactError(`${where} declares another ${what} section than the SIMD128 module; the two must ` +
                              "share one memory layout");
    }
  }
  const have = exportList(variant, secs), want = exportList(main, mainSecs);
  if (have.join() !== want.join()) {
    throw new ArtifactError(`${where} exports ${have.join(", ")}, the SIMD128 module ${want.join(", ")}`);
  }
  const nested = [MANIFEST_SECTION, RELAXED_SECTION].filter((n) => secs.some((s) => s.name === n));
  if (nested.length) throw new ArtifactError(`${where} holds artifact sections of its own (${nested.join(", ")})`);
  return secs;
}

/** The runnable FMA module: the variant with the SIMD128 module's data section after its
 *  code section, and the manifest section (so the loader reads it from the compiled module). */
function splice(main, mainSecs, variant, secs) {
  const data = sectionBytes(main, mainSecs, DATA);
  const manifest = mainSecs.find((s) => s.name === MANIFEST_SECTION);
  const parts = [variant.subarray(0, 8)];
  for (const s of secs) {
    parts.push(variant.subarray(s.head, s.end));
    if (s.id === CODE) parts.push(data);
  }
  parts.push(main.subarray(manifest.head, manifest.end));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** The manifest as JSON from the file's bytes, or null when it cannot be read here (the
 *  loader then compiles the file as it is and reports the problem as usual). */
function rawManifest(bytes, secs) {
  const s = secs.find((x) => x.name === MANIFEST_SECTION);
  if (!s) return null;
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes.subarray(readU32(bytes, s.start)[1] + MANIFEST_SECTION.length,
                                                                  s.end)));
    return isObject(m) && m.format_version === FORMAT_VERSION ? checkManifest(m) : null;
  } catch (e) {
    if (e instanceof ArtifactError) throw e;
    return null;
  }
}

/** Compile the code to run from the file's bytes: {module, variant}. */
async function compileBytes(source, options) {
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source)
    : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  const requested = options.variant ?? "auto";
  let secs = null, manifest = null;
  try {
    secs = wasmSections(bytes);
  } catch {
    return { module: await WebAssembly.compile(bytes), variant: undefined }; // the engine's own error
  }
  manifest = rawManifest(bytes, secs);
  const entry = manifest?.variants?.relaxed_simd;
  const requires = manifest?.requires?.relaxed_simd === true;
  if (requires && requested === "simd128") {
    throw new ArtifactError("variant \"simd128\": this artifact was saved with relaxed_simd=True and has no " +
                            "SIMD128 module; save it again with relaxed_simd='both' or False");
  }
  if (!entry) {
    if (requested === "relaxed_simd" && !requires) {
      throw new ArtifactError("variant \"relaxed_simd\": this artifact has no relaxed-SIMD variant (saved with " +
                              "relaxed_simd=False, or it has no packed GEMM that FMA would change)");
    }
    return { module: await WebAssembly.compile(bytes), variant: undefined };
  }
  const sec = secs.find((s) => s.name === entry.section);
  if (!sec) {
    throw new ArtifactError(`the manifest declares a relaxed-SIMD variant in custom section "${entry.section}", ` +
                            "but the file has no such section (a truncated or edited artifact)");
  }
  const variant = bytes.subarray(readU32(bytes, sec.start)[1] + new TextEncoder().encode(entry.section).length, sec.end);
  if (variant.length !== entry.bytes) {
    throw new ArtifactError(`the relaxed-SIMD variant is ${variant.length} bytes, the manifest says ${entry.bytes} ` +
                            "(a truncated or edited artifact)");
  }
  const variantSecs = checkVariant(bytes, secs, variant); // a hostile variant is rejected whatever runs
  if (requested === "relaxed_simd" && !hasRelaxedSimd()) {
    throw new ArtifactError("variant \"relaxed_simd\": this engine does not accept relaxed SIMD (Node 20: run " +
                            "node --experimental-wasm-relaxed-simd; Safari has none)");
  }
  if (requested === "simd128" || !hasRelaxedSimd()) {
    return { module: await WebAssembly.compile(bytes), variant: "simd128" };
  }
  try {
    return { module: await WebAssembly.compile(splice(bytes, secs, variant, variantSecs)), variant: "relaxed_simd" };
  } catch (e) {
    if (!(e instanceof WebAssembly.CompileError)) throw e;
    throw new ArtifactError(`the relaxed-SIMD variant does not compile: ${e.message} (load it with ` +
                            "{variant: \"simd128\"} to run the SIMD128 module)", { cause: e });
  }
}

export const THREADED_SECTION = "torch_wasm_backend.threaded";

/** `threads` > 1: the artifact's threaded variant (saved with save(..., threads=True)) on
 *  `threads` threads over a shared memory that starts as a copy of the (prepared) single-thread
 *  instance's memory; thread 0 is the caller, the others Node worker threads (worker.mjs)
 *  parked in wasm between calls. Returns an instance-like {exports}, or null (one thread) when
 *  the artifact has no threaded variant or the host cannot run it, with one console warning
 *  saying why. Browsers: not yet (their main thread may not wait; cross-origin isolation, the
 *  COOP/COEP headers, is needed too). */
async function startThreads(module, instance, names, threads) {
  const [variant] = WebAssembly.Module.customSections(module, THREADED_SECTION);
  const isNode = typeof process !== "undefined" && !!process.versions?.node;
  let why = null;
  if (!variant) why = "the artifact has no threaded variant (save it with save(..., threads=True))";
  else if (!isNode && !globalThis.crossOriginIsolated) {
    why = "the page is not cross-origin isolated (shared memory needs the headers " +
          "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
  } else if (!isNode) why = "this loader runs threads in Node only so far";
  if (why) {
    console.warn(`torch_wasm_backend: running on one thread: ${why}`);
    return null;
  }
  const { Worker } = await import("node:worker_threads");
  const tmod = await WebAssembly.compile(variant);
  const [imp] = WebAssembly.Module.imports(tmod);
  if (!imp || imp.kind !== "memory") throw new ArtifactError("the threaded variant does not import a memory");
  const src = new Uint8Array(instance.exports[names.memory].buffer);
  const pages = src.byteLength / 65536;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  new Uint8Array(memory.buffer).set(src.subarray(16), 16); // bytes 0..15: the threads' control block
  const main = await WebAssembly.instantiate(tmod, { env: { memory } });
  const failed = [];
  for (let tid = 1; tid < threads; tid++) {
    const w = new Worker(new URL("./worker.mjs", import.meta.url), { workerData: { module: tmod, memory, tid, nthreads: threads } });
    w.on("message", (m) => failed.push(m));
    w.unref(); // parked workers never keep the process alive
  }
  const run = main.exports.run;
  const forward = () => {
    if (failed.length) throw new ArtifactError(`a worker thread trapped earlier (${failed[0].error}); load the model again`);
    try {
      run(threads);
    } catch (e) {
      main.exports.abort();
      throw e;
    }
  };
  return { exports: { ...main.exports, [names.memory]: memory, [names.forward]: forward } };
}

// --------------------------------------------------------------------------- manifest checks
// The same checks, paths and bounds as torch_wasm_backend/runtime/manifest.py.

const MAX_INT = Number.MAX_SAFE_INTEGER; // 2^53 - 1: sizes, offsets and strides are exact below it
const MAX_POWER = 8;
const MAX_RANK = 64;
const MAX_TREE_DEPTH = 64;
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function show(v) {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? typeof v : s.slice(0, 80);
  } catch {
    return typeof v;
  }
}

function fail(path, what, value) {
  throw new ArtifactError(`invalid manifest: ${path}: ${what}, got ${show(value)}`);
}

function checkInt(v, path, lo = 0, hi = MAX_INT) {
  if (!Number.isInteger(v) || v < lo || v > hi) fail(path, `expected an integer in [${lo}, ${hi}]`, v);
  return v;
}

function checkStr(v, path) {
  if (typeof v !== "string" || v === "") fail(path, "expected a non-empty string", v);
  return v;
}

function checkList(v, path, maxLen = 1 << 20) {
  if (!Array.isArray(v) || v.length > maxLen) {
    fail(path, `expected a list${maxLen < 1 << 20 ? ` of at most ${maxLen} entries` : ""}`, v);
  }
  return v;
}

function checkObject(v, path) {
  if (!isObject(v)) fail(path, "expected an object", v);
  return v;
}

function checkDim(d, path, symbols, isStatic) {
  if (Number.isInteger(d)) return void checkInt(d, path);
  if (isStatic) return fail(path, "expected a non-negative integer (this part of the artifact has static shapes)", d);
  if (typeof d === "string") {
    if (!has(symbols, d)) fail(path, `unknown symbol (symbols: ${Object.keys(symbols).join(", ")})`, d);
    return;
  }
  if (!isObject(d) || Object.keys(d).length !== 1 || !has(d, "poly")) {
    return fail(path, 'expected an integer, a symbol name or {"poly": [...]}', d);
  }
  checkList(d.poly, `${path}.poly`, 64).forEach((term, i) => {
    if (!Array.isArray(term) || term.length !== 2) {
      fail(`${path}.poly[${i}]`, "expected [coefficient, {symbol: power}]", term);
    }
    checkInt(term[0], `${path}.poly[${i}][0]`, -MAX_INT, MAX_INT);
    for (const [sym, p] of Object.entries(checkObject(term[1], `${path}.poly[${i}][1]`))) {
      if (!has(symbols, sym)) fail(`${path}.poly[${i}][1]`, `unknown symbol ${JSON.stringify(sym)}`, term[1]);
      checkInt(p, `${path}.poly[${i}][1].${sym}`, 0, MAX_POWER);
    }
  });
}

function checkTensor(s, path, symbols, strides, isStatic = false) {
  checkObject(s, path);
  for (const key of ["name", "shape", "dtype", "offset", ...(strides ? ["strides"] : [])]) {
    if (!has(s, key)) fail(path, `missing field "${key}"`, Object.keys(s));
  }
  checkStr(s.name, `${path}.name`);
  if (typeof s.dtype !== "string" || !has(ARRAY_TYPES, s.dtype)) {
    fail(`${path}.dtype`, `expected one of ${Object.keys(ARRAY_TYPES).join(", ")}`, s.dtype);
  }
  checkList(s.shape, `${path}.shape`, MAX_RANK)
    .forEach((d, i) => checkDim(d, `${path}.shape[${i}]`, symbols, isStatic));
  checkDim(s.offset, `${path}.offset`, symbols, isStatic);
  if (strides) {
    if (checkList(s.strides, `${path}.strides`, MAX_RANK).length !== s.shape.length) {
      fail(`${path}.strides`, `expected ${s.shape.length} strides (one per dim of shape)`, s.strides);
    }
    s.strides.forEach((d, i) => checkDim(d, `${path}.strides[${i}]`, symbols, isStatic));
  }
}

function checkTensors(list, path, symbols, strides, { isStatic = false, unique = true } = {}) {
  const names = new Set();
  checkList(list, path).forEach((s, i) => {
    checkTensor(s, `${path}[${i}]`, symbols, strides, isStatic);
    if (unique && names.has(s.name)) fail(`${path}[${i}].name`, "duplicate name", s.name);
    names.add(s.name);
  });
}

function checkTree(tree, nOutputs, path = "output_tree", depth = 0) {
  if (depth > MAX_TREE_DEPTH) fail(path, `nested deeper than ${MAX_TREE_DEPTH} levels`, "...");
  const kind = isObject(tree) && Object.keys(tree).length === 1 ? Object.keys(tree)[0] : null;
  if (!["tensor", "tuple", "list", "dict"].includes(kind)) {
    fail(path, 'expected one of {"tensor": k}, {"tuple": [...]}, {"list": [...]}, {"dict": [[key, ...], ...]}',
         depth < 4 ? tree : "...");
  }
  const value = tree[kind];
  if (kind === "tensor") return void checkInt(value, `${path}.tensor`, 0, nOutputs - 1);
  if (kind !== "dict") {
    checkList(value, `${path}.${kind}`).forEach((t, i) => checkTree(t, nOutputs, `${path}.${kind}[${i}]`, depth + 1));
    return;
  }
  const keys = new Set();
  checkList(value, `${path}.dict`).forEach((item, i) => {
    if (!Array.isArray(item) || item.length !== 2) {
      fail(`${path}.dict[${i}]`, "expected [key, subtree]", depth < 4 ? item : "...");
    }
    if (item[0] !== null && !["string", "number", "boolean"].includes(typeof item[0])) {
      fail(`${path}.dict[${i}][0]`, "expected a string or number key", item[0]);
    }
    if (keys.has(item[0])) fail(`${path}.dict[${i}][0]`, "duplicate key", item[0]);
    keys.add(item[0]);
    checkTree(item[1], nOutputs, `${path}.dict[${i}][1]`, depth + 1);
  });
}

function parseManifest(module) {
  const sections = WebAssembly.Module.customSections(module, MANIFEST_SECTION);
  if (sections.length === 0) {
    throw new ArtifactError(`no "${MANIFEST_SECTION}" custom section: not a torch_wasm_backend artifact`);
  }
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(sections[0]));
  } catch (e) {
    throw new ArtifactError(`the manifest is not valid JSON (${e.name}: ${String(e.message).slice(0, 200)})`);
  }
  if (!isObject(manifest)) {
    throw new ArtifactError(`the manifest is a JSON ${Array.isArray(manifest) ? "list" : typeof manifest}, ` +
                            "expected an object");
  }
  if (manifest.format_version !== FORMAT_VERSION) {
    throw new ArtifactError(`artifact format version ${show(manifest.format_version)} is not supported ` +
                            `(this loader reads version ${FORMAT_VERSION})`);
  }
  return manifest;
}

/** Check the fields the loader reads (types, ranges, references between them); returns `m`.
 *  Unknown keys are allowed (newer writers may add some). Throws an ArtifactError naming the field. */
export function checkManifest(m) {
  checkObject(m, "manifest");
  if (has(m, "kind") && m.kind !== null && m.kind !== "trainer") fail("kind", 'expected "trainer" or no kind', m.kind);
  const symbols = {};
  checkList(m.symbols ?? [], "symbols", 256).forEach((s, i) => {
    const path = `symbols[${i}]`;
    checkObject(s, path);
    const name = checkStr(s.name, `${path}.name`);
    if (has(symbols, name)) fail(`${path}.name`, "duplicate symbol", name);
    const lo = checkInt(s.min, `${path}.min`, 0, 2 ** 31 - 1);
    checkInt(s.max, `${path}.max`, lo, 2 ** 31 - 1);
    checkInt(s.offset, `${path}.offset`);
    symbols[name] = s;
  });
  for (const key of ["inputs", "outputs", "memory"]) {
    if (!has(m, key)) fail("manifest", `missing field "${key}"`, Object.keys(m));
  }
  checkTensors(m.inputs, "inputs", symbols, false);
  checkTensors(m.outputs, "outputs", symbols, true, { unique: false });
  const inDims = new Set(m.inputs.flatMap((s) => s.shape.filter((d) => typeof d === "string")));
  Object.keys(symbols).forEach((name, i) => {
    if (!inDims.has(name)) {
      fail(`symbols[${i}]`, "not a dimension of any input (its size is read from the inputs)", name);
    }
  });
  checkObject(m.memory, "memory");
  checkInt(m.memory.pages, "memory.pages", 0, 65536);
  checkInt(m.memory.bytes, "memory.bytes");
  for (const [k, v] of Object.entries(checkObject(m.exports ?? {}, "exports"))) checkStr(v, `exports.${k}`);
  for (const [k, v] of Object.entries(checkObject(m.requires ?? {}, "requires"))) {
    if (typeof v !== "boolean") fail(`requires.${k}`, "expected true or false", v);
  }
  for (const [k, v] of Object.entries(checkObject(m.traps ?? {}, "traps"))) checkStr(v, `traps.${k}`);
  if (has(m, "output_tree")) checkTree(m.output_tree, m.outputs.length);
  if (m.kind === "trainer") {
    if (Object.keys(symbols).length) {
      fail("symbols", "a trainer has static shapes; expected no symbols", Object.keys(symbols));
    }
    const step = checkObject(m.train_step, "train_step");
    checkTensors(step.inputs, "train_step.inputs", symbols, false, { isStatic: true });
    if (!step.inputs.length) fail("train_step.inputs", "expected at least the target", step.inputs);
    if (!checkList(step.outputs, "train_step.outputs").length) {
      fail("train_step.outputs", "expected the loss", step.outputs);
    }
    checkTensor(step.outputs[0], "train_step.outputs[0]", symbols, false, true);
    if (step.outputs[0].shape.some((d) => d !== 1)) {
      fail("train_step.outputs[0].shape", "expected one element (the loss)", step.outputs[0].shape);
    }
    checkTensors(m.state, "state", symbols, false, { isStatic: true });
  }
  return m;
}

/** A manifest size: a number, a symbol name (a dynamic dimension), or
 *  {poly: [[coefficient, {symbol: power}], ...]} evaluated with the current sizes. */
export function evalDim(d, sizes) {
  if (typeof d === "number") return d;
  if (typeof d === "string") return sizes[d];
  let total = 0;
  for (const [coef, powers] of d.poly) {
    let term = coef;
    for (const [sym, p] of Object.entries(powers)) term *= sizes[sym] ** p;
    total += term;
  }
  return total;
}

function checkExtent(s, sizes, memoryBytes, path, withStrides) {
  const where = Object.keys(sizes).length ? JSON.stringify(sizes) : "static";
  const shape = s.shape.map((d) => evalDim(d, sizes));
  const offset = evalDim(s.offset, sizes);
  shape.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 0 || n > memoryBytes) {
      throw new ArtifactError(`invalid manifest: ${path}.shape[${i}] is ${n} with sizes ${where}, ` +
                              `outside [0, ${memoryBytes}] (the memory size in bytes)`);
    }
  });
  let last = product(shape) - 1;
  if (withStrides) {
    const strides = s.strides.map((d) => evalDim(d, sizes));
    strides.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 0 || n > memoryBytes) {
        throw new ArtifactError(`invalid manifest: ${path}.strides[${i}] is ${n} with sizes ${where}, ` +
                                `outside [0, ${memoryBytes}]`);
      }
    });
    last = shape.reduce((acc, n, d) => acc + (n - 1) * strides[d], 0);
  }
  if (shape.includes(0)) return;
  const end = offset + (last + 1) * ARRAY_TYPES[s.dtype].BYTES_PER_ELEMENT;
  if (!Number.isInteger(offset) || offset < 0 || !(end <= memoryBytes)) {
    throw new ArtifactError(`invalid manifest: ${path} spans bytes [${offset}, ${end}) with sizes ${where}, ` +
                            `outside the module's memory of ${memoryBytes} bytes`);
  }
}

/** Every input, output (and trainer tensor) and size slot, with the dynamic sizes `sizes`,
 *  lies inside `memoryBytes` of linear memory; throws an ArtifactError naming the field. */
export function checkExtents(m, sizes, memoryBytes) {
  (m.symbols ?? []).forEach((s, i) => {
    if (s.offset + 4 > memoryBytes) {
      throw new ArtifactError(`invalid manifest: symbols[${i}].offset ${s.offset} is outside the module's ` +
                              `memory of ${memoryBytes} bytes`);
    }
  });
  m.inputs.forEach((s, i) => checkExtent(s, sizes, memoryBytes, `inputs[${i}]`, false));
  m.outputs.forEach((s, i) => checkExtent(s, sizes, memoryBytes, `outputs[${i}]`, true));
  if (m.kind === "trainer") {
    m.train_step.inputs.forEach((s, i) => checkExtent(s, {}, memoryBytes, `train_step.inputs[${i}]`, false));
    checkExtent(m.train_step.outputs[0], {}, memoryBytes, "train_step.outputs[0]", false);
    m.state.forEach((s, i) => checkExtent(s, {}, memoryBytes, `state[${i}]`, false));
  }
}

function exportNames(m) {
  return { memory: "memory", forward: "forward", prepare: "prepare", train_step: "train_step", ...m.exports };
}

// --------------------------------------------------------------------------- traps
/** {function index: name} from the module's "name" custom section (subsection 1). */
function functionNames(module) {
  const names = new Map();
  const [section] = WebAssembly.Module.customSections(module, "name");
  if (!section) return names;
  const bytes = new Uint8Array(section);
  let pos = 0;
  const u32 = () => {
    let result = 0, shift = 0, byte;
    do {
      if (pos >= bytes.length || shift > 28) throw new RangeError("malformed name section");
      byte = bytes[pos++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  try {
    while (pos < bytes.length) {
      const id = bytes[pos++], size = u32(), end = pos + size;
      if (id === 1) {
        for (let n = u32(); n > 0; n--) {
          const index = u32(), len = u32();
          names.set(index, new TextDecoder().decode(bytes.subarray(pos, pos + len)));
          pos += len;
        }
      }
      pos = end;
    }
  } catch {
    // a malformed name section only costs the trap messages their function names
  }
  return names;
}

/** Names of the wasm functions on a trap's stack, innermost first (engines write each frame
 *  with its function index as "wasm-function[N]": V8, SpiderMonkey and JavaScriptCore). */
function trapFrames(error, names) {
  const stack = String(error?.stack ?? "");
  return [...stack.matchAll(/wasm-function\[(\d+)\]/g)].map((m) => names.get(Number(m[1])) ?? null);
}

// --------------------------------------------------------------------------- inputs and outputs
function isRowMajor(shape, strides) {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

function spec(s, withStrides, sizes = {}) {
  const shape = s.shape.map((d) => evalDim(d, sizes));
  const dynamic = shape.some((n) => !Number.isInteger(n));
  const out = { name: s.name, shape: dynamic ? [...s.shape] : shape, dtype: s.dtype,
                offset: dynamic ? s.offset : evalDim(s.offset, sizes), size: dynamic ? NaN : product(shape) };
  if (withStrides) out.strides = dynamic ? [...s.strides] : s.strides.map((d) => evalDim(d, sizes));
  return Object.freeze(out);
}

const INT64_MAX = 2n ** 63n - 1n;

/** An int64 input given as an Int32Array or an array of integers (numbers or bigints),
 *  widened to a BigInt64Array; anything else is returned as it is (and rejected by _check). */
function widenInt64(x, where) {
  if (x instanceof Int32Array) return BigInt64Array.from(x, (v) => BigInt(v));
  if (!Array.isArray(x)) return x;
  const out = new BigInt64Array(x.length);
  x.forEach((v, i) => {
    if (typeof v === "bigint") {
      if (v > INT64_MAX || v < -INT64_MAX - 1n) {
        throw new ArtifactError(`${where}: element ${i} is ${v}, outside int64`);
      }
      out[i] = v;
    } else if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new ArtifactError(`${where}: element ${i} is ${show(v)}, not an integer`);
    } else if (!Number.isSafeInteger(v)) {
      throw new ArtifactError(`${where}: element ${i} is ${v}, outside ±(2^53 - 1) where numbers are exact; ` +
                              "pass a BigInt64Array");
    } else {
      out[i] = BigInt(v);
    }
  });
  return out;
}

/** The structure of manifest.output_tree with `outputs` at its leaves: tuples and lists as
 *  arrays, dicts as objects; without a tree, one output bare and several as an array. */
function unflatten(tree, outputs) {
  if (tree === undefined) return outputs.length === 1 ? outputs[0] : outputs;
  const [kind] = Object.keys(tree);
  if (kind === "tensor") return outputs[tree.tensor];
  if (kind === "dict") return Object.fromEntries(tree.dict.map(([k, t]) => [String(k), unflatten(t, outputs)]));
  return tree[kind].map((t) => unflatten(t, outputs));
}

export class Model {
  constructor(manifest, module, instance) {
    const names = exportNames(manifest);
    this.manifest = manifest;
    this.module = module;
    this.instance = instance;
    this.memory = instance.exports[names.memory];
    this._forward = instance.exports[names.forward];
    if (!(this.memory instanceof WebAssembly.Memory) || typeof this._forward !== "function") {
      throw new ArtifactError(`the module does not export "${names.memory}" memory and a "${names.forward}" function`);
    }
    /** Dynamic dimensions: {name: {min, max, offset}}; empty for a static model. */
    this.symbols = Object.freeze(Object.fromEntries((manifest.symbols || []).map((s) => [s.name, s])));
    checkExtents(manifest, Object.fromEntries(Object.values(this.symbols).map((s) => [s.name, s.max])),
                 this.memory.buffer.byteLength);
    this.inputs = Object.freeze(manifest.inputs.map((s) => spec(s, false)));
    this.outputs = Object.freeze(manifest.outputs.map((s) => spec(s, true)));
    this._traps = manifest.traps ?? {};
    this._functionNames = null; // read from the name section at the first trap
    this.lastRunMs = NaN;
  }

  /** "input "x" dim 0": where a dynamic size first appears in the inputs. */
  _whereSymbol(name) {
    for (const s of this.manifest.inputs) {
      const d = s.shape.indexOf(name);
      if (d >= 0) return `input "${s.name}" dim ${d}`;
    }
    return `dynamic size ${name}`;
  }

  /** The sizes of the dynamic dimensions for these inputs: from `sizes`, else inferred from
   *  each input's length (one unknown dimension per input). Checked against their ranges. */
  _bind(arrays, sizes) {
    const bound = { ...sizes };
    const given = new Set(Object.keys(sizes));
    const unknownSizes = Object.keys(sizes).filter((k) => !has(this.symbols, k));
    if (unknownSizes.length) {
      const known = Object.keys(this.symbols).map((k) => `${k} (${this._whereSymbol(k)})`);
      throw new ArtifactError(`run(): unknown size name(s) ${unknownSizes.join(", ")} in {sizes}; the dynamic ` +
                              `sizes are ${known.join(", ") || "none (the model has static shapes)"}`);
    }
    this.manifest.inputs.forEach((s, i) => {
      const unknown = [...new Set(s.shape.filter((d) => typeof d === "string" && !has(bound, d)))];
      if (unknown.length !== 1 || !arrays[i] || typeof arrays[i].length !== "number") return;
      const dim = s.shape.indexOf(unknown[0]);
      const count = s.shape.filter((d) => d === unknown[0]).length;
      const rest = product(s.shape.filter((d) => d !== unknown[0]).map((d) => evalDim(d, bound)));
      if (!(rest > 0) || count !== 1) return;
      const n = arrays[i].length / rest;
      if (!Number.isInteger(n)) {
        const dims = s.shape.map((d) => (d === unknown[0] ? "?" : evalDim(d, bound)));
        throw new ArtifactError(`input "${s.name}" dim ${dim}: ${arrays[i].length} elements is not a multiple ` +
                                `of ${rest} (shape ${fmtShape(dims)})`);
      }
      bound[unknown[0]] = n;
    });
    for (const [name, sym] of Object.entries(this.symbols)) {
      const v = bound[name];
      const where = this._whereSymbol(name) + (given.has(name) ? ` (sizes.${name})` : "");
      if (v === undefined) {
        throw new ArtifactError(`${where}: its size cannot be inferred from the input's length; pass ` +
                                `run(inputs, {sizes: {${name}: n}})`);
      }
      if (!Number.isInteger(v) || v < sym.min || v > sym.max) {
        throw new ArtifactError(`${where}: size ${v} is outside [${sym.min}, ${sym.max}] ` +
                                "(the range the artifact was saved for)");
      }
    }
    return bound;
  }

  /** inputs: an array of typed arrays in manifest order, an object keyed by input name, or
   *  (for a one-input model) a single typed array. `sizes` sets dynamic dimensions
   *  ({name: n}) when the input lengths do not. Returns [{name, shape, dtype, data}] in the
   *  order of the manifest's outputs. */
  run(inputs, { sizes = {} } = {}) {
    let ins = this.inputs, outs = this.outputs;
    const given = this._arrange(inputs);
    if (Object.keys(this.symbols).length) {
      const bound = this._bind(given, sizes);
      checkExtents(this.manifest, bound, this.memory.buffer.byteLength); // before any view
      ins = this.manifest.inputs.map((s) => spec(s, false, bound));
      outs = this.manifest.outputs.map((s) => spec(s, true, bound));
      const view = new DataView(this.memory.buffer);
      for (const [name, sym] of Object.entries(this.symbols)) view.setInt32(sym.offset, bound[name], true);
    }
    const arrays = given.map((x, i) => this._check(ins[i], x)); // all, before writing
    ins.forEach((s, i) => this._write(s, arrays[i]));
    this._timed(this._forward, "forward");
    return outs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype, data: this._read(s) }));
  }

  /** Like run(), but the outputs keyed by their names ({logits: {name, shape, dtype, data}, ...});
   *  for a model that returned a dict, the names are its keys. */
  runNamed(inputs, options) {
    const outputs = this.run(inputs, options);
    const seen = new Set();
    for (const o of outputs) {
      if (seen.has(o.name)) throw new ArtifactError(`two outputs are named "${o.name}"; use run() (by position)`);
      seen.add(o.name);
    }
    return Object.fromEntries(outputs.map((o) => [o.name, o]));
  }

  /** Like run(), but in the structure the model returned (manifest.output_tree): tuples and
   *  lists as arrays, dicts as objects; older artifacts: one output bare, several as an array. */
  runStructured(inputs, options) {
    return unflatten(this.manifest.output_tree, this.run(inputs, options));
  }

  /** Run `warmup` + `repeat` times; returns the last outputs and forward() times in ms.
   *  Browsers coarsen performance.now() (to 0.1 ms or more), so for fast models meanMs,
   *  the average over all timed runs, is the figure to trust. */
  runTimed(inputs, { warmup = 1, repeat = 10, sizes = {} } = {}) {
    let outputs;
    const times = [];
    for (let i = 0; i < warmup + Math.max(1, repeat); i++) {
      outputs = this.run(inputs, { sizes });
      if (i >= warmup) times.push(this.lastRunMs);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const meanMs = times.reduce((a, b) => a + b, 0) / times.length;
    return { outputs, times, meanMs, medianMs: sorted[sorted.length >> 1], minMs: sorted[0] };
  }

  _write(s, x) { // x: a checked typed array, copied byte for byte to s.offset
    new Uint8Array(this.memory.buffer, s.offset, x.byteLength).set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  }

  _timed(fn, name) { // call an export; lastRunMs is its wall time; a trap becomes an ArtifactError
    const t0 = now();
    try {
      fn();
    } catch (e) {
      throw this._trapError(e, name);
    } finally {
      this.lastRunMs = now() - t0;
    }
  }

  /** The manifest's message for the innermost function on the stack that has one, then the
   *  engine's own message; `error.wasmFunction` names that function. */
  _trapError(e, name) {
    if (Object.keys(this._traps).length && e instanceof WebAssembly.RuntimeError) {
      this._functionNames ??= functionNames(this.module);
      const func = trapFrames(e, this._functionNames).find((f) => f !== null && has(this._traps, f));
      if (func !== undefined) {
        const error = new ArtifactError(`${this._traps[func]} (${name}() trapped in wasm function ` +
                                        `"${func}": ${e.message})`, { cause: e });
        error.wasmFunction = func;
        return error;
      }
    }
    return new ArtifactError(`${name}() trapped: ${e.message}`, { cause: e });
  }

  _arrange(inputs) {
    const names = this.inputs.map((s) => s.name);
    if (ArrayBuffer.isView(inputs) && names.length === 1) inputs = [inputs];
    if (Array.isArray(inputs)) {
      if (inputs.length !== names.length) {
        throw new ArtifactError(`the model takes ${names.length} input(s) (${names.join(", ")}), got ${inputs.length}`);
      }
      return inputs;
    }
    if (inputs === null || typeof inputs !== "object" || ArrayBuffer.isView(inputs)) {
      throw new ArtifactError(`run(): expected an array of typed arrays or an object keyed by input name ` +
                              `(${names.join(", ")}), got ${kindOf(inputs)}`);
    }
    const takes = `the model takes ${names.join(", ")}`;
    const extra = Object.keys(inputs).filter((k) => !names.includes(k));
    if (extra.length) throw new ArtifactError(`unknown input(s) ${extra.join(", ")}; ${takes}`);
    const missing = names.filter((k) => !has(inputs, k));
    if (missing.length) throw new ArtifactError(`missing input(s) ${missing.join(", ")}; ${takes}`);
    return names.map((k) => inputs[k]);
  }

  _check(s, x) {
    const Want = ARRAY_TYPES[s.dtype];
    const where = `input "${s.name}" (shape ${fmtShape(s.shape)}, dtype ${s.dtype})`;
    if (s.dtype === "int64") x = widenInt64(x, where);
    if (!(x instanceof Want)) {
      const widen = s.dtype === "int64" ? " (or an Int32Array or array of integers, which are widened)" : "";
      throw new ArtifactError(`${where}: expected ${/^I/.test(Want.name) ? "an" : "a"} ${Want.name}${widen}, ` +
                              `got ${kindOf(x)}` +
                              (x instanceof Object && "length" in x ? ` of length ${x.length}` : ""));
    }
    if (x.length !== s.size) {
      throw new ArtifactError(`${where}: expected ${s.size} elements, got ${x.length}`);
    }
    if (s.dtype === "bool" && x.some((v) => v > 1)) {
      throw new ArtifactError(`${where}: a bool input holds only 0 and 1`);
    }
    return x;
  }

  _read(s) {
    const Type = ARRAY_TYPES[s.dtype];
    if (s.size === 0) return new Type(0);
    const span = 1 + s.shape.reduce((acc, n, d) => acc + (n - 1) * s.strides[d], 0);
    // ArrayBuffer.slice copies, so `src` never aliases memory (and needs no alignment).
    const src = new Type(this.memory.buffer.slice(s.offset, s.offset + span * Type.BYTES_PER_ELEMENT));
    if (isRowMajor(s.shape, s.strides)) return src;
    const out = new Type(s.size);
    const index = new Array(s.shape.length).fill(0);
    let pos = 0;
    for (let k = 0; k < s.size; k++) {
      out[k] = src[pos];
      for (let d = s.shape.length - 1; d >= 0; d--) { // odometer over the shape, last dim fastest
        if (++index[d] < s.shape[d]) { pos += s.strides[d]; break; }
        pos -= (s.shape[d] - 1) * s.strides[d];
        index[d] = 0;
      }
    }
    return out;
  }
}

/** A trainable artifact: run() is the eval-mode forward with the current weights. */
export class Trainer extends Model {
  constructor(manifest, module, instance) {
    super(manifest, module, instance);
    const names = exportNames(manifest);
    this._trainStep = instance.exports[names.train_step];
    if (typeof this._trainStep !== "function") {
      throw new ArtifactError(`the module does not export a "${names.train_step}" function`);
    }
    this._timed(instance.exports[names.prepare], "prepare");
    this.trainInputs = Object.freeze(manifest.train_step.inputs.map((s) => spec(s, false)));
    const loss = manifest.train_step.outputs[0];
    this._loss = spec({ ...loss, strides: rowMajorStrides(loss.shape) }, true);
    /** The state tensors (parameters, buffers, optimizer state): [{name, shape, dtype, offset, size}]. */
    this.state = Object.freeze(manifest.state.map((s) => spec(s, false)));
  }

  /** One training step on a batch: `inputs` as for run() (an array, an object keyed by
   *  input name, or one typed array), `target` a typed array. Returns the loss (a number)
   *  of this batch before the update. */
  trainStep(inputs, target) {
    const names = this.trainInputs.map((s) => s.name);
    const given = ArrayBuffer.isView(inputs) ? [inputs]
      : Array.isArray(inputs) ? inputs : names.slice(0, -1).map((k) => inputs?.[k]);
    if (given.length !== names.length - 1) {
      throw new ArtifactError(`trainStep() takes ${names.length - 1} input(s) (${names.slice(0, -1).join(", ")}) ` +
                              `and a target, got ${given.length} input(s)`);
    }
    const arrays = [...given, target].map((x, i) => this._check(this.trainInputs[i], x));
    arrays.forEach((x, i) => this._write(this.trainInputs[i], x));
    this._timed(this._trainStep, "train_step");
    return Number(this._read(this._loss)[0]);
  }

  /** Copies of the state tensors by name; `prefix` selects some ("param:" for parameters). */
  getWeights(prefix = "") {
    const out = {};
    for (const s of this.state) {
      if (s.name.startsWith(prefix)) out[s.name] = this._read({ ...s, strides: rowMajorStrides(s.shape) });
    }
    return out;
  }

  /** Overwrite state tensors by name (any subset), each a typed array of the right type
   *  and length; everything is checked before anything is written. */
  setWeights(weights) {
    const byName = Object.fromEntries(this.state.map((s) => [s.name, s]));
    const unknown = Object.keys(weights).filter((k) => !has(byName, k));
    if (unknown.length) throw new ArtifactError(`unknown state name(s) ${unknown.join(", ")}; see trainer.state`);
    const checked = Object.entries(weights).map(([k, x]) => [byName[k], this._check(byName[k], x)]);
    for (const [s, x] of checked) this._write(s, x);
  }
}

function rowMajorStrides(shape) {
  const strides = new Array(shape.length);
  let n = 1;
  for (let d = shape.length - 1; d >= 0; d--) { strides[d] = n; n *= shape[d]; }
  return strides;
}
