#!/usr/bin/env python3
"""int8 against float32, same model, same run: wasmtime (torch.compile) and Node (artifacts).

Usage:
  python benchmarks/int8_speed.py [--rounds 15] [--node]

Models: an MLP 784-512-512-10 at batch 64 and a CNN (3x3 convolutions 16-32-64-64 on
32x32, batch 4, then a linear layer). Each is quantized with ``torch_wasm_backend.quantize``
(calibrated on random inputs) and compiled beside its float32 original; rounds alternate
int8 and float32 (the machine is shared: compare only the ratio, taken from medians).
``--node`` also saves both as artifacts and times them in Node with ``csrc/js/loader.mjs``
(``benchmarks/int8_speed_node.mjs``), warmed up, interleaved the same way.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import torch_wasm_backend

HERE = Path(__file__).resolve().parent


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
                               torch.nn.Linear(512, 10)), torch.randn(64, 784)


def cnn():
    c = torch.nn.Conv2d
    return torch.nn.Sequential(c(16, 32, 3, padding=1), torch.nn.ReLU(), c(32, 64, 3, padding=1, stride=2),
                               torch.nn.ReLU(), c(64, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(64 * 16 * 16, 10)), torch.randn(4, 16, 32, 32)


def timed(fn, x, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn(x)
    return (time.perf_counter() - t0) / reps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--node", action="store_true")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp())
    for name, build in (("mlp", mlp), ("cnn", cnn)):
        torch.manual_seed(0)
        model, x = build()
        model.eval()
        q = torch_wasm_backend.quantize(model, (x,), calibration=[torch.randn_like(x) for _ in range(3)])
        torch._dynamo.reset()
        with torch.no_grad():
            fq = torch.compile(q, backend="wasm", options={"strict": True})
            ff = torch.compile(model, backend="wasm", options={"strict": True})
            fq(x), ff(x)
            reps = 20 if name == "mlp" else 5
            times = {"int8": [], "float32": []}
            for _ in range(args.rounds):
                times["int8"].append(timed(fq, x, reps))
                times["float32"].append(timed(ff, x, reps))
        med = {k: float(np.median(v)) for k, v in times.items()}
        print(f"{name} wasmtime: int8 {med['int8']:.3f} ms, float32 {med['float32']:.3f} ms, "
              f"float32/int8 {med['float32'] / med['int8']:.2f}x (medians of {args.rounds} interleaved rounds)")
        if args.node and shutil.which("node"):
            torch_wasm_backend.save(fq, out / f"{name}_int8.wasm")
            torch_wasm_backend.save(ff, out / f"{name}_f32.wasm")
            proc = subprocess.run(["node", HERE / "int8_speed_node.mjs", out / f"{name}_int8.wasm",
                                   out / f"{name}_f32.wasm", str(args.rounds)], check=True, capture_output=True,
                                  text=True)
            r = json.loads(proc.stdout)
            print(f"{name} node: int8 {r['int8_ms']:.3f} ms, float32 {r['f32_ms']:.3f} ms, "
                  f"float32/int8 {r['f32_ms'] / r['int8_ms']:.2f}x")
            sizes = [(out / f"{name}_{k}.wasm").stat().st_size for k in ("int8", "f32")]
            print(f"{name} artifact: int8 {sizes[0]} bytes, float32 {sizes[1]} bytes ({sizes[0] / sizes[1]:.3f}x)")


if __name__ == "__main__":
    main()
