// TF.js versions of the benchmark models (benchmarks/models.py), op by op, for the TF.js
// WebAssembly backend (XNNPACK). Shared by Node (run_tfjs.mjs) and the browser page
// (page.mjs): every function takes the `tf` namespace as its first argument.
//
// The weights come from the PyTorch model itself (tfjs_export.py writes NAME.tfjs.json and
// NAME.tfjs.bin): convolutions with their batch norm folded in (as the ONNX exporter folds it
// for onnxruntime-web), filters in TF.js layout, linear weights as [in, out]. Each builder
// below is the model's forward() written with TF.js ops, looking its tensors up by PyTorch
// module name. Inputs arrive in PyTorch's NCHW layout and are transposed to NHWC inside the
// timed call (part of the model's cost in TF.js, as a caller with NCHW data pays it).
// Fused ops are used where TF.js has them (conv/matmul + bias + ReLU/ReLU6), which is what a
// TF.js user writing these models would do and what XNNPACK runs fastest.
//
// Models without a mapping: transformer, transformer4 (see tfjs_export.py NO_TFJS).

/** Tensors of an exported model: { spec, get(name) -> tf.Tensor }, all created up front
 *  (outside any tf.tidy(), which would dispose them). */
export function weights(tf, spec, buffer) {
  const tensors = new Map(Object.entries(spec.tensors).map(([name, t]) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    return [name, tf.tensor(new Float32Array(buffer, t.offset, size), t.shape, "float32")];
  }));
  const get = (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${spec.model}: no tensor "${name}" in the exported weights`);
    return t;
  };
  const dispose = () => tensors.forEach((t) => t.dispose());
  return { spec, get, dispose };
}

function layer(spec, name) {
  const l = spec.layers.find((r) => r.name === name);
  if (!l) throw new Error(`${spec.model}: no layer "${name}" in the exported model`);
  return l;
}

const pad2 = ([ph, pw]) => (ph === pw ? ph : [[0, 0], [ph, ph], [pw, pw], [0, 0]]);

/** Conv2d (+ folded BatchNorm2d) + optional activation ("relu", "relu6" or "linear"). */
function conv(tf, W, x, name, activation) {
  const l = layer(W.spec, name);
  const args = { x, filter: W.get(`${name}.w`), bias: W.get(`${name}.b`), strides: l.stride, pad: pad2(l.pad),
                 activation };
  return l.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
}

const linear = (tf, W, x, name, activation = "linear") =>
  tf.fused.matMul({ a: x, b: W.get(`${name}.w`), bias: W.get(`${name}.b`), activation });

const nhwc = (tf, x) => tf.transpose(x, [0, 2, 3, 1]);
const globalAvgPool = (tf, x) => tf.mean(x, [1, 2]); // AdaptiveAvgPool2d(1) + flatten(1)

function convsUnder(spec, prefix) {
  return spec.layers.filter((l) => l.op === "conv" && l.name.startsWith(prefix)).map((l) => l.name);
}

const BUILDERS = {
  // MLP 784-512-512-10: Linear-ReLU-Linear-ReLU-Linear
  mlp: (tf, W) => ([x]) => {
    x = linear(tf, W, x, "net.0", "relu");
    x = linear(tf, W, x, "net.2", "relu");
    return linear(tf, W, x, "net.4");
  },
  // SmallCNN: features.{0,2,3,4,6} conv-bn-relu, features.{1,5} MaxPool2d(2), avg pool, fc
  cnn: (tf, W) => ([x]) => {
    x = nhwc(tf, x);
    x = conv(tf, W, x, "features.0.0", "relu");
    x = tf.maxPool(x, 2, 2, "valid");
    x = conv(tf, W, x, "features.2.0", "relu");
    x = conv(tf, W, x, "features.3.0", "relu"); // depthwise 3x3
    x = conv(tf, W, x, "features.4.0", "relu"); // pointwise
    x = tf.maxPool(x, 2, 2, "valid");
    x = conv(tf, W, x, "features.6.0", "relu");
    return linear(tf, W, globalAvgPool(tf, x), "fc");
  },
  tiny: (tf) => {
    const two = tf.scalar(2), one = tf.scalar(1);
    return ([x]) => tf.add(tf.mul(x, two), one);
  },
  gemm256: (tf) => ([a, b]) => tf.matMul(a, b),
  gemm1024: (tf) => ([a, b]) => tf.matMul(a, b),
  // ResNet18Shaped: stem (7x7/2 conv-bn-relu, 3x3/2 max pool), 8 BasicBlocks, avg pool, fc
  resnet18: (tf, W) => {
    const blocks = W.spec.layers.filter((l) => l.op === "basic_block");
    return ([x]) => {
      x = conv(tf, W, nhwc(tf, x), "stem.0", "relu");
      x = tf.maxPool(x, 3, 2, 1);
      for (const b of blocks) {
        const idt = b.down ? conv(tf, W, x, `${b.name}.down.0`, "linear") : x;
        let y = conv(tf, W, x, `${b.name}.conv1`, "relu");
        y = conv(tf, W, y, `${b.name}.conv2`, "linear");
        x = tf.relu(tf.add(y, idt));
      }
      return linear(tf, W, globalAvgPool(tf, x), "fc");
    };
  },
  // MobileNetV2Shaped: 3x3/2 stem, 17 inverted residuals (1x1 expand + ReLU6, depthwise 3x3
  // + ReLU6, 1x1 project, no activation; + input where residual), 1x1 to 1280 + ReLU6,
  // avg pool, classifier (dropout is the identity in eval mode)
  mobilenetv2: (tf, W) => {
    const blocks = W.spec.layers.filter((l) => l.op === "inverted_residual")
      .map((b) => ({ ...b, convs: convsUnder(W.spec, `${b.name}.conv.`) }));
    const convs = convsUnder(W.spec, "features.");
    const first = convs[0], last = convs[convs.length - 1];
    return ([x]) => {
      x = conv(tf, W, nhwc(tf, x), first, "relu6");
      for (const b of blocks) {
        let y = x;
        b.convs.forEach((name, i) => { y = conv(tf, W, y, name, i < b.convs.length - 1 ? "relu6" : "linear"); });
        x = b.residual ? tf.add(x, y) : y;
      }
      x = conv(tf, W, x, last, "relu6");
      return linear(tf, W, globalAvgPool(tf, x), "classifier.1");
    };
  },
};

/** Select TF.js's WebAssembly backend, single-threaded (the SIMD binary, not the threaded one). */
export async function initBackend(tf) {
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed");
  await tf.ready();
  return { backend: tf.getBackend(), simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
           threads: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"), tfjsVersion: tf.version_core };
}

/** An engine as common.mjs / page.mjs use it: `run()` -> [{name, shape, dtype, data}].
 *  `inputs`: [{name, shape, dtype, data}]; input tensors are created once, like ORT's feeds. */
export function createEngine(tf, spec, buffer, inputs) {
  const build = BUILDERS[spec.model];
  if (!build) throw new Error(`no TF.js builder for ${spec.model} (have: ${Object.keys(BUILDERS).join(", ")})`);
  const W = weights(tf, spec, buffer);
  const forward = build(tf, W);
  const xs = inputs.map((x) => tf.tensor(x.data, x.shape, x.dtype));
  const run = () => {
    const y = tf.tidy(() => forward(xs));
    const data = y.dataSync(); // the wasm backend is synchronous: this is the finished result
    const out = [{ name: "output0", shape: y.shape, dtype: "float32", data }];
    y.dispose();
    return out;
  };
  const dispose = () => { W.dispose(); xs.forEach((x) => x.dispose()); };
  return { run, dispose, info: { inputNames: inputs.map((x) => x.name), outputNames: ["output0"] } };
}
