#!/usr/bin/env python3
"""Where an int8 model's time goes: every kernel of ``int8_speed.py``'s quantized models
timed alone, in wasmtime and (``--node``) in Node.

Usage:
  python benchmarks/int8_profile.py MODEL [--node] [--reps N] [--top K]

MODEL is one of ``int8_speed.MODELS`` (mlp, cnn, resnet18, bert), quantized as there
(``torch_wasm_backend.quantize``, calibrated on random inputs). As ``kernel_profile.py``:
the model is compiled (strict) and run once, its module re-assembled with one export per
kernel, and each kernel called ``--reps`` times on a copy of the memory after that run;
``--node`` runs the same module and memory in Node (``int8_profile.mjs``, --no-liftoff).
Prints per kernel: µs per call, share of the sum, kind and shape, and the sum per kind.
Wall-clock time: on a busy machine compare shares, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's package (see int8_speed.py)

import int8_speed
import kernel_profile

import torch_wasm_backend
from torch_wasm_backend.assemble import assemble


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=sorted(int8_speed.MODELS))
    ap.add_argument("--node", action="store_true")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--top", type=int, default=0, help="print only the K slowest kernels")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, x = int8_speed.MODELS[args.model]()
    model.eval()
    q = torch_wasm_backend.quantize(model, (x,), calibration=[torch.randn_like(x) for _ in range(3)])
    graph = kernel_profile._compiled_graph(q, (x,))
    memory = bytes(graph.runner().instance.memory_view())
    kernels = [pl.kernel for pl in graph.schedule.forward]
    if args.node:
        tmp = Path(tempfile.mkdtemp())
        exports = "".join(f'(export "prof_{k.name}" (func ${k.name}))\n' for k in kernels)
        (tmp / "m.wasm").write_bytes(assemble(graph.wat.rstrip()[:-1] + "\n" + exports + ")\n"))
        (tmp / "m.bin").write_bytes(memory)
        out = subprocess.run(["node", "--no-liftoff", str(HERE / "int8_profile.mjs"), str(tmp / "m.wasm"),
                              str(tmp / "m.bin"), str(args.reps), *[k.name for k in kernels]],
                             check=True, capture_output=True, text=True).stdout
        us = json.loads(out)
        rows = [(k, us[k.name] * 1e-6) for k in kernels]
    else:
        rows = kernel_profile.profile(graph.wat, kernels, memory, lambda inst: None, args.reps)
    total = sum(t for _, t in rows)
    print(f"{args.model} int8 forward, {'Node' if args.node else 'wasmtime'}: {len(rows)} kernels, "
          f"sum {total * 1e3:.3f} ms")
    shown = sorted(rows, key=lambda r: -r[1])[: args.top] if args.top else rows
    for k, t in shown:
        print(f"  {k.name:<22} {t * 1e6:10.1f} us {100 * t / total:5.1f}%  {kernel_profile._describe(k)}")
    kinds = defaultdict(float)
    for k, t in rows:
        kinds[type(k).__name__] += t
    print("  by kind: " + ", ".join(f"{kind} {100 * t / total:.1f}%" for kind, t in sorted(kinds.items(),
                                                                                        key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
