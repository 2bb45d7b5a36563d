"""csrc/wat/i8_gemm.wat against numpy: exact int32 sums of int8 products, odd sizes (m
below 4 takes the direct path, 4 and more the widened panels), the documented packed
layout, garbage (not zeros) in A's slack and in the workspace, and memory outside C's rows
and the workspace untouched. The fragment is wrapped in a small module, assembled by ``wasmtime.wat2wasm``
and run in wasmtime; packing is numpy's (the same layout ``lower/quant_gemm.py`` writes, which
the interpreter also reads: ``interp._qgemm``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

wasmtime = pytest.importorskip("wasmtime")

WAT = (Path(__file__).parents[2] / "csrc" / "wat" / "i8_gemm.wat").read_text()
MODULE = f'(module (memory (export "memory") 16)\n{WAT}\n(export "gemm" (func $i8_gemm)))'


@pytest.fixture(scope="module")
def instance():
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, wasmtime.wat2wasm(MODULE))
    return store, wasmtime.Instance(store, module, [])


def pack(b: np.ndarray) -> np.ndarray:
    """(k, n) int8 -> the documented panels: (p, j) at (j//4)*4*Kp + (p//16)*64 + (j%4)*16 + p%16."""
    k, n = b.shape
    kp, np_ = -(-k // 16) * 16, -(-n // 4) * 4
    full = np.zeros((kp, np_), np.int8)
    full[:k, :n] = b
    return full.reshape(kp // 16, 16, np_ // 4, 4).transpose(2, 0, 3, 1).reshape(-1)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 11])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 17])
@pytest.mark.parametrize("k", [1, 7, 8, 15, 16, 17, 33, 100])
def test_i8_gemm_is_exact(instance, m, n, k):
    store, inst = instance
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    lda, np_ = k + 3, -(-n // 4) * 4
    ldc = np_ + 2
    a = rng.integers(-128, 128, (m, lda), dtype=np.int8)  # columns k.. are garbage the kernel must ignore
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    mem = np.frombuffer(inst.exports(store)["memory"].get_buffer_ptr(store), np.uint8)
    mem[:] = rng.integers(0, 256, mem.size, dtype=np.uint8)
    pa, pb, pc = 64, 64 + m * lda + 64, 4096 * 8
    mem[pa: pa + a.size] = a.view(np.uint8).reshape(-1)
    packed = pack(b)
    mem[pb: pb + packed.size] = packed.view(np.uint8)
    before = mem.copy()
    work = pc + 4 * m * ldc + 48  # the workspace: 8 * round_up(k, 16) bytes, anywhere (here after C)
    inst.exports(store)["gemm"](store, pa, pb, pc, m, n, k, lda, ldc, work)
    c = mem[pc: pc + 4 * m * ldc].view(np.int32).reshape(m, ldc)
    want = a[:, :k].astype(np.int64) @ b.astype(np.int64)
    assert np.array_equal(c[:, :n], want)
    assert not c[:, n:np_].any()  # B's padding columns give 0
    touched = np.zeros(mem.size, bool)
    for i in range(m):
        touched[pc + 4 * i * ldc: pc + 4 * (i * ldc + np_)] = True
    touched[work: work + 8 * (-(-k // 16) * 16)] = True
    assert np.array_equal(mem[~touched], before[~touched])
