#!/usr/bin/env python3
"""The int8 GEMM kernel (``csrc/wat/i8_gemm.wat``) against the packed float32 GEMM
(``csrc/wat/f32_gemm_packed.wat``, SIMD128 part) on the same shapes, same run, interleaved.

Usage:
  python benchmarks/i8_gemm_probe.py [--shapes 64x784x512 ...] [--rounds 9] [--before REV] [--node]

Shapes are MxKxN (default: the MLP's and the convolutions' GEMMs of ``int8_speed.py`` and
m = 1, 2, 4). ``--before REV`` adds ``i8_gemm.wat`` as of git revision REV (a kernel change,
before/after). One module holds every kernel plus one-line wrappers that call a kernel
``reps`` times inside wasm; wasmtime runs it with this backend's engine settings
(``runtime/wasmtime_config.py``), timed in thread CPU time; ``--node`` runs the same module
in Node (``i8_gemm_probe.mjs``, --no-liftoff). Every result is checked (int8: exactly
against numpy's int64 matmul; float32: the same integers, exact in float32 here) before it
is timed. Prints GOP/s (2 per product) and each kernel's speed over the float32 one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import wasmtime

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from torch_wasm_backend.runtime.wasmtime_config import memory_settings, wasmtime_settings

SHAPES = ["64x784x512", "64x512x512", "64x512x10", "4096x144x32", "1024x288x64", "1024x576x64", "1x784x512",
          "2x784x512", "4x784x512"]
PAGES = 1024
PA, PB, PC = 1 << 16, 8 << 20, 32 << 20  # A, packed B, C (+ the int8 kernel's workspace)


def f32_source() -> str:
    text = (ROOT / "csrc" / "wat" / "f32_gemm_packed.wat").read_text()
    return text[: text.index("\n;; @relaxed-simd")] if "\n;; @relaxed-simd" in text else text


def module(kernels: dict) -> str:
    call = ("(call ${f} (local.get $a) (local.get $bp) (local.get $c) (local.get $m) (local.get $n) (local.get $k) "
            "(local.get $k) {ldc}{extra})")
    parts = [f'(module (memory (export "memory") {PAGES})', f32_source()]
    wrap = ('(func (export "{e}") (param $r i32) (param $a i32) (param $bp i32) (param $c i32) (param $m i32) '
            "(param $n i32) (param $k i32) (loop $l {call} (br_if $l (local.tee $r (i32.sub (local.get $r) "
            "(i32.const 1))))))")
    parts.append(wrap.format(e="f32", call=call.format(f="f32_gemm_packed", ldc="(local.get $n)",
                                                         extra=" (i32.const 0) (i32.const 0) (i32.const 0)")))
    ldc = "(i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4))"
    work = f" (i32.add (local.get $c) (i32.mul (local.get $m) (i32.shl {ldc} (i32.const 2))))"
    for name, text in kernels.items():
        takes_work = "(param $ldc i32) (param $work i32)" in text  # older revisions: after C, implicitly
        parts.append(text.replace("$i8_gemm", f"${name}"))
        parts.append(wrap.format(e=name, call=call.format(f=name, ldc=ldc, extra=work if takes_work else "")))
    return "\n".join(parts) + ")"


def pack_i8(b: np.ndarray) -> np.ndarray:
    k, n = b.shape
    kp, np_ = -(-k // 16) * 16, -(-n // 4) * 4
    full = np.zeros((kp, np_), np.int8)
    full[:k, :n] = b
    return full.reshape(kp // 16, 16, np_ // 4, 4).transpose(2, 0, 3, 1).reshape(-1)


def pack_f32(b: np.ndarray) -> np.ndarray:
    k, n = b.shape
    kp, np_ = -(-k // 4) * 4, -(-n // 4) * 4
    full = np.zeros((kp, np_), np.float32)
    full[:k, :n] = b
    return full.reshape(kp // 4, 4, np_ // 4, 4).transpose(2, 0, 3, 1).ravel()


def operands(name: str, a: np.ndarray, b: np.ndarray) -> tuple[bytes, bytes]:
    if name == "f32":
        return a.astype(np.float32).tobytes(), pack_f32(b.astype(np.float32)).tobytes()
    return a.tobytes() + bytes(64), pack_i8(b).tobytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", nargs="+", default=SHAPES)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--before", help="git revision: also time i8_gemm.wat as of it")
    ap.add_argument("--node", action="store_true")
    args = ap.parse_args()
    kernels = {"i8": (ROOT / "csrc" / "wat" / "i8_gemm.wat").read_text()}
    if args.before:
        kernels["i8_before"] = subprocess.run(["git", "show", f"{args.before}:csrc/wat/i8_gemm.wat"], cwd=ROOT,
                                              check=True, capture_output=True, text=True).stdout
    wasm = wasmtime.wat2wasm(module(kernels))
    cfg = wasmtime.Config()
    for key, value in {**wasmtime_settings(), **memory_settings(PAGES)}.items():
        if key == "cranelift_flags":
            for flag, v in value.items():
                cfg.cranelift_flag_set(flag, v)
        else:
            setattr(cfg, key, value)
    store = wasmtime.Store(wasmtime.Engine(cfg))
    exports = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), []).exports(store)
    mem = np.frombuffer(exports["memory"].get_buffer_ptr(store), np.uint8)
    names = ["f32", *kernels]
    tmp = Path(tempfile.mkdtemp())
    (tmp / "probe.wasm").write_bytes(wasm)
    for shape in args.shapes:
        m, k, n = (int(v) for v in shape.split("x"))
        rng = np.random.default_rng(0)
        a = rng.integers(-128, 128, (m, k)).astype(np.int8)
        b = rng.integers(-127, 128, (k, n)).astype(np.int8)
        want = a.astype(np.int64) @ b.astype(np.int64)
        reps = max(1, int(5e-3 / (2 * m * n * k / 40e9)))
        data = {name: operands(name, a, b) for name in names}
        times = {name: [] for name in names}
        for rnd in range(args.rounds):
            for name in names:
                ab, bb = data[name]
                mem[PA: PA + len(ab)] = np.frombuffer(ab, np.uint8)
                mem[PB: PB + len(bb)] = np.frombuffer(bb, np.uint8)
                t0 = time.thread_time()
                exports[name](store, reps, PA, PB, PC, m, n, k)
                times[name].append((time.thread_time() - t0) / reps)
                if rnd == 0:
                    np_ = n if name == "f32" else -(-n // 4) * 4
                    c = mem[PC: PC + 4 * m * np_].view(np.float32 if name == "f32" else np.int32).reshape(m, np_)
                    if not np.array_equal(c[:, :n], want):
                        sys.exit(f"{name} {shape}: wrong result")
        med = {name: statistics.median(v) for name, v in times.items()}
        ops = 2 * m * n * k
        print(f"wasmtime {shape}: " + "  ".join(f"{name} {ops / med[name] / 1e9:.1f} GOP/s "
                                                f"({med['f32'] / med[name]:.2f}x)" for name in names), flush=True)
        if args.node:
            for name in names:
                ab, bb = data[name]
                (tmp / f"{name}_a.bin").write_bytes(ab)
                (tmp / f"{name}_b.bin").write_bytes(bb)
            out = subprocess.run(["node", "--no-liftoff", ROOT / "benchmarks" / "i8_gemm_probe.mjs", tmp / "probe.wasm",
                                  tmp, ",".join(names), str(m), str(k), str(n), str(reps), str(args.rounds),
                                  json.dumps([PA, PB, PC])], check=True, capture_output=True, text=True).stdout
            med = json.loads(out)
            print(f"node     {shape}: " + "  ".join(f"{name} {ops / med[name] / 1e6:.1f} GOP/s "
                                                    f"({med['f32'] / med[name]:.2f}x)" for name in names), flush=True)


if __name__ == "__main__":
    main()
