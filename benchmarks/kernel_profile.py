#!/usr/bin/env python3
"""Where the time goes: every kernel of a compiled model, timed on its own.

Usage:
  python benchmarks/kernel_profile.py MODEL [--train] [--reps N] [--top K] [--node] [--relaxed-simd]

MODEL is a case of ``models.py`` (mlp, cnn, gemm256, transformer, resnet18, ...).
The model is compiled as ``torch.compile(..., backend="wasm")`` does (strict), run once,
and its module is re-assembled with one extra export per kernel; a fresh instance gets a
copy of the memory after that run, so every kernel finds its inputs in place and can be
called alone, ``--reps`` times in a row (kernels are idempotent: they write their
outputs from their inputs). ``--train`` profiles the ``train_step`` of the trainable
artifact instead (cross-entropy on random class targets, SGD with momentum).

``--node`` times the same module in Node (V8, ``node --no-liftoff``, kernel_profile_node.mjs)
right after wasmtime, from the same memory snapshot, and adds its columns and the
Node/wasmtime ratio: which kernels V8 runs worse than Cranelift. ``--relaxed-simd`` profiles
the FMA variant's code (packed GEMMs with ``f32x4.relaxed_madd``; Node gets
``--experimental-wasm-relaxed-simd``).

Prints, per kernel in program order: kind and shape, µs per call, share of the sum, and
GFLOP/s for GEMMs. Wall-clock time of this thread's calls: on a busy machine, compare
shares rather than absolute times.
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
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # models.py, and this checkout's torch_wasm_backend

from models import CASES, build_model

from torch_wasm_backend import ir
from torch_wasm_backend.assemble import assemble
from torch_wasm_backend.runtime import get_engine


def _compiled_graph(model, inputs, options):
    from torch_wasm_backend import compiled

    made = []
    real = compiled.CompiledGraph.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        made.append(self)

    compiled.CompiledGraph.__init__ = spy
    try:
        torch._dynamo.reset()
        with torch.no_grad():
            torch.compile(model, backend="wasm", options={"strict": True, **options})(*inputs)
    finally:
        compiled.CompiledGraph.__init__ = real
    if len(made) != 1:
        sys.exit(f"expected one compiled graph, got {len(made)}")
    return made[0]


def _describe(kernel) -> str:
    if isinstance(kernel, ir.Gemm):
        return f"gemm{' packed' if kernel.packed else ''} b={kernel.batch} m={kernel.m} n={kernel.n} k={kernel.k}"
    if isinstance(kernel, ir.PackB):
        return f"pack_b k={kernel.k} n={kernel.n}"
    kind = type(kernel).__name__.lower()
    ranges = getattr(kernel, "ranges", ())
    red = getattr(kernel, "red_ranges", ())
    return f"{kind} {list(ranges)}" + (f" over {list(red)}" if red else "")


def _flops(kernel) -> int:
    if isinstance(kernel, ir.Gemm):
        return 2 * int(kernel.batch) * int(kernel.m) * int(kernel.n) * int(kernel.k)
    return 0


def profile_node(wasm: bytes, memory: bytes, kernels: list, reps: int, relaxed: bool) -> dict:
    """Seconds per call of each kernel in Node, from the same module and memory."""
    node = shutil.which("node")
    if node is None:
        sys.exit("--node: no `node` on PATH (Node 18 or newer)")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "m.wasm").write_bytes(wasm)
        (Path(tmp) / "mem.bin").write_bytes(memory)
        flags = ["--no-liftoff"] + (["--experimental-wasm-relaxed-simd"] if relaxed else [])
        script = Path(__file__).resolve().parent / "kernel_profile_node.mjs"
        done = subprocess.run([node, *flags, str(script), f"{tmp}/m.wasm", f"{tmp}/mem.bin", str(reps),
                               *(k.name for k in kernels)], capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"node failed:\n{done.stderr}")
    return json.loads(done.stdout)


def profile(wat: str, kernels: list, memory: bytes | None, setup, reps: int, node: bool = False,
            relaxed: bool = False):
    exports = "".join(f'(export "prof_{k.name}" (func ${k.name}))\n' for k in kernels)
    wasm = assemble(wat.rstrip()[:-1] + "\n" + exports + ")\n")
    inst = get_engine("wasmtime").compile(wasm).instantiate()
    if memory is not None:
        inst.grow_memory(-(-len(memory) // 65536))
        inst.memory_view()[: len(memory)] = np.frombuffer(memory, np.uint8)
    setup(inst)
    snapshot = bytes(inst.memory_view()) if node else None
    rows = []
    for k in kernels:
        call = inst.caller(f"prof_{k.name}")
        call()
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                call()
            best = min(best, (time.perf_counter() - t) / reps)
        rows.append((k, best))
    if node:
        in_node = profile_node(wasm, snapshot, kernels, reps, relaxed)
        rows = [(k, t, in_node[k.name]) for k, t in rows]
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=sorted(CASES))
    p.add_argument("--train", action="store_true")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--top", type=int, default=0, help="print only the K slowest kernels")
    p.add_argument("--node", action="store_true", help="also time every kernel in Node (V8)")
    p.add_argument("--relaxed-simd", action="store_true", help="the FMA variant's code")
    args = p.parse_args()
    options = {"relaxed_simd": True} if args.relaxed_simd else {}
    torch.set_num_threads(1)
    case = CASES[args.model]
    model, inputs = build_model(case), case.make_inputs()
    if args.train:
        from torch_wasm_backend.trainer import build_training

        model.train()
        out = model(*inputs)
        target = torch.randint(0, out.shape[-1], out.shape[:1])
        built = build_training(model, F.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                               (*inputs, target), options=options)
        manifest, wat = built.manifest, built.wat
        kernels = [pl.kernel for pl in built.train.sched.forward]

        def setup(inst):
            mem = inst.memory_view()
            for spec, x in zip(manifest["train_step"]["inputs"], (*inputs, target)):
                data = x.numpy().tobytes()
                mem[spec["offset"]: spec["offset"] + len(data)] = np.frombuffer(data, np.uint8)
            inst.caller("prepare")()
            inst.caller("train_step")()

        rows = profile(wat, kernels, None, setup, args.reps, args.node, args.relaxed_simd)
    else:
        graph = _compiled_graph(model, inputs, options)
        runner = graph.runner()
        memory = bytes(runner.instance.memory_view())
        kernels = [pl.kernel for pl in graph.schedule.forward]
        rows = profile(graph.wat, kernels, memory, lambda inst: None, args.reps, args.node, args.relaxed_simd)
    total = sum(r[1] for r in rows)
    node_total = sum(r[2] for r in rows) if args.node else 0.0
    print(f"{args.model}{' train_step' if args.train else ' forward'}: {len(rows)} kernels, "
          f"sum {total * 1e3:.3f} ms" + (f" (wasmtime), {node_total * 1e3:.3f} ms (Node)" if args.node else ""))
    if args.node:
        print(f"  {'kernel':<22} {'wasmtime':>10} {'share':>6} {'Node':>10} {'share':>6} {'Node/wt':>7}  shape")
    shown = sorted(rows, key=lambda r: -r[-1])[: args.top] if args.top else rows
    for row in shown:
        k, t = row[0], row[1]
        flops = _flops(k)
        line = f"  {k.name:<22} {t * 1e6:10.1f} us {100 * t / total:5.1f}%"
        if args.node:
            tn = row[2]
            line += f" {tn * 1e6:10.1f} us {100 * tn / node_total:5.1f}% {tn / t:6.2f}x"
        gf = "".join(f"  {flops / x / 1e9:5.1f}" for x in row[1:]) + " GFLOP/s" if flops else ""
        print(f"{line}  {_describe(k)}{gf}")

if __name__ == "__main__":
    main()
