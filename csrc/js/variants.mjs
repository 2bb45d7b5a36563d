// Code variants inside one artifact: the relaxed-SIMD (FMA) module beside the SIMD128 one.
// The same format and checks as torch_wasm_backend/runtime/variants.py: the custom section
// manifest.variants.relaxed_simd.section holds the FMA module without a data section; it
// runs with the SIMD128 module's data section spliced in after its code section.

import { ArtifactError, FORMAT_VERSION, MANIFEST_SECTION, checkManifest, has, isObject } from "./manifest.mjs";


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
export async function compileBytes(source, options) {
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
