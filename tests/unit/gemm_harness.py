"""Shared harness of the GEMM kernel tests (test_gemm_wat.py: ``$f32_gemm`` over a row-major
B; test_gemm_packed_wat.py: the packed kernels): random operands, their placement in linear
memory (random gaps, misaligned bases, one operand flush against the end of memory, where
any read or write past it would trap), the check that nothing outside C changed, and the
(m, n, k) sweeps both files run."""

from __future__ import annotations

import numpy as np


def span(rows: int, cols: int, ld: int) -> int:
    """Elements from the first to one past the last element of a view."""
    return 0 if rows == 0 or cols == 0 else (rows - 1) * ld + cols


def idx(base: int, rows: int, cols: int, ld: int) -> np.ndarray:
    """float32 indices of a (rows, cols) view with leading dimension ``ld`` at byte ``base``."""
    return base // 4 + np.arange(rows)[:, None] * ld + np.arange(cols)[None, :]


def operands(rng, case, A=None, B=None, C0=None, br=None, bc=None):
    """A (m, k), B (k, n), C0 (m, n) and the optional bias row/column: the given ones, the
    others drawn from N(0, 1) (biases only where the case asks for them)."""
    m, n, k, f32 = case.m, case.n, case.k, np.float32
    A = rng.standard_normal((m, k)).astype(f32) if A is None else A
    B = rng.standard_normal((k, n)).astype(f32) if B is None else B
    C0 = rng.standard_normal((m, n)).astype(f32) if C0 is None else C0
    if br is None and case.bias_row:
        br = rng.standard_normal(m).astype(f32)
    if bc is None and case.bias_col:
        bc = rng.standard_normal(n).astype(f32)
    return A, B, C0, br, bc


def place(rng, shapes: dict, misalign: dict, last, mem_bytes: int, start: int = 256):
    """Byte bases for the operands ``shapes`` (name -> (rows, cols, ld)), in that order, with
    random 16-byte gaps and each base at ``misalign[name]`` mod 16; ``last`` (a name or None)
    ends exactly at ``mem_bytes``. Returns (bases, end of the others)."""
    base, cur = {}, start
    for name in shapes:
        if name == last:
            continue
        cur += int(rng.integers(0, 3)) * 16  # random gap of garbage
        cur = (cur + 15) // 16 * 16 + misalign[name]
        base[name] = cur
        cur += 4 * span(*shapes[name])
    if last is not None:
        n = span(*shapes[last])
        assert n > 0, "operand placed at end of memory must be non-empty"
        base[last] = mem_bytes - 4 * n
        assert base[last] >= cur
    assert cur < mem_bytes
    return base, cur


def result_and_untouched(before: np.ndarray, after: np.ndarray, ic: np.ndarray, c_base: int) -> np.ndarray:
    """C read back from the memory snapshot ``after``; fails if any byte outside C changed."""
    got = after.view(np.float32)[ic].copy()
    after.view(np.float32)[ic] = before.view(np.float32)[ic]
    if not np.array_equal(after, before):
        diff = np.nonzero(after != before)[0]
        raise AssertionError(f"bytes outside C modified at {diff[:8]} (C base {c_base})")
    return got


def grid_shapes(sizes, m: int):
    """All (m, n) pairs with n from ``sizes``, k cycling through ``sizes``."""
    for jn, n in enumerate(sizes):
        for shift in (0, 5, 11):
            yield m, n, sizes[(sizes.index(m) + jn + shift) % len(sizes)]


def random_shapes(rng, sizes, count: int):
    for _ in range(count):
        yield tuple(int(x) for x in rng.choice(sizes, size=3))
