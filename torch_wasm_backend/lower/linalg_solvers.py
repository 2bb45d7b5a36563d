"""Factorizations and solvers: LU (``linalg_lu_factor_ex``, ``linalg_lu``, ``lu_unpack``,
``linalg_lu_solve``, ``_linalg_solve_ex``, ``linalg_inv_ex``, ``_linalg_det``,
``_linalg_slogdet``), Cholesky (``linalg_cholesky_ex``, ``cholesky``, ``cholesky_solve``,
``cholesky_inverse``), triangular solves (``linalg_solve_triangular``, ``triangular_solve``)
and Bunch-Kaufman LDL^T (``linalg_ldl_factor_ex``, ``linalg_ldl_solve``), as
``ir.MatrixCall`` kernels (routines of csrc/wat/linalg_f32.wat, float64 inside);
``_linalg_check_errors`` traps where PyTorch raises. The orthogonal factorizations (QR,
eigh, SVD, pinv) are in ``linalg_orthogonal.py``, matrix products in ``linalg.py``; the
helpers here (``matrices``, ``call``, ``part``) serve both.

Strategy: every operand is a batch of strided f32 matrices (``_matrices``: the batch dims
flattened into one stride, else copied contiguous first). A routine writes each matrix's
results contiguous; the ATen outputs are views of them (a transposed view where a routine
computed the transpose: a right-hand solve ``X A = B`` is ``A^T X^T = B^T``, an upper
Cholesky factor is the transposed lower factor of ``A^T``), pivots and info are cast to
int32, and the host lays every output out as eager does (column-major LU and inverses
included: ``ResultLayout``). Everything is float32 with static shapes; other dtypes and
symbolic sizes fall back.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy
import torch

from .. import ir
from ..indexing import contiguous_strides
from .core import TensorValue, Unsupported, static_int, stored
from .masks import trap_unless
from .pointwise import binary, const_like
from .registry import broadcast_shapes, broadcast_to, cast, lower
from .views import unsqueeze_dims

aten = torch.ops.aten


def mT(v: TensorValue) -> TensorValue:
    """The transpose of the last two dims (a view)."""
    shape = v.shape[:-2] + (v.shape[-1], v.shape[-2])
    return TensorValue(shape, v.dtype, lambda idx: v.load(tuple(idx[:-2]) + (idx[-1], idx[-2])))


def matrices(ctx, v: TensorValue, what: str) -> ir.Operand:
    """``v`` (..., rows, cols) as one strided operand over its flattened batch dims; a
    value that is not such a view (or whose batch dims do not flatten) is copied first."""
    if v.dtype != "f32":
        raise Unsupported(f"{what} of {v.dtype} (float32 only)")
    for s in v.shape:
        static_int(s, what)
    for attempt in range(2):
        s = ctx.strided(v)
        if s is not None:
            dims = [(int(n), s.strides[d]) for d, n in enumerate(v.shape[:-2]) if int(n) != 1]
            if all(a[1] == b[1] * b[0] for a, b in itertools.pairwise(dims)):
                return ir.Operand(s.buffer, s.offset, dims[-1][1] if dims else 0, s.strides[-2], s.strides[-1])
        v = ctx.realize(v)
    raise AssertionError("a realised value is strided")


def call(ctx, routine: str, args, sizes, batch_shape, trap: str = "") -> tuple[str, int]:
    """Append a MatrixCall over ``batch_shape``; (its output buffer, floats per matrix).
    ``trap``: what a trap in the routine means (``ir.MatrixCall.trap``)."""
    batch = int(np.prod([int(b) for b in batch_shape], dtype=np.int64))
    probe = ir.MatrixCall("probe", routine, tuple(args), "probe", batch, tuple(sizes))
    out = ctx.new_buffer("f32", max(probe.out_floats(), 1))
    if batch:
        ctx.kernels.append(ir.MatrixCall(ctx.name("matrix"), routine, tuple(args), out, batch, tuple(sizes), trap))
    return out, probe.stride


def pivot_trap(what: str, rows: int) -> str:
    return f"{what}: a pivot is out of range [1, {rows}] (not the pivots of a factorization of this size)"


def part(buf: str, stride: int, batch_shape, shape, offset: int = 0, dtype: str = "f32") -> TensorValue:
    """Result ``shape`` (row-major at ``offset`` in each matrix's results) over the batch."""
    batch_shape = tuple(sympy.Integer(int(b)) for b in batch_shape)
    if 0 in batch_shape:  # nothing ran: an empty result
        return TensorValue(
            batch_shape + tuple(sympy.Integer(int(s)) for s in shape),
            dtype,
            lambda idx: ir.Const(0 if dtype != "f32" else 0.0, dtype),
        )
    strides = tuple(s * stride for s in contiguous_strides(batch_shape)) + contiguous_strides(tuple(shape))
    v = stored(buf, batch_shape + tuple(sympy.Integer(int(s)) for s in shape), "f32", strides, offset)
    return cast(v, dtype)


def batch_of(v: TensorValue, core: int) -> tuple:
    return tuple(v.shape[: v.ndim - core])


def square(v: TensorValue, what: str) -> int:
    if v.ndim < 2 or v.shape[-1] != v.shape[-2]:
        raise Unsupported(f"{what} of a non-square {list(v.shape)} matrix (PyTorch raises)")
    return static_int(v.shape[-1], what)


# --------------------------------------------------------------------------- LU
def lu_factor(ctx, a: TensorValue, what: str):
    """(LU, pivots i32, info i32, results buffer, stride) of ``a`` (..., m, n)."""
    if a.ndim < 2:
        raise Unsupported(f"{what} of a {a.ndim}-d tensor (PyTorch raises)")
    m, n = static_int(a.shape[-2], what), static_int(a.shape[-1], what)
    batch = batch_of(a, 2)
    buf, stride = call(ctx, "lu", [matrices(ctx, a, what)], (m, n), batch)
    k = min(m, n)
    lu = part(buf, stride, batch, (m, n))
    piv = part(buf, stride, batch, (k,), m * n, "i32")
    info = part(buf, stride, batch, (), m * n + k, "i32")
    return lu, piv, info, buf, stride


def lu_solve(ctx, lu: TensorValue, piv: TensorValue, b: TensorValue, adjoint: bool, what: str) -> TensorValue:
    """X (..., n, k) with A X = B (A^T X = B), A = P L U given by ``lu`` and 1-based
    ``piv``; the batch dims broadcast."""
    n = square(lu, what)
    k = static_int(b.shape[-1], what)
    batch = broadcast_shapes(batch_of(lu, 2), batch_of(piv, 1), batch_of(b, 2))
    lu = broadcast_to(lu, batch + tuple(lu.shape[-2:]))
    b = broadcast_to(b, batch + tuple(b.shape[-2:]))
    piv = broadcast_to(cast(piv, "f32"), batch + (piv.shape[-1],))
    args = [
        matrices(ctx, lu, what),
        matrices(ctx, unsqueeze_dims(piv, [piv.ndim - 1]), what),
        matrices(ctx, b, what),
    ]
    buf, stride = call(ctx, "lu_solve", args, (n, k, int(adjoint)), batch, pivot_trap(what, n))
    return part(buf, stride, batch, (n, k))


@lower(aten.linalg_lu_factor_ex.default)
def linalg_lu_factor_ex(ctx, node, a, pivot=True, check_errors=False):
    if not pivot:
        raise Unsupported("LU without pivoting (PyTorch's CPU kernel raises)")
    lu, piv, info, _, _ = lu_factor(ctx, a, "linalg.lu_factor")
    return [lu, piv, info]


def _permutation(ctx, piv: TensorValue, m: int, what: str) -> TensorValue:
    """P (..., m, m) with A = P L U for the 1-based pivots ``piv`` (..., k)."""
    batch = batch_of(piv, 1)
    k = static_int(piv.shape[-1], what)
    op = matrices(ctx, unsqueeze_dims(cast(piv, "f32"), [piv.ndim - 1]), what)
    buf, stride = call(ctx, "lu_perm", [op], (m, k), batch, pivot_trap(what, m))
    perm = part(buf, stride, batch, (m,))  # perm[c]: the row of A that row c of P^T A is
    nb = len(batch)

    def loader(idx):
        hit = ir.Op(
            "eq",
            (perm.load(tuple(idx[:nb]) + (idx[nb + 1],)), ir.Op("cast", (ir.Index(idx[nb], "i32"),), "f32")),
            "bool",
        )
        return ir.Op("where", (hit, ir.Const(1.0, "f32"), ir.Const(0.0, "f32")), "f32")

    return TensorValue(tuple(batch) + (sympy.Integer(m), sympy.Integer(m)), "f32", loader)


def triangle(v: TensorValue, upper: bool) -> TensorValue:
    """``v`` with zeros below (``upper``) or above its diagonal."""
    nb = v.ndim - 2

    def loader(idx):
        keep = ir.Op("le" if upper else "ge", (ir.Index(idx[nb], "i32"), ir.Index(idx[nb + 1], "i32")), "bool")
        return ir.Op("where", (keep, v.load(idx), ir.Const(0.0, "f32")), "f32")

    return TensorValue(v.shape, "f32", loader)


def _unpack(lu: TensorValue) -> tuple[TensorValue, TensorValue]:
    """L (..., m, k) unit lower and U (..., k, n) upper from packed LU factors."""
    m, n = int(lu.shape[-2]), int(lu.shape[-1])
    k = min(m, n)
    nb = lu.ndim - 2
    zero, one = ir.Const(0.0, "f32"), ir.Const(1.0, "f32")

    def tri(lower: bool):
        def loader(idx):
            r, c = idx[nb], idx[nb + 1]
            below = ir.Op("gt" if lower else "le", (ir.Index(r, "i32"), ir.Index(c, "i32")), "bool")
            val = ir.Op("where", (below, lu.load(idx), zero), "f32")
            if lower:
                diag = ir.Op("eq", (ir.Index(r, "i32"), ir.Index(c, "i32")), "bool")
                val = ir.Op("where", (diag, one, val), "f32")
            return val

        return loader

    batch = tuple(lu.shape[:nb])
    low = TensorValue(batch + (sympy.Integer(m), sympy.Integer(k)), "f32", tri(True))
    up = TensorValue(batch + (sympy.Integer(k), sympy.Integer(n)), "f32", tri(False))
    return low, up


@lower(aten.linalg_lu.default)
def linalg_lu(ctx, node, a, pivot=True):
    if not pivot:
        raise Unsupported("LU without pivoting (PyTorch's CPU kernel raises)")
    lu, piv, _, _, _ = lu_factor(ctx, a, "linalg.lu")
    low, up = _unpack(lu)
    return [_permutation(ctx, piv, int(a.shape[-2]), "linalg.lu"), low, up]


@lower(aten.lu_unpack.default)
def lu_unpack(ctx, node, lu, piv, unpack_data=True, unpack_pivots=True):
    low, up = _unpack(lu)
    m = static_int(lu.shape[-2], "lu_unpack")
    p = (
        _permutation(ctx, piv, m, "lu_unpack")
        if unpack_pivots
        else TensorValue((sympy.Integer(0),), "f32", lambda idx: ir.Const(0.0, "f32"))
    )
    if not unpack_data:
        low = TensorValue((sympy.Integer(0),), "f32", lambda idx: ir.Const(0.0, "f32"))
        up = low
    return [p, low, up]


@lower(aten.linalg_lu_solve.default)
def linalg_lu_solve(ctx, node, lu, piv, b, left=True, adjoint=False):
    if left:
        return lu_solve(ctx, lu, piv, b, adjoint, "linalg.lu_solve")
    return mT(lu_solve(ctx, lu, piv, mT(b), not adjoint, "linalg.lu_solve"))


def _is_vector_rhs(a: TensorValue, b: TensorValue) -> bool:
    """``linalg.solve``'s rule: B is a vector (or a batch of them)."""
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))


