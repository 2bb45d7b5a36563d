// Loader for torch_wasm_backend artifacts: one self-describing .wasm file written by
// torch_wasm_backend.save(). Works in browsers and Node (>= 18), no dependencies.
//
//   import { load } from "./loader.mjs";
//   const model = await load("model.wasm");
//   const [y] = model.run([new Float32Array(model.inputs[0].size)]);
//
// The module imports nothing and exports `memory`, `forward` and `prepare`; the weights are
// baked into a data segment. A custom section holds a JSON manifest with the byte offset,
// shape and dtype of every input and output. Running = write each input (C-contiguous) at
// its offset, call forward(), copy each output out as a strided view at its offset.
// Reference semantics: torch_wasm_backend/runtime/artifact.py.
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
  if (options.streaming !== false && typeof WebAssembly.compileStreaming === "function" &&
      type.split(";")[0].trim() === "application/wasm") {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer()); // wrong MIME type or no streaming API
}

async function compileSource(source, options) {
  if (typeof source?.then === "function") source = await source; // e.g. load(fetch(url))
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
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
      return WebAssembly.compile(await readFile(url ?? source));
    }
  }
  return compileResponse(await fetch(source, options.fetch), options);
}

/** Load an artifact. `source`: URL string or URL, (in Node) a file path, ArrayBuffer, typed
 *  array, Response (or a promise of one) or WebAssembly.Module. Options: `streaming` (default
 *  true: compile while downloading when served as application/wasm), `fetch` (a RequestInit). */
export async function load(source, options = {}) {
  let module;
  try {
    module = await compileSource(source, options);
  } catch (e) {
    if (e instanceof ArtifactError || !(e instanceof WebAssembly.CompileError)) throw e;
    throw new ArtifactError(`the artifact does not compile: ${e.message} (artifacts need WebAssembly ` +
                            "SIMD128: Chrome/Edge 91+, Firefox 89+, Safari 16.4+, Node 16.4+)", { cause: e });
  }
  const sections = WebAssembly.Module.customSections(module, MANIFEST_SECTION);
  if (sections.length === 0) {
    throw new ArtifactError(`no "${MANIFEST_SECTION}" custom section: not a torch_wasm_backend artifact`);
  }
  const manifest = JSON.parse(new TextDecoder().decode(sections[0]));
  if (manifest.format_version !== FORMAT_VERSION) {
    throw new ArtifactError(`artifact format version ${manifest.format_version} is not supported ` +
                            `(this loader reads version ${FORMAT_VERSION})`);
  }
  const instance = await WebAssembly.instantiate(module, {});
  return manifest.kind === "trainer" ? new Trainer(manifest, module, instance) : new Model(manifest, module, instance);
}

function isRowMajor(shape, strides) {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
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

function spec(s, withStrides, sizes = {}) {
  const shape = s.shape.map((d) => evalDim(d, sizes));
  const dynamic = shape.some((n) => n === undefined);
  const out = { name: s.name, shape: dynamic ? [...s.shape] : shape, dtype: s.dtype,
                offset: dynamic ? s.offset : evalDim(s.offset, sizes), size: dynamic ? NaN : product(shape) };
  if (!(s.dtype in ARRAY_TYPES)) throw new ArtifactError(`${s.name}: unsupported dtype ${s.dtype}`);
  if (withStrides) out.strides = dynamic ? [...s.strides] : s.strides.map((d) => evalDim(d, sizes));
  return Object.freeze(out);
}

export class Model {
  constructor(manifest, module, instance) {
    const names = { memory: "memory", forward: "forward", prepare: "prepare", ...manifest.exports };
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
    this.inputs = Object.freeze(manifest.inputs.map((s) => spec(s, false)));
    this.outputs = Object.freeze(manifest.outputs.map((s) => spec(s, true)));
    this.lastRunMs = NaN;
  }

  /** The sizes of the dynamic dimensions for these inputs: from `sizes`, else inferred from
   *  each input's length (one unknown dimension per input). Checked against their ranges. */
  _bind(arrays, sizes) {
    const bound = { ...sizes };
    this.manifest.inputs.forEach((s, i) => {
      const unknown = s.shape.filter((d) => typeof d === "string" && !(d in bound));
      if (unknown.length === 1 && arrays[i] && "length" in arrays[i]) {
        const rest = product(s.shape.filter((d) => d !== unknown[0]).map((d) => evalDim(d, bound)));
        if (rest > 0) bound[unknown[0]] = arrays[i].length / rest;
      }
    });
    for (const [name, sym] of Object.entries(this.symbols)) {
      const v = bound[name];
      if (!Number.isInteger(v) || v < sym.min || v > sym.max) {
        throw new ArtifactError(`dynamic size ${name} = ${v}: must be an integer in [${sym.min}, ${sym.max}] ` +
                                `(pass run(inputs, {sizes: {${name}: n}}) or inputs whose lengths imply it)`);
      }
    }
    return bound;
  }

  /** inputs: an array of typed arrays in manifest order, an object keyed by input name, or
   *  (for a one-input model) a single typed array. `sizes` sets dynamic dimensions
   *  ({name: n}) when the input lengths do not. Returns [{name, shape, dtype, data}]. */
  run(inputs, { sizes = {} } = {}) {
    let ins = this.inputs, outs = this.outputs;
    const given = this._arrange(inputs);
    if (Object.keys(this.symbols).length) {
      const bound = this._bind(given, sizes);
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
      throw new ArtifactError(`${name}() trapped: ${e.message}`, { cause: e });
    } finally {
      this.lastRunMs = now() - t0;
    }
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
    const missing = names.filter((k) => !(k in inputs));
    if (missing.length) throw new ArtifactError(`missing input(s) ${missing.join(", ")}; ${takes}`);
    return names.map((k) => inputs[k]);
  }

  _check(s, x) {
    const Want = ARRAY_TYPES[s.dtype];
    const where = `input "${s.name}" (shape ${fmtShape(s.shape)}, dtype ${s.dtype})`;
    if (!(x instanceof Want)) {
      throw new ArtifactError(`${where}: expected ${/^I/.test(Want.name) ? "an" : "a"} ${Want.name}, ` +
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
    const names = manifest.exports;
    this._trainStep = instance.exports[names.train_step];
    if (typeof this._trainStep !== "function") {
      throw new ArtifactError(`the module does not export a "${names.train_step}" function`);
    }
    instance.exports[names.prepare]();
    this.trainInputs = Object.freeze(manifest.train_step.inputs.map((s) => spec(s, false)));
    this._loss = spec({ ...manifest.train_step.outputs[0], strides: [] }, true);
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
    return this._read(this._loss)[0];
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
    const unknown = Object.keys(weights).filter((k) => !(k in byName));
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
