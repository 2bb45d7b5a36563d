#!/usr/bin/env python3
"""int8 against float32, same model, same run: wasmtime (torch.compile) and Node (artifacts).

Usage:
  python benchmarks/int8_speed.py [--rounds 15] [--node] [--ort] [--threads 1]
                                  [--models mlp cnn resnet18 bert]

Models: an MLP 784-512-512-10 at batch 64; a CNN (3x3 convolutions 16-32-64-64 on 32x32,
batch 4, then a linear layer); the ResNet-18-shaped net of ``models.py`` (1x3x224x224:
batch norm folded into the convolutions by PT2E's prepare); a BERT-style encoder
(``models.transformer_encoder``: 4 layers, d 256, 4 heads, ff 1024, 1x128x256: its linear
layers are int8, attention's two matmuls of activations and the layer norms stay float).
Each is quantized with ``torch_wasm_backend.quantize`` (calibrated on random inputs) and
compiled beside its float32 original, both with ``threads`` (default 1: the int8 GEMM runs
on one thread, ``emit/threads.SPLITTABLE``). Rounds alternate int8 and float32, each timed
in this thread's CPU time (wall time with ``--threads`` above 1; the machine is shared:
compare only the ratio, from medians).
``--node`` also saves both as artifacts and times them in Node with ``csrc/js/loader.mjs``
(``benchmarks/int8_speed_node.mjs``, process CPU time), warmed up, interleaved the same way.
``--ort`` also exports the float32 model to ONNX (``peers/export.py``'s exporters), quantizes
it with onnxruntime's ``quantize_dynamic`` (int8 weights, MatMulInteger/ConvInteger; Gemm
nodes are first rewritten as MatMul + Add, which it does not quantize otherwise) and times
onnxruntime-web on it against our int8 artifact in one Node process
(``peers/int8_ort.mjs``; needs ``pip install onnxruntime`` and ``peers/``'s npm packages,
installed with ``npm ci`` on first use).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
# this checkout's package and benchmarks/models.py (a script's sys.path starts at its own
# directory, so an editable install elsewhere would otherwise be the one measured)
sys.path[:0] = [str(HERE.parent), str(HERE)]

import models

import torch_wasm_backend


def mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    ), torch.randn(64, 784)


def cnn():
    c = torch.nn.Conv2d
    return torch.nn.Sequential(
        c(16, 32, 3, padding=1),
        torch.nn.ReLU(),
        c(32, 64, 3, padding=1, stride=2),
        torch.nn.ReLU(),
        c(64, 64, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(64 * 16 * 16, 10),
    ), torch.randn(4, 16, 32, 32)


def resnet18():
    case = models.CASES["resnet18"]
    return models.build_model(case), case.make_inputs()[0]


def bert():
    case = models.CASES["transformer4"]
    return models.build_model(case), case.make_inputs()[0]


MODELS = {"mlp": mlp, "cnn": cnn, "resnet18": resnet18, "bert": bert}


def onnx_int8(model, x, directory: Path) -> tuple[Path, dict]:
    """The model exported to ONNX and quantized by onnxruntime's ``quantize_dynamic``: its
    path and the count of each integer op type in it."""
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sys.path.insert(0, str(HERE / "peers"))
    from export import EXPORTERS, _export_once

    path = directory / "model.onnx"
    failures = []
    for exporter in EXPORTERS:
        try:
            _export_once(model, (x,), path, exporter, ["input"])
            break
        except Exception as e:  # noqa: BLE001 - the next exporter may succeed
            failures.append(f"{exporter}: {type(e).__name__}: {str(e)[:200]}")
    else:
        raise RuntimeError("ONNX export failed: " + "; ".join(failures))
    m = onnx.load(str(path))
    inits = {i.name: i for i in m.graph.initializer}
    # the dynamo exporter hands some weights to MatMul through Identity nodes, which hide
    # them from quantize_dynamic: read the initializers directly
    alias = {n.output[0]: n.input[0] for n in m.graph.node if n.op_type == "Identity" and n.input[0] in inits}
    graph_outputs = {o.name for o in m.graph.output}
    kept = [n for n in m.graph.node if not (n.output[0] in alias and n.output[0] not in graph_outputs)]
    for node in kept:
        node.input[:] = [i if i in graph_outputs else alias.get(i, i) for i in node.input]
    nodes = []
    for node in kept:  # Gemm(A, B, C) with B an initializer -> MatMul(A, B') + Add(C)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (
            node.op_type != "Gemm"
            or node.input[1] not in inits
            or attrs.get("transA", 0)
            or attrs.get("alpha", 1.0) != 1.0
            or attrs.get("beta", 1.0) != 1.0
        ):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[node.input[1]])
        w = w.T if attrs.get("transB", 0) else w
        name = node.input[1] + "_kn"
        m.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w), name))
        mm = node.output[0] + "_mm" if len(node.input) > 2 else node.output[0]
        nodes.append(helper.make_node("MatMul", [node.input[0], name], [mm]))
        if len(node.input) > 2:
            nodes.append(helper.make_node("Add", [mm, node.input[2]], [node.output[0]]))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.save(m, str(path))
    qpath = directory / "model_int8.onnx"
    quantize_dynamic(str(path), str(qpath), weight_type=QuantType.QInt8)
    ops = {}
    for node in onnx.load(str(qpath)).graph.node:
        if node.op_type in ("MatMulInteger", "ConvInteger", "MatMul", "Conv", "Gemm"):
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return qpath, ops


def timed(fn, x, reps: int, clock=time.thread_time) -> float:
    """ms per call, by default in this thread's CPU time (the wasm call runs in it): time the
    process spends descheduled on the shared machine is not charged to whichever model runs.
    With threads > 1 the workers' time counts too: then wall time (``main``)."""
    t0 = clock()
    for _ in range(reps):
        fn(x)
    return (clock() - t0) / reps * 1e3


