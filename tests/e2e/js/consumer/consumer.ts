// A strict TypeScript consumer of the packed loader (tests/e2e/test_npm_package.py installs
// the tarball and runs `tsc --noEmit` on this file with tsconfig.json: strict, nodenext).
// It imports the package by name, so the `exports` map and its "types" condition are used,
// and it exercises every public declaration. Lines marked @ts-expect-error must stay type
// errors: if the declarations loosen (e.g. to `any`), tsc reports the unused directive.
import {
  ARRAY_TYPES,
  ArtifactError,
  FORMAT_VERSION,
  MANIFEST_SECTION,
  Model,
  Trainer,
  evalDim,
  load,
} from "torch-wasm-backend-loader";
import type {
  DType,
  Dim,
  Inputs,
  LoadOptions,
  Manifest,
  Output,
  OutputSpec,
  Source,
  TensorSpec,
  TimedRun,
  TypedArray,
} from "torch-wasm-backend-loader";

const section: "torch_wasm_backend.manifest" = MANIFEST_SECTION;
const version: 1 = FORMAT_VERSION;

function zeros(spec: TensorSpec): TypedArray {
  const Type = ARRAY_TYPES[spec.dtype];
  return new Type(spec.size);
}

export async function describe(source: Source): Promise<string> {
  const options: LoadOptions = { streaming: false };
  const model: Model = await load(source, options);
  const manifest: Manifest = model.manifest;
  const first: TensorSpec | undefined = model.inputs[0];
  if (first === undefined) throw new Error("the model takes no inputs");
  const dtype: DType = first.dtype;
  const inputs: Inputs = model.inputs.map(zeros);
  const outputs: Output[] = model.run(inputs, { sizes: {} });
  const timed: TimedRun = model.runTimed(inputs, { warmup: 1, repeat: 3 });
  const spec: OutputSpec | undefined = model.outputs[0];
  const dims: Dim[] = first.shape;
  const rows = dims.map((d) => evalDim(d, {}));
  const summary = [section, version, manifest.requires.simd128, dtype, rows.join("x"), spec?.strides.join(","),
                   outputs.map((o) => `${o.name}${JSON.stringify(o.shape)}:${o.dtype}=${o.data.length}`).join(" "),
                   timed.medianMs.toFixed(3), model.lastRunMs];
  if (model instanceof Trainer) {
    const target = model.trainInputs[model.trainInputs.length - 1];
    if (target !== undefined) summary.push(model.trainStep(inputs, zeros(target)).toFixed(4));
    const weights: Record<string, TypedArray> = model.getWeights("param:");
    model.setWeights(weights);
    summary.push(model.state.map((s) => s.name).join(","));
  }
  return summary.join(" ");
}

export async function explainFailure(source: Source): Promise<string> {
  try {
    await load(source);
    return "loaded";
  } catch (e: unknown) {
    if (e instanceof ArtifactError) {
      const name: "ArtifactError" = e.name;
      return `${name}: ${e.message}`;
    }
    throw e;
  }
}

export async function misuse(model: Model, trainer: Trainer): Promise<void> {
  // @ts-expect-error null is not a Source. (load(42) does type-check: WebAssembly.Module is an
  // empty interface in lib.dom, so any non-null value matches Source; index.d.ts could brand it.)
  await load(null);
  // @ts-expect-error bfloat16 is not a DType the manifest knows
  const bad: DType = "bfloat16";
  // @ts-expect-error lastRunMs is readonly
  model.lastRunMs = 0;
  // @ts-expect-error a Model is not a Trainer until narrowed
  model.trainStep([], new Float32Array(1));
  // @ts-expect-error sizes are numbers
  model.run([], { sizes: { n: "3" } });
  // @ts-expect-error inputs are typed arrays or (int64, widened) arrays of numbers, not strings
  model.run([["1", "2", "3"]]);
  // @ts-expect-error the loss is a number
  const loss: string = trainer.trainStep([], new Float32Array(1));
  void bad;
  void loss;
}
