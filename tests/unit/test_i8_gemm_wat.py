"""csrc/wat/i8_gemm.wat against numpy: exact int32 sums of int8 products, odd sizes (m
below 4 takes the direct path, 4 and more the widened panels), the documented packed
layout, garbage (not zeros) in A's slack and in the workspace, and memory outside C's rows
and the workspace untouched. The fragment is wrapped in a small module, assembled by ``wasmtime.wat2wasm``
and run in wasmtime; packing is numpy's (the same layout ``lower/quant_gemm.py`` writes, which
the interpreter also reads: ``interp._qgemm``). ``$i8_gemm_q`` (the sums requantised to int8 in
the store) against numpy's float32 arithmetic in the order the kernel documents, with values
that land on halves (round half to even), clamp at both ends, and column counts that are
not multiples of 4 (the last panel's partial stores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

wasmtime = pytest.importorskip("wasmtime")

WAT = (Path(__file__).parents[2] / "csrc" / "wat" / "i8_gemm.wat").read_text()
MODULE = (f'(module (memory (export "memory") 16)\n{WAT}\n(export "gemm" (func $i8_gemm))\n'
          '(export "gemm_q" (func $i8_gemm_q)))')


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
    check_i8_gemm(instance, m, n, k)


@pytest.mark.parametrize("m,n,k", [(32, 5, 16), (33, 8, 100), (37, 3, 7), (64, 4, 33), (70, 9, 17)])
def test_i8_gemm_blocks_of_32_rows(instance, m, n, k):
    """More than one 32-row block of widened A (an odd row in the last, or none)."""
    check_i8_gemm(instance, m, n, k)


def check_i8_gemm(instance, m, n, k):
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
    touched[work: work + 72 * (-(-k // 16) * 16)] = True
    assert np.array_equal(mem[~touched], before[~touched])


def requantised(acc, corr, scale, bias, floor, inv, zp, lo, hi, zw=None, xsum=None) -> np.ndarray:
    """The documented epilogue, in numpy float32 (IEEE single, as the kernel)."""
    f32 = np.float32
    v = acc - corr if zw is None else acc - corr - zw[None, :] * xsum[:, None]
    y = v.astype(f32) * scale + bias
    y = np.maximum(y, f32(floor))
    q = np.rint(y * f32(inv)) + f32(zp)
    return np.clip(q, f32(lo), f32(hi)).astype(np.int8)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 9, 45])
@pytest.mark.parametrize("n", [1, 3, 4, 6, 13])
@pytest.mark.parametrize("k", [5, 16, 40])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("asymmetric", [False, True])
def test_i8_gemm_q_requantises_as_documented(instance, m, n, k, relu, asymmetric):
    store, inst = instance
    rng = np.random.default_rng(m * 1000 + n * 10 + k + relu + 2 * asymmetric)
    lda, np_ = k + 1, -(-n // 4) * 4
    a = rng.integers(-128, 128, (m, lda), dtype=np.int8)
    b = rng.integers(-127, 128, (k, n), dtype=np.int8)
    acc = (a[:, :k].astype(np.int64) @ b.astype(np.int64)).astype(np.int32)
    corr = rng.integers(-2000, 2000, np_).astype(np.int32)
    scale = np.full(np_, 2.0 ** -7, np.float32)  # power-of-two scales: many products land on halves
    scale[::3] = (rng.random(np_)[::3] * 0.01).astype(np.float32)
    scale[0], corr[0] = 1.0, -10**6  # column 0 saturates
    bias = (rng.integers(-64, 64, np_) * 2.0 ** -8).astype(np.float32)
    floor, inv, zp, lo, hi = (0.0 if relu else -np.inf), 1.0, -3.0, -128.0, 127.0
    rq = np.repeat(np.array([inv, zp, lo, hi, floor], np.float32), 4)
    mem = np.frombuffer(inst.exports(store)["memory"].get_buffer_ptr(store), np.uint8)
    mem[:] = rng.integers(0, 256, mem.size, dtype=np.uint8)
    pa = 64
    pb = pa + m * lda + 64
    packed = pack(b)
    pout = pb + packed.size + 64
    ldo = n + 2
    pcorr = pout + m * ldo + 64
    pscale, pbias, prq = pcorr + 4 * np_, pcorr + 8 * np_, pcorr + 12 * np_
    zw = rng.integers(-3, 4, np_).astype(np.int32)
    xsum = rng.integers(-5000, 5000, m).astype(np.int32)  # any values: the kernel only reads them
    pzw = prq + rq.nbytes + 16
    pxsum = pzw + zw.nbytes + 16
    work = pxsum + xsum.nbytes + 64
    mem[pa: pa + a.size] = a.view(np.uint8).reshape(-1)
    mem[pb: pb + packed.size] = packed.view(np.uint8)
    for at, arr in ((pcorr, corr), (pscale, scale), (pbias, bias), (prq, rq), (pzw, zw), (pxsum, xsum)):
        mem[at: at + arr.nbytes] = arr.view(np.uint8)
    before = mem.copy()
    inst.exports(store)["gemm_q"](store, pa, pb, pout, m, n, k, lda, ldo, work, prq, pcorr, pscale, pbias,
                                  pzw if asymmetric else 0, pxsum if asymmetric else 0)
    got = mem[pout: pout + m * ldo].view(np.int8).reshape(m, ldo)[:, :n]
    want = requantised(acc, corr[:n], scale[:n], bias[:n], floor, inv, zp, lo, hi,
                       *((zw[:n], xsum) if asymmetric else ()))
    assert np.array_equal(got, want)
    assert (want[:, 0] == 127).all()  # the clamp is exercised
    touched = np.zeros(mem.size, bool)
    for i in range(m):
        touched[pout + i * ldo: pout + i * ldo + n] = True  # only the n columns of each row
    touched[work: work + 72 * (-(-k // 16) * 16)] = True
    assert np.array_equal(mem[~touched], before[~touched])
