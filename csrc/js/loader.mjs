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
// Files: this one (load), manifest.mjs (parsing, checks, ArtifactError), model.mjs (Model,
// Trainer), variants.mjs (the relaxed-SIMD variant), threads.mjs and worker.mjs (threads).
//
// The file is untrusted: checkManifest() checks every field the loader reads (types,
// ranges, symbol references, dtypes, exports) and checkExtents() checks that every tensor
// lies inside linear memory for the sizes of a call, before any view of memory is made.
// Errors are ArtifactErrors naming the field (`invalid manifest: outputs[1].strides[0]: ...`).
// A trap inside forward() becomes an ArtifactError with the manifest's message for the
// function that trapped (manifest.traps, e.g. "embedding: index out of range [0, 50)").
//
// An artifact may carry a relaxed-SIMD (FMA) variant of its code beside the SIMD128 module
// (manifest.variants.relaxed_simd; format and checks: runtime/variants.py, variants.mjs here).
// load() runs it where WebAssembly.validate accepts relaxed SIMD (Chromium, Node >= 22, Node
// 20 with --experimental-wasm-relaxed-simd, Firefox) and the SIMD128 module elsewhere (e.g.
// Safari); load(src, {variant: "simd128" | "relaxed_simd"}) forces one. model.variant says
// which runs. Its results differ from the SIMD128 module's by rounding.
//
// A trainable artifact (torch_wasm_backend.save_training) loads as a Trainer: a Model whose
// run() is the eval-mode forward, plus trainStep(inputs, target) (forward, loss, backward
// and optimizer update inside WebAssembly; returns the loss), getWeights() and
// setWeights(weights) (state tensors by name, e.g. for federated averaging).


import { ArtifactError, checkManifest, exportNames, kindOf, parseManifest, show } from "./manifest.mjs";
import { Model, Trainer } from "./model.mjs";
import { startThreads } from "./threads.mjs";
import { VARIANTS, compileBytes } from "./variants.mjs";

export { ARRAY_TYPES, ArtifactError, FORMAT_VERSION, MANIFEST_SECTION, checkExtents, checkManifest, evalDim } from "./manifest.mjs";
export { Model, Trainer } from "./model.mjs";
export { THREADED_SECTION } from "./threads.mjs";
export { RELAXED_SECTION, VARIANTS, hasRelaxedSimd } from "./variants.mjs";

const isNode = typeof process !== "undefined" && !!process.versions?.node;

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
 *  the artifact's threaded variant of the SIMD128 code on Node worker threads, or on Web
 *  Workers in a cross-origin isolated page; elsewhere one thread and one console warning),
 *  `threadsAdaptive` (default true: measure `threads` threads against one on the first calls
 *  and keep the faster, re-checking now and then; `model.threadsUsed`; false: every call on
 *  `threads`). */
export async function load(source, options = {}) {
  if (options.variant !== undefined && !VARIANTS.includes(options.variant)) {
    throw new ArtifactError(`load(): variant ${show(options.variant)}: expected one of ${VARIANTS.join(", ")}`);
  }
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new ArtifactError(`threads must be an integer from 1 to 64, got ${threads}`);
  }
  const adaptive = options.threadsAdaptive ?? true;
  if (typeof adaptive !== "boolean") {
    throw new ArtifactError(`threadsAdaptive must be true or false, got ${show(adaptive)}`);
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
  const threaded = threads > 1 && manifest.kind !== "trainer" ? await startThreads(module, instance, names, threads, adaptive)
    : null;
  const model = manifest.kind === "trainer" ? new Trainer(manifest, module, instance)
    : new Model(manifest, module, threaded ?? instance);
  /** Which code runs: "simd128" or "relaxed_simd" (the FMA variant, or a relaxed-only artifact). */
  model.variant = variant ?? (manifest.requires?.relaxed_simd ? "relaxed_simd" : "simd128");
  /** Threads per call: `threads` when the threaded variant runs, else 1 (console.warn said why). */
  model.threads = threaded ? threads : 1;
  /** Threads the calls run on: `threads`, or 1 where one thread measured faster (threadsAdaptive). */
  Object.defineProperty(model, "threadsUsed", { get: () => (threaded ? threaded.choice.used : 1), enumerable: true });
  /** Stop and end the worker threads of a threaded model (run() then throws); a no-op on one
   *  thread. A threaded model dropped without close() stops its workers when collected. */
  model.close = threaded ? threaded.close : () => {};
  Object.defineProperty(model, "_threaded", { value: threaded }); // the ThreadChoice and runner, for tests
  return model;
}
