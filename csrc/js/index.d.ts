// Type declarations for loader.mjs: the loader of torch_wasm_backend artifacts.

/** Element types of inputs and outputs, as named in the manifest. */
export type DType = "float32" | "float64" | "float16" | "int32" | "int64" | "int16" | "uint8" | "bool";

/** The typed array that holds each dtype (bool: one byte per element, 0 or 1; float16: the
 *  IEEE half bits). */
export interface ArrayTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int16: Int16Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}
export type TypedArray = ArrayTypeMap[DType];

export declare const MANIFEST_SECTION: "torch_wasm_backend.manifest";
export declare const FORMAT_VERSION: 1;
export declare const ARRAY_TYPES: {
  float32: Float32ArrayConstructor;
  float64: Float64ArrayConstructor;
  float16: Uint16ArrayConstructor;
  int16: Int16ArrayConstructor;
  uint8: Uint8ArrayConstructor;
  int32: Int32ArrayConstructor;
  int64: BigInt64ArrayConstructor;
  bool: Uint8ArrayConstructor;
};

/** Raised for a source that is not an artifact, an unsupported format version, a manifest
 *  field of the wrong type or outside memory (the message names the field, e.g.
 *  `invalid manifest: outputs[1].strides[0]: ...`), inputs of the wrong kind, length or number,
 *  dynamic sizes outside their range (`input "x" dim 0: size 80 is outside [1, 64] ...`), and
 *  traps inside forward() (the manifest's message for the trapping function first, when it has one). */
export declare class ArtifactError extends Error {
  name: "ArtifactError";
  /** For a trap explained by `manifest.traps`: the wasm function that trapped. */
  wasmFunction?: string;
}

export interface ManifestTensor {
  name: string;
  /** A dimension is a number, or the name of a dynamic size (see Manifest.symbols). */
  shape: Dim[];
  dtype: DType;
  /** Byte offset in linear memory. */
  offset: Dim;
}

export interface ManifestOutput extends ManifestTensor {
  /** In elements. */
  strides: Dim[];
}

/** The structure a model returned, over the indices of `Manifest.outputs`. */
export type OutputTree =
  | { tensor: number }
  | { tuple: OutputTree[] }
  | { list: OutputTree[] }
  | { dict: [string | number | boolean | null, OutputTree][] };

/** The JSON in the module's "torch_wasm_backend.manifest" custom section. Every field the
 *  loader reads is checked (checkManifest) before use; unknown fields are allowed. */
export interface Manifest {
  format?: string;
  /** Dynamic sizes: written as i32 at `offset` before each call; any value in [min, max]. */
  symbols?: { name: string; min: number; max: number; offset: number }[];
  format_version: 1;
  /** "trainer" for a trainable artifact (then train_step and state are present). */
  kind?: "trainer";
  train_step?: { inputs: ManifestTensor[]; outputs: ManifestOutput[] };
  state?: ManifestTensor[];
  /** C-contiguous, in the order the model takes them. */
  inputs: ManifestTensor[];
  outputs: ManifestOutput[];
  memory: { pages: number; bytes: number; weights_bytes?: number; arena_bytes?: number };
  /** How the weights are stored: half-precision ones are widened when the module is instantiated. */
  weights?: { dtype: "float32" | "float16" | "bfloat16" };
  exports: { memory: string; forward: string; prepare: string; train_step?: string };
  requires: { simd128: boolean; relaxed_simd: boolean; threads: boolean };
  options?: Record<string, unknown>;
  tools: Record<string, string>;
  /** Optional: a message in the model's terms per wasm function name, used when that function traps. */
  traps?: Record<string, string>;
  /** Optional: the structure the model returned (absent: one output bare, several as an array). */
  output_tree?: OutputTree;
  [key: string]: unknown;
}

export interface TensorSpec extends Readonly<ManifestTensor> {
  /** Number of elements: the product of the shape. */
  readonly size: number;
}

export interface OutputSpec extends TensorSpec {
  readonly strides: readonly number[];
}

export interface Output {
  name: string;
  shape: number[];
  dtype: DType;
  /** A fresh, C-contiguous copy: it never aliases the module's memory. */
  data: TypedArray;
}

export interface TimedRun {
  /** The outputs of the last run. */
  outputs: Output[];
  /** forward() time of each timed run, in milliseconds. */
  times: number[];
  meanMs: number;
  medianMs: number;
  minMs: number;
}

/** One input. An int64 input also takes an Int32Array or a plain array of integers (numbers,
 *  exact up to ±(2^53 - 1), or bigints), widened to a BigInt64Array; a non-integer or an
 *  inexact number is an ArtifactError. */
export type InputArray = TypedArray | Int32Array | (number | bigint)[];

/** Inputs: arrays in manifest order, an object keyed by input name, or (for a model with one
 *  input) a single typed array. */
export type Inputs = InputArray[] | Record<string, InputArray> | TypedArray;

/** The outputs in the structure the model returned: tuples and lists as arrays, dicts as objects. */
export type StructuredOutputs = Output | StructuredOutputs[] | { [key: string]: StructuredOutputs };