@lower(aten._linalg_solve_ex.default)
def linalg_solve_ex(ctx, node, a, b, left=True, check_errors=False):
    square(a, "linalg.solve")
    lu, piv, info, _, _ = lu_factor(ctx, a, "linalg.solve")
    vector = _is_vector_rhs(a, b)
    rhs = unsqueeze_dims(b, [b.ndim]) if vector else b
    if left:
        x = lu_solve(ctx, lu, piv, rhs, False, "linalg.solve")
    else:
        x = mT(lu_solve(ctx, lu, piv, mT(rhs), True, "linalg.solve"))
    if vector:
        col = x
        x = TensorValue(col.shape[:-1], "f32", lambda idx: col.load(tuple(idx) + (0,)))
    return [x, lu, piv, info]


@lower(aten.linalg_inv_ex.default)
def linalg_inv_ex(ctx, node, a, check_errors=False):
    n = square(a, "linalg.inv")
    lu, piv, info, _, _ = lu_factor(ctx, a, "linalg.inv")
    eye = ctx.constant(np.eye(n, dtype=np.float32), "f32")
    return [lu_solve(ctx, lu, piv, eye, False, "linalg.inv"), info]


@lower(aten._linalg_det.default)
def linalg_det(ctx, node, a):
    n = square(a, "linalg.det")
    lu, piv, _, buf, stride = lu_factor(ctx, a, "linalg.det")
    return [part(buf, stride, batch_of(a, 2), (), n * n + n + 3), lu, piv]


