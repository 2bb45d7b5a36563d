#!/usr/bin/env python3
"""int8 against float32, same model, same run: wasmtime (torch.compile) and Node (artifacts).

Usage:
  python benchmarks/int8_speed.py [--rounds 15] [--node] [--threads 1]
                                  [--models mlp cnn resnet18 bert]

Models: an MLP 784-512-512-10 at batch 64; a CNN (3x3 convolutions 16-32-64-64 on 32x32,
batch 4, then a linear layer); the ResNet-18-shaped net of ``models.py`` (1x3x224x224:
batch norm folded into the convolutions by PT2E's prepare); a BERT-style encoder
(``models.transformer_encoder``: 4 layers, d 256, 4 heads, ff 1024, 1x128x256: its linear
layers are int8, attention's two matmuls of activations and the layer norms stay float).
Each is quantized with ``torch_wasm_backend.quantize`` (calibrated on random inputs) and
compiled beside its float32 original, both with ``threads`` (default 1: the int8 GEMM runs
on one thread, ``emit/threads.SPLITTABLE``). Rounds alternate int8 and float32, each timed
in this thread's CPU time (the machine is shared: compare only the ratio, from medians).
``--node`` also saves both as artifacts and times them in Node with ``csrc/js/loader.mjs``
(``benchmarks/int8_speed_node.mjs``, process CPU time), warmed up, interleaved the same way.
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

import torch_wasm_backend

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import models


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


def timed(fn, x, reps: int) -> float:
    """ms per call, in this thread's CPU time (the wasm call runs in it): time the process
    spends descheduled on the shared machine is not charged to whichever model runs."""
    t0 = time.thread_time()
    for _ in range(reps):
        fn(x)
    return (time.thread_time() - t0) / reps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--node", action="store_true")
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
            reps = max(1, round(20 / timed(ff, x, 1)))  # about 20 ms per timed batch
            times = {"int8": [], "float32": []}
            for _ in range(args.rounds):
                times["int8"].append(timed(fq, x, reps))
                times["float32"].append(timed(ff, x, reps))
        med = {k: float(np.median(v)) for k, v in times.items()}
        print(
            f"{name} wasmtime: int8 {med['int8']:.3f} ms, float32 {med['float32']:.3f} ms, "
            f"float32/int8 {med['float32'] / med['int8']:.2f}x (medians of {args.rounds} interleaved rounds, "
            f"threads={args.threads})",
            flush=True,
        )
        if args.node and shutil.which("node"):
            torch_wasm_backend.save(fq, out / f"{name}_int8.wasm")
            torch_wasm_backend.save(ff, out / f"{name}_f32.wasm")
            proc = subprocess.run(
                [
                    "node",
                    HERE / "int8_speed_node.mjs",
                    out / f"{name}_int8.wasm",
                    out / f"{name}_f32.wasm",
                    str(args.rounds),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(proc.stdout)
            print(
                f"{name} node: int8 {r['int8_ms']:.3f} ms, float32 {r['f32_ms']:.3f} ms, "
                f"float32/int8 {r['f32_ms'] / r['int8_ms']:.2f}x"
            )
            sizes = [(out / f"{name}_{k}.wasm").stat().st_size for k in ("int8", "f32")]
            print(
                f"{name} artifact: int8 {sizes[0]} bytes, float32 {sizes[1]} bytes ({sizes[0] / sizes[1]:.3f}x)",
                flush=True,
            )


if __name__ == "__main__":
    main()