def _node_json(*args):
    """Run ``node args...``; its stdout, parsed as JSON."""
    proc = subprocess.run(["node", *map(str, args)], check=True, capture_output=True, text=True)
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--node", action="store_true")
    ap.add_argument("--ort", action="store_true", help="onnxruntime-web on quantize_dynamic's model, in Node")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["mlp", "cnn", "resnet18", "bert"])
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp())
    options = {"strict": True, "threads": args.threads}
    for name in args.models:
        torch.manual_seed(0)
        model, x = MODELS[name]()
        model.eval()
        q = torch_wasm_backend.quantize(model, (x,), calibration=[torch.randn_like(x) for _ in range(3)])
        torch._dynamo.reset()
        with torch.no_grad():
            fq = torch.compile(q, backend="wasm", options=options)
            ff = torch.compile(model, backend="wasm", options=options)
            fq(x), ff(x)
            clock = time.thread_time if args.threads == 1 else time.perf_counter
            reps = max(1, round(20 / timed(ff, x, 1, clock)))  # about 20 ms per timed batch
            times = {"int8": [], "float32": []}
            for _ in range(args.rounds):
                times["int8"].append(timed(fq, x, reps, clock))
                times["float32"].append(timed(ff, x, reps, clock))
        med = {k: float(np.median(v)) for k, v in times.items()}
        print(
            f"{name} wasmtime: int8 {med['int8']:.3f} ms, float32 {med['float32']:.3f} ms, "
            f"float32/int8 {med['float32'] / med['int8']:.2f}x (medians of {args.rounds} interleaved rounds, "
            f"threads={args.threads})",
            flush=True,
        )
        node = shutil.which("node")
        if node and (args.node or args.ort):
            torch_wasm_backend.save(fq, out / f"{name}_int8.wasm")
        if args.node and node:
            torch_wasm_backend.save(ff, out / f"{name}_f32.wasm")
            r = _node_json(HERE / "int8_speed_node.mjs", out / f"{name}_int8.wasm", out / f"{name}_f32.wasm",
                           args.rounds)
            print(
                f"{name} node: int8 {r['int8_ms']:.3f} ms, float32 {r['f32_ms']:.3f} ms, "
                f"float32/int8 {r['f32_ms'] / r['int8_ms']:.2f}x"
            )
            sizes = [(out / f"{name}_{k}.wasm").stat().st_size for k in ("int8", "f32")]
            print(
                f"{name} artifact: int8 {sizes[0]} bytes, float32 {sizes[1]} bytes ({sizes[0] / sizes[1]:.3f}x)",
                flush=True,
            )
        if args.ort and node:
            peers = HERE / "peers"
            if not (peers / "node_modules" / "onnxruntime-web").exists():
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=peers, check=True, capture_output=True)
            qpath, ops = onnx_int8(model, x, out)
            (out / "input.bin").write_bytes(x.numpy().tobytes())
            r = _node_json("--no-liftoff", peers / "int8_ort.mjs", out / f"{name}_int8.wasm", qpath,
                           out / "input.bin", args.rounds)
            print(
                f"{name} node vs onnxruntime-web {r['ort_version']} (quantize_dynamic: {ops}): ours int8 "
                f"{r['ours_ms']:.3f} ms, ORT int8 {r['ort_ms']:.3f} ms, ORT/ours {r['ort_ms'] / r['ours_ms']:.2f}x "
                f"(outputs differ by at most {r['max_abs_diff']:.3g})",
                flush=True,
            )


if __name__ == "__main__":
    main()