@lower(aten._linalg_slogdet.default)
def linalg_slogdet(ctx, node, a):
    n = square(a, "linalg.slogdet")
    lu, piv, _, buf, stride = lu_factor(ctx, a, "linalg.slogdet")
    batch = batch_of(a, 2)
    return [part(buf, stride, batch, (), n * n + n + 1), part(buf, stride, batch, (), n * n + n + 2), lu, piv]


@lower(aten._linalg_check_errors.default)
def linalg_check_errors(ctx, node, info, api_name, is_matrix=True):
    """Trap unless every ``info`` is 0, as PyTorch raises (the message: ``trap_text``)."""
    return trap_unless(ctx, binary("eq", info, const_like(info, 0), "bool"))


def check_message(api_name: str) -> str:
    """What a failed ``_linalg_check_errors`` means, in PyTorch's terms."""
    if "cholesky" in api_name:
        return (
            f"{api_name}: The factorization could not be completed because the input is not "
            f"positive-definite (as PyTorch raises)"
        )
    return f"{api_name}: The input matrix is singular (a zero pivot in its LU factorization; as PyTorch raises)"


# --------------------------------------------------------------------------- Cholesky, triangular
def cholesky(ctx, a: TensorValue, upper: bool, what: str) -> tuple[TensorValue, TensorValue]:
    """(L, or U = L^T when ``upper``, read from A's upper triangle; info i32)."""
    n = square(a, what)
    batch = batch_of(a, 2)
    buf, stride = call(ctx, "cholesky", [matrices(ctx, mT(a) if upper else a, what)], (n,), batch)
    low = part(buf, stride, batch, (n, n))
    return (mT(low) if upper else low), part(buf, stride, batch, (), n * n, "i32")


