// The manifest of a torch_wasm_backend artifact: parsing and every check the loader makes
// before it reads a field or views memory (the same checks, paths and bounds as
// torch_wasm_backend/runtime/manifest.py), and the error type of the whole loader.

export const MANIFEST_SECTION = "torch_wasm_backend.manifest";
export const FORMAT_VERSION = 1;
// float16 tensors are passed as their IEEE half bits (JavaScript hosts before Float16Array)
export const ARRAY_TYPES = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int32: Int32Array, int64: BigInt64Array,
  int16: Int16Array, uint8: Uint8Array, bool: Uint8Array,
};

export class ArtifactError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "ArtifactError";
  }
}

export const product = (shape) => shape.reduce((a, b) => a * b, 1);
export const kindOf = (x) => (x === null ? "null" : x?.constructor?.name ?? typeof x);


const MAX_INT = Number.MAX_SAFE_INTEGER; // 2^53 - 1: sizes, offsets and strides are exact below it
const MAX_POWER = 8;
const MAX_RANK = 64;
const MAX_TREE_DEPTH = 64;
export const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
export const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

export function show(v) {
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

export function parseManifest(module) {
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

export function exportNames(m) {
  return { memory: "memory", forward: "forward", prepare: "prepare", train_step: "train_step", ...m.exports };
}