export declare class Model {
  readonly manifest: Manifest;
  readonly module: WebAssembly.Module;
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly OutputSpec[];
  /** performance.now() time of the last forward() call, in milliseconds (NaN before a run). */
  readonly lastRunMs: number;
  /** The code that runs: the SIMD128 module, or the relaxed-SIMD (FMA) variant (or a
   *  relaxed-only artifact). FMA results differ from SIMD128 ones by rounding. */
  readonly variant: Variant;
  /** Threads per call: the `threads` asked for when the threaded variant runs, else 1. */
  readonly threads: number;
  /** Threads the calls run on: `threads`, or 1 where the model measured one thread faster on
   *  its first calls (re-checked now and then; `threadsAdaptive: false` keeps `threads`). */
  readonly threadsUsed: number;
  /** Stop and end the worker threads of a threaded model (run() then throws an
   *  ArtifactError); a no-op on one thread. Dropped models stop their workers when collected. */
  close(): void;
  /** Dynamic dimensions by name (empty for a static model). */
  readonly symbols: Readonly<Record<string, { name: string; min: number; max: number; offset: number }>>;
  /** `sizes` sets dynamic dimensions ({name: n}) that the input lengths do not imply.
   *  Returns the outputs in manifest order, each with its name. */
  run(inputs: Inputs, options?: { sizes?: Record<string, number> }): Output[];
  /** Like run(), keyed by output name ({logits: Output, ...}; for a model that returned a
   *  dict, its keys). Two outputs of the same name are an ArtifactError. */
  runNamed(inputs: Inputs, options?: { sizes?: Record<string, number> }): Record<string, Output>;
  /** Like run(), in the structure the model returned (manifest.output_tree). */
  runStructured(inputs: Inputs, options?: { sizes?: Record<string, number> }): StructuredOutputs;
  /** `warmup` untimed runs (default 1), then `repeat` timed ones (default 10). */
  runTimed(inputs: Inputs, options?: { warmup?: number; repeat?: number; sizes?: Record<string, number> }): TimedRun;
}

/** A trainable artifact (torch_wasm_backend.save_training): run() is the eval-mode forward
 *  with the current weights. */
export declare class Trainer extends Model {
  /** The train step's inputs: the model inputs, then "target". */
  readonly trainInputs: readonly TensorSpec[];
  /** State tensors: "param:<name>", "buffer:<name>", "optimizer:<param>:<slot>", "optimizer:step". */
  readonly state: readonly TensorSpec[];
  /** Forward, loss, backward and optimizer update in WebAssembly; returns the batch loss before the update. */
  trainStep(inputs: Inputs, target: InputArray): number;
  /** Copies of the state tensors whose names start with `prefix` (all by default). */
  getWeights(prefix?: string): Record<string, TypedArray>;
  /** Overwrite state tensors by name (any subset); all are checked before any is written. */
  setWeights(weights: Record<string, TypedArray>): void;
}

export type Variant = "simd128" | "relaxed_simd";

export interface LoadOptions {
  /** "auto" (default): the artifact's relaxed-SIMD (FMA) variant where WebAssembly.validate
   *  accepts relaxed SIMD, the SIMD128 module elsewhere; or force one (an ArtifactError when
   *  it cannot run). */
  variant?: "auto" | Variant;
  /** With variant "simd128": compile while downloading when the response is served as
   *  application/wasm (default true). Choosing a variant reads the bytes first. */
  streaming?: boolean;
  /** Passed to fetch() for URL sources. */
  fetch?: RequestInit;
  /** Threads per call (default 1). Runs the artifact's threaded variant (saved with
   *  `save(..., threads=True)`) on Node worker threads, or on Web Workers in a cross-origin
   *  isolated page (served with Cross-Origin-Opener-Policy: same-origin and
   *  Cross-Origin-Embedder-Policy: require-corp); elsewhere, or without a variant, one
   *  thread and one console warning saying why. */
  threads?: number;
  /** With `threads` > 1 (default true): measure `threads` threads against one on the first
   *  calls (a few each, interleaved) and keep the faster, re-checking now and then
   *  (`model.threadsUsed`); false runs every call on `threads`. Results are bitwise the same. */
  threadsAdaptive?: boolean;
}

/** A URL (string or URL; in Node also a file path or file: URL), the bytes of the module,
 *  a fetch Response, or an already compiled module. */
export type Source = string | URL | ArrayBuffer | ArrayBufferView | Response | WebAssembly.Module;

/** The custom section that holds the relaxed-SIMD variant (manifest.variants.relaxed_simd). */
export declare const RELAXED_SECTION: "torch_wasm_backend.relaxed_simd";
export declare const VARIANTS: readonly ["auto", "simd128", "relaxed_simd"];
/** Whether this engine accepts relaxed SIMD (Chromium, Firefox, Node >= 22, Node 20 with
 *  --experimental-wasm-relaxed-simd; not Safari). */
export declare function hasRelaxedSimd(): boolean;

/** A manifest size: a number, a dynamic dimension's name, or a polynomial of them. */
export type Dim = number | string | { poly: [number, Record<string, number>][] };
export declare function evalDim(d: Dim, sizes: Record<string, number>): number;
/** Check every field the loader reads; returns the manifest or throws an ArtifactError naming the field. */
export declare function checkManifest(manifest: unknown): Manifest;
/** Check that every tensor of a checked manifest lies inside `memoryBytes` for these dynamic sizes. */
export declare function checkExtents(manifest: Manifest, sizes: Record<string, number>, memoryBytes: number): void;

/** Compile, check and instantiate an artifact written by torch_wasm_backend.save(); resolves
 *  to a Trainer for a trainable artifact, a Model otherwise. */
export declare function load(source: Source | PromiseLike<Response>, options?: LoadOptions): Promise<Model | Trainer>;
