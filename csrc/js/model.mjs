// A loaded artifact: Model (run, runNamed) and Trainer (trainStep, getWeights, setWeights).
// Inputs are written C-contiguous at their offsets, outputs read back as strided views;
// a trap becomes an ArtifactError with the manifest's message for the function that trapped.

import { ARRAY_TYPES, ArtifactError, checkExtents, evalDim, exportNames, has, kindOf, product, show } from "./manifest.mjs";

const now = () => (globalThis.performance ?? Date).now();
const fmtShape = (shape) => `[${shape.join(", ")}]`;

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