def trsm(ctx, t: TensorValue, b: TensorValue, upper: bool, unit: bool, what: str) -> TensorValue:
    """X (..., n, k) with T X = B, T the upper or lower triangle of ``t``; batches broadcast."""
    n = square(t, what)
    k = static_int(b.shape[-1], what)
    batch = broadcast_shapes(batch_of(t, 2), batch_of(b, 2))
    args = [
        matrices(ctx, broadcast_to(t, batch + tuple(t.shape[-2:])), what),
        matrices(ctx, broadcast_to(b, batch + tuple(b.shape[-2:])), what),
    ]
    buf, stride = call(ctx, "trsm", args, (n, k, int(upper), int(unit)), batch)
    return part(buf, stride, batch, (n, k))


def solve_triangular(ctx, t, b, upper: bool, left: bool, unit: bool, what: str) -> TensorValue:
    if left:
        return trsm(ctx, t, b, upper, unit, what)
    return mT(trsm(ctx, mT(t), mT(b), not upper, unit, what))  # X T = B: T^T X^T = B^T


@lower(aten.linalg_cholesky_ex.default)
def linalg_cholesky_ex(ctx, node, a, upper=False, check_errors=False):
    return list(cholesky(ctx, a, upper, "linalg.cholesky"))


@lower(aten.cholesky.default)
def cholesky_(ctx, node, a, upper=False):
    return cholesky(ctx, a, upper, "cholesky")[0]


def _cholesky_solve(ctx, b, factor, upper: bool, what: str) -> TensorValue:
    """A^-1 B for A = L L^T (or U^T U): L Y = B, then L^T X = Y."""
    low = mT(factor) if upper else factor
    y = trsm(ctx, low, b, False, False, what)
    return trsm(ctx, mT(low), y, True, False, what)


@lower(aten.cholesky_solve.default)
def cholesky_solve(ctx, node, b, factor, upper=False):
    return _cholesky_solve(ctx, b, factor, upper, "cholesky_solve")


@lower(aten.cholesky_inverse.default)
def cholesky_inverse(ctx, node, factor, upper=False):
    n = square(factor, "cholesky_inverse")
    eye = ctx.constant(np.eye(n, dtype=np.float32), "f32")
    return _cholesky_solve(ctx, eye, factor, upper, "cholesky_inverse")


@lower(aten.linalg_solve_triangular.default)
def linalg_solve_triangular(ctx, node, a, b, upper, left=True, unitriangular=False):
    return solve_triangular(ctx, a, b, upper, left, unitriangular, "linalg.solve_triangular")


@lower(aten.triangular_solve.default)
def triangular_solve(ctx, node, b, a, upper=True, transpose=False, unitriangular=False):
    """X with A X = B (A^T X = B when ``transpose``), and a copy of A."""
    t, up = (mT(a), not upper) if transpose else (a, upper)
    x = trsm(ctx, t, b, up, unitriangular, "triangular_solve")
    return [x, ctx.realize(a)]


# --------------------------------------------------------------------------- LDL^T
@lower(aten.linalg_ldl_factor_ex.default)
def linalg_ldl_factor_ex(ctx, node, a, hermitian=False, check_errors=False):
    """Bunch-Kaufman as LAPACK's sytrf (its unblocked sytf2, which sytrf runs for n <= 64:
    larger matrices fall back, where sytrf's blocked steps order the work differently)."""
    n = square(a, "linalg.ldl_factor")
    if n > 64:
        raise Unsupported("linalg.ldl_factor of a matrix larger than 64 (LAPACK's blocked sytrf)")
    batch = batch_of(a, 2)
    buf, stride = call(ctx, "ldl", [matrices(ctx, a, "linalg.ldl_factor")], (n,), batch)
    return [
        part(buf, stride, batch, (n, n)),
        part(buf, stride, batch, (n,), n * n, "i32"),
        part(buf, stride, batch, (), n * n + n, "i32"),
    ]


@lower(aten.linalg_ldl_solve.default)
def linalg_ldl_solve(ctx, node, ld, piv, b, hermitian=False):
    """A X = B from ``ldl_factor``'s LD and pivots, as LAPACK's sytrs (lower)."""
    n = square(ld, "linalg.ldl_solve")
    k = static_int(b.shape[-1], "linalg.ldl_solve")
    batch = broadcast_shapes(batch_of(ld, 2), batch_of(piv, 1), batch_of(b, 2))
    ld = broadcast_to(ld, batch + tuple(ld.shape[-2:]))
    b = broadcast_to(b, batch + tuple(b.shape[-2:]))
    piv = broadcast_to(cast(piv, "f32"), batch + (piv.shape[-1],))
    args = [
        matrices(ctx, ld, "linalg.ldl_solve"),
        matrices(ctx, unsqueeze_dims(piv, [piv.ndim - 1]), "linalg.ldl_solve"),
        matrices(ctx, b, "linalg.ldl_solve"),
    ]
    buf, stride = call(ctx, "ldl_solve", args, (n, k), batch, pivot_trap("linalg.ldl_solve", n))
    return part(buf, stride, batch, (n, k))
