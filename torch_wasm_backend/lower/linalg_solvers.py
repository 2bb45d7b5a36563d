"""Factorizations and solvers: LU (``linalg_lu_factor_ex``, ``linalg_lu``, ``lu_unpack``,
``linalg_lu_solve``, ``_linalg_solve_ex``, ``linalg_inv_ex``, ``_linalg_det``,
``_linalg_slogdet``), Cholesky (``linalg_cholesky_ex``, ``cholesky``, ``cholesky_solve``,
``cholesky_inverse``) and triangular solves (``linalg_solve_triangular``,
``triangular_solve``), as ``ir.MatrixCall`` kernels (routines of csrc/wat/linalg_f32.wat,
float64 inside); ``_linalg_check_errors`` traps where PyTorch raises. Matrix products stay
in ``linalg.py``.

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


def _static_shape(v: TensorValue, what: str) -> tuple:
    return tuple(static_int(s, what) for s in v.shape)


def _mT(v: TensorValue) -> TensorValue:
    """The transpose of the last two dims (a view)."""
    shape = v.shape[:-2] + (v.shape[-1], v.shape[-2])
    return TensorValue(shape, v.dtype, lambda idx: v.load(tuple(idx[:-2]) + (idx[-1], idx[-2])))


def _matrices(ctx, v: TensorValue, what: str) -> ir.Operand:
    """``v`` (..., rows, cols) as one strided operand over its flattened batch dims; a
    value that is not such a view (or whose batch dims do not flatten) is copied first."""
    if v.dtype != "f32":
        raise Unsupported(f"{what} of {v.dtype} (float32 only)")
    _static_shape(v, what)
    for attempt in range(2):
        s = ctx.strided(v)
        if s is not None:
            dims = [(int(n), s.strides[d]) for d, n in enumerate(v.shape[:-2]) if int(n) != 1]
            if all(a[1] == b[1] * b[0] for a, b in itertools.pairwise(dims)):
                return ir.Operand(s.buffer, s.offset, dims[-1][1] if dims else 0, s.strides[-2], s.strides[-1])
        v = ctx.realize(v)
    raise AssertionError("a realised value is strided")


def call(ctx, routine: str, args, sizes, batch_shape) -> tuple[str, int]:
    """Append a MatrixCall over ``batch_shape``; (its output buffer, floats per matrix)."""
    batch = int(np.prod([int(b) for b in batch_shape], dtype=np.int64))
    probe = ir.MatrixCall("probe", routine, tuple(args), "probe", batch, tuple(sizes))
    out = ctx.new_buffer("f32", max(probe.out_floats(), 1))
    if batch:
        ctx.kernels.append(ir.MatrixCall(ctx.name("matrix"), routine, tuple(args), out, batch, tuple(sizes)))
    return out, probe.stride


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


def _batch(v: TensorValue, core: int) -> tuple:
    return tuple(v.shape[: v.ndim - core])


def _square(v: TensorValue, what: str) -> int:
    if v.ndim < 2 or v.shape[-1] != v.shape[-2]:
        raise Unsupported(f"{what} of a non-square {list(v.shape)} matrix (PyTorch raises)")
    return static_int(v.shape[-1], what)


# --------------------------------------------------------------------------- LU
def lu_factor(ctx, a: TensorValue, what: str):
    """(LU, pivots i32, info i32, results buffer, stride) of ``a`` (..., m, n)."""
    if a.ndim < 2:
        raise Unsupported(f"{what} of a {a.ndim}-d tensor (PyTorch raises)")
    m, n = static_int(a.shape[-2], what), static_int(a.shape[-1], what)
    batch = _batch(a, 2)
    buf, stride = call(ctx, "lu", [_matrices(ctx, a, what)], (m, n), batch)
    k = min(m, n)
    lu = part(buf, stride, batch, (m, n))
    piv = part(buf, stride, batch, (k,), m * n, "i32")
    info = part(buf, stride, batch, (), m * n + k, "i32")
    return lu, piv, info, buf, stride


def lu_solve(ctx, lu: TensorValue, piv: TensorValue, b: TensorValue, adjoint: bool, what: str) -> TensorValue:
    """X (..., n, k) with A X = B (A^T X = B), A = P L U given by ``lu`` and 1-based
    ``piv``; the batch dims broadcast."""
    n = _square(lu, what)
    k = static_int(b.shape[-1], what)
    batch = broadcast_shapes(_batch(lu, 2), _batch(piv, 1), _batch(b, 2))
    lu = broadcast_to(lu, batch + tuple(lu.shape[-2:]))
    b = broadcast_to(b, batch + tuple(b.shape[-2:]))
    piv = broadcast_to(cast(piv, "f32"), batch + (piv.shape[-1],))
    args = [
        _matrices(ctx, lu, what),
        _matrices(ctx, unsqueeze_dims(piv, [piv.ndim - 1]), what),
        _matrices(ctx, b, what),
    ]
    buf, stride = call(ctx, "lu_solve", args, (n, k, int(adjoint)), batch)
    return part(buf, stride, batch, (n, k))


@lower(aten.linalg_lu_factor_ex.default)
def linalg_lu_factor_ex(ctx, node, a, pivot=True, check_errors=False):
    if not pivot:
        raise Unsupported("LU without pivoting (PyTorch's CPU kernel raises)")
    lu, piv, info, _, _ = lu_factor(ctx, a, "linalg.lu_factor")
    return [lu, piv, info]


def _permutation(ctx, piv: TensorValue, m: int, what: str) -> TensorValue:
    """P (..., m, m) with A = P L U for the 1-based pivots ``piv`` (..., k)."""
    batch = _batch(piv, 1)
    k = static_int(piv.shape[-1], what)
    op = _matrices(ctx, unsqueeze_dims(cast(piv, "f32"), [piv.ndim - 1]), what)
    buf, stride = call(ctx, "lu_perm", [op], (m, k), batch)
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


def _triangle(v: TensorValue, upper: bool) -> TensorValue:
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
    return _mT(lu_solve(ctx, lu, piv, _mT(b), not adjoint, "linalg.lu_solve"))


def _is_vector_rhs(a: TensorValue, b: TensorValue) -> bool:
    """``linalg.solve``'s rule: B is a vector (or a batch of them)."""
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))


@lower(aten._linalg_solve_ex.default)
def linalg_solve_ex(ctx, node, a, b, left=True, check_errors=False):
    _square(a, "linalg.solve")
    lu, piv, info, _, _ = lu_factor(ctx, a, "linalg.solve")
    vector = _is_vector_rhs(a, b)
    rhs = unsqueeze_dims(b, [b.ndim]) if vector else b
    if left:
        x = lu_solve(ctx, lu, piv, rhs, False, "linalg.solve")
    else:
        x = _mT(lu_solve(ctx, lu, piv, _mT(rhs), True, "linalg.solve"))
    if vector:
        col = x
        x = TensorValue(col.shape[:-1], "f32", lambda idx: col.load(tuple(idx) + (0,)))
    return [x, lu, piv, info]


@lower(aten.linalg_inv_ex.default)
def linalg_inv_ex(ctx, node, a, check_errors=False):
    n = _square(a, "linalg.inv")
    lu, piv, info, _, _ = lu_factor(ctx, a, "linalg.inv")
    eye = ctx.constant(np.eye(n, dtype=np.float32), "f32")
    return [lu_solve(ctx, lu, piv, eye, False, "linalg.inv"), info]


@lower(aten._linalg_det.default)
def linalg_det(ctx, node, a):
    n = _square(a, "linalg.det")
    lu, piv, _, buf, stride = lu_factor(ctx, a, "linalg.det")
    return [part(buf, stride, _batch(a, 2), (), n * n + n + 3), lu, piv]


@lower(aten._linalg_slogdet.default)
def linalg_slogdet(ctx, node, a):
    n = _square(a, "linalg.slogdet")
    lu, piv, _, buf, stride = lu_factor(ctx, a, "linalg.slogdet")
    batch = _batch(a, 2)
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
    n = _square(a, what)
    batch = _batch(a, 2)
    buf, stride = call(ctx, "cholesky", [_matrices(ctx, _mT(a) if upper else a, what)], (n,), batch)
    low = part(buf, stride, batch, (n, n))
    return (_mT(low) if upper else low), part(buf, stride, batch, (), n * n, "i32")


def trsm(ctx, t: TensorValue, b: TensorValue, upper: bool, unit: bool, what: str) -> TensorValue:
    """X (..., n, k) with T X = B, T the upper or lower triangle of ``t``; batches broadcast."""
    n = _square(t, what)
    k = static_int(b.shape[-1], what)
    batch = broadcast_shapes(_batch(t, 2), _batch(b, 2))
    args = [
        _matrices(ctx, broadcast_to(t, batch + tuple(t.shape[-2:])), what),
        _matrices(ctx, broadcast_to(b, batch + tuple(b.shape[-2:])), what),
    ]
    buf, stride = call(ctx, "trsm", args, (n, k, int(upper), int(unit)), batch)
    return part(buf, stride, batch, (n, k))


def solve_triangular(ctx, t, b, upper: bool, left: bool, unit: bool, what: str) -> TensorValue:
    if left:
        return trsm(ctx, t, b, upper, unit, what)
    return _mT(trsm(ctx, _mT(t), _mT(b), not upper, unit, what))  # X T = B: T^T X^T = B^T


@lower(aten.linalg_cholesky_ex.default)
def linalg_cholesky_ex(ctx, node, a, upper=False, check_errors=False):
    return list(cholesky(ctx, a, upper, "linalg.cholesky"))


@lower(aten.cholesky.default)
def cholesky_(ctx, node, a, upper=False):
    return cholesky(ctx, a, upper, "cholesky")[0]


def _cholesky_solve(ctx, b, factor, upper: bool, what: str) -> TensorValue:
    """A^-1 B for A = L L^T (or U^T U): L Y = B, then L^T X = Y."""
    low = _mT(factor) if upper else factor
    y = trsm(ctx, low, b, False, False, what)
    return trsm(ctx, _mT(low), y, True, False, what)


@lower(aten.cholesky_solve.default)
def cholesky_solve(ctx, node, b, factor, upper=False):
    return _cholesky_solve(ctx, b, factor, upper, "cholesky_solve")


@lower(aten.cholesky_inverse.default)
def cholesky_inverse(ctx, node, factor, upper=False):
    n = _square(factor, "cholesky_inverse")
    eye = ctx.constant(np.eye(n, dtype=np.float32), "f32")
    return _cholesky_solve(ctx, eye, factor, upper, "cholesky_inverse")


@lower(aten.linalg_solve_triangular.default)
def linalg_solve_triangular(ctx, node, a, b, upper, left=True, unitriangular=False):
    return solve_triangular(ctx, a, b, upper, left, unitriangular, "linalg.solve_triangular")


@lower(aten.triangular_solve.default)
def triangular_solve(ctx, node, b, a, upper=True, transpose=False, unitriangular=False):
    """X with A X = B (A^T X = B when ``transpose``), and a copy of A."""
    t, up = (_mT(a), not upper) if transpose else (a, upper)
    x = trsm(ctx, t, b, up, unitriangular, "triangular_solve")
    return [x, ctx.realize(a)]


# --------------------------------------------------------------------------- QR
def qr(ctx, a: TensorValue, complete: bool, what: str):
    """(geqrf matrix, tau, Q) of ``a`` (..., m, n) by Householder reflections."""
    if a.ndim < 2:
        raise Unsupported(f"{what} of a {a.ndim}-d tensor (PyTorch raises)")
    m, n = static_int(a.shape[-2], what), static_int(a.shape[-1], what)
    k = min(m, n)
    batch = _batch(a, 2)
    buf, stride = call(ctx, "qr", [_matrices(ctx, a, what)], (m, n, int(complete)), batch)
    cols = m if complete else k
    return (
        part(buf, stride, batch, (m, n)),
        part(buf, stride, batch, (k,), m * n),
        part(buf, stride, batch, (m, cols), m * n + k),
    )


@lower(aten.linalg_qr.default)
def linalg_qr(ctx, node, a, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise Unsupported(f"linalg.qr mode {mode!r} (PyTorch raises)")
    g, _, q = qr(ctx, a, mode == "complete", "linalg.qr")
    rows = g.shape[-2] if mode == "complete" else min(g.shape[-2], g.shape[-1])
    r = _triangle(TensorValue(tuple(g.shape[:-2]) + (sympy.Integer(rows), g.shape[-1]), "f32", g.load), upper=True)
    if mode == "r":
        q = TensorValue((sympy.Integer(0),), "f32", lambda idx: ir.Const(0.0, "f32"))
    return [q, r]


@lower(aten.geqrf.default)
def geqrf(ctx, node, a):
    g, tau, _ = qr(ctx, a, False, "geqrf")
    return [g, tau]


# --------------------------------------------------------------------------- symmetric eigen
def eigh(ctx, a: TensorValue, upper: bool, what: str) -> tuple[TensorValue, TensorValue]:
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric ``a`` (its lower or
    upper triangle), by Jacobi; each eigenvector's first largest |entry| is positive."""
    n = _square(a, what)
    batch = _batch(a, 2)
    buf, stride = call(ctx, "eigh", [_matrices(ctx, a, what)], (n, int(upper)), batch)
    return part(buf, stride, batch, (n,)), part(buf, stride, batch, (n, n), n)


@lower(aten._linalg_eigh.default)
def linalg_eigh(ctx, node, a, uplo="L", compute_v=True):
    if uplo not in ("L", "U"):
        raise Unsupported(f"linalg.eigh UPLO={uplo!r} (PyTorch raises)")
    w, v = eigh(ctx, a, uplo == "U", "linalg.eigh")
    if not compute_v:
        v = TensorValue((sympy.Integer(0),), "f32", lambda idx: ir.Const(0.0, "f32"))
    return [w, v]


# --------------------------------------------------------------------------- SVD, pseudo-inverse
def _cols(v: TensorValue, k) -> TensorValue:
    """The first ``k`` columns of ``v`` (a view)."""
    return TensorValue(tuple(v.shape[:-1]) + (sympy.Integer(int(k)),), v.dtype, v.load)


def svd(ctx, a: TensorValue, what: str) -> tuple[TensorValue, TensorValue, TensorValue]:
    """(S descending (..., k), U (..., m, m), V (..., n, n)) with A = U[:, :k] diag(S) V[:, :k]^T,
    by one-sided Jacobi on A, or on A^T when A is wide (A^T = U' S V'^T: U = V', V = U')."""
    if a.ndim < 2:
        raise Unsupported(f"{what} of a {a.ndim}-d tensor (PyTorch raises)")
    m, n = static_int(a.shape[-2], what), static_int(a.shape[-1], what)
    wide = m < n
    rows, cols = (n, m) if wide else (m, n)
    batch = _batch(a, 2)
    buf, stride = call(ctx, "svd", [_matrices(ctx, _mT(a) if wide else a, what)], (rows, cols), batch)
    s = part(buf, stride, batch, (cols,))
    left = part(buf, stride, batch, (rows, rows), cols)
    right = part(buf, stride, batch, (cols, cols), cols + rows * rows)
    return (s, right, left) if wide else (s, left, right)


def _empty() -> TensorValue:
    return TensorValue((sympy.Integer(0),), "f32", lambda idx: ir.Const(0.0, "f32"))


@lower(aten._linalg_svd.default)
def linalg_svd(ctx, node, a, full_matrices=False, compute_uv=True, driver=None):
    s, u, v = svd(ctx, a, "linalg.svd")
    if not compute_uv:
        return [_empty(), s, _empty()]
    k = s.shape[-1]
    if not full_matrices:
        u, v = _cols(u, k), _cols(v, k)
    return [u, s, _mT(v)]


def _symmetric_from_lower(a: TensorValue) -> TensorValue:
    nb = a.ndim - 2

    def loader(idx):
        r, c = idx[nb], idx[nb + 1]
        lower = ir.Op("ge", (ir.Index(r, "i32"), ir.Index(c, "i32")), "bool")
        return ir.Op("where", (lower, a.load(idx), a.load(tuple(idx[:nb]) + (c, r))), "f32")

    return TensorValue(a.shape, "f32", loader)


def pinv(ctx, a: TensorValue, atol, rtol, hermitian: bool) -> TensorValue:
    """V diag(1/S where S > max(atol, rtol * S_max), else 0) U^T, as ``at::linalg_pinv``
    (rtol defaults to eps * max(m, n), or to 0 where a given atol is > 0); hermitian: the
    symmetric matrix of A's lower triangle (PyTorch uses eigh: the same singular values)."""
    m, n = static_int(a.shape[-2], "linalg.pinv"), static_int(a.shape[-1], "linalg.pinv")
    if hermitian:
        _square(a, "linalg.pinv")
        a = _symmetric_from_lower(a)
    s, u, v = svd(ctx, a, "linalg.pinv")
    k = int(s.shape[-1])
    batch = tuple(s.shape[:-1])
    if k == 0:
        return TensorValue(batch + (sympy.Integer(n), sympy.Integer(m)), "f32", lambda idx: ir.Const(0.0, "f32"))
    eps_rtol = float(np.finfo(np.float32).eps) * max(m, n)
    given_atol = atol is not None
    atol = (
        atol
        if isinstance(atol, TensorValue)
        else TensorValue((), "f32", lambda idx, x=float(atol or 0): ir.Const(x, "f32"))
    )
    if rtol is None:
        default = ir.Const(eps_rtol, "f32")
        rtol = TensorValue(
            atol.shape,
            "f32",
            (
                lambda idx: ir.Op(
                    "where",
                    (ir.Op("gt", (atol.load(idx), ir.Const(0.0, "f32")), "bool"), ir.Const(0.0, "f32"), default),
                    "f32",
                )
            )
            if given_atol
            else (lambda idx: default),
        )
    elif not isinstance(rtol, TensorValue):
        rtol = TensorValue((), "f32", lambda idx, x=float(rtol): ir.Const(x, "f32"))
    atol, rtol = cast(atol, "f32"), cast(rtol, "f32")
    full = broadcast_shapes(batch, tuple(atol.shape), tuple(rtol.shape))
    if tuple(full) != tuple(batch):
        raise Unsupported("linalg.pinv with tolerances that broadcast the batch")
    atol, rtol = broadcast_to(atol, batch), broadcast_to(rtol, batch)
    nb = len(batch)

    def scale(b, j):
        sj, smax = s.load(tuple(b) + (j,)), s.load(tuple(b) + (0,))
        tol = ir.Op("max", (atol.load(tuple(b)), ir.Op("mul", (rtol.load(tuple(b)), smax), "f32")), "f32")
        keep = ir.Op("gt", (sj, tol), "bool")
        return ir.Op("where", (keep, ir.Op("div", (ir.Const(1.0, "f32"), sj), "f32"), ir.Const(0.0, "f32")), "f32")

    def term(idx):  # (..., i, l, j): V[i, j] / S_j U[l, j]
        b, i, l, j = idx[:nb], idx[nb], idx[nb + 1], idx[nb + 2]
        vs = ir.Op("mul", (v.load(tuple(b) + (i, j)), scale(b, j)), "f32")
        return ir.Op("mul", (vs, u.load(tuple(b) + (l, j))), "f32")

    terms = TensorValue(batch + (sympy.Integer(n), sympy.Integer(m), sympy.Integer(k)), "f32", term)
    return ctx.reduce(terms, (nb + 2,), "sum", False)


@lower(aten.linalg_pinv.atol_rtol_tensor, aten.linalg_pinv.atol_rtol_float)
def linalg_pinv(ctx, node, a, atol=None, rtol=None, hermitian=False):
    return pinv(ctx, a, atol, rtol, hermitian)


# --------------------------------------------------------------------------- reflectors
def apply_q(ctx, v: TensorValue, tau: TensorValue, c: TensorValue, transpose: bool, what: str) -> TensorValue:
    """Q C (Q^T C) for Q = H_0 .. H_{k-1} given as ``geqrf`` gives it (``v``'s first k columns
    below the diagonal, ``tau`` (..., k)); C (..., m, p); the batch dims broadcast."""
    m, p = static_int(c.shape[-2], what), static_int(c.shape[-1], what)
    k = static_int(tau.shape[-1], what)
    if static_int(v.shape[-2], what) != m or static_int(v.shape[-1], what) < k:
        raise Unsupported(f"{what} of reflectors {list(v.shape)} for a {[m, p]} matrix (PyTorch raises)")
    batch = broadcast_shapes(_batch(v, 2), _batch(tau, 1), _batch(c, 2))
    v = broadcast_to(_cols(v, k), batch + (sympy.Integer(m), sympy.Integer(k)))
    tau = broadcast_to(unsqueeze_dims(cast(tau, "f32"), [tau.ndim - 1]), batch + (sympy.Integer(1), sympy.Integer(k)))
    c = broadcast_to(c, batch + tuple(c.shape[-2:]))
    args = [_matrices(ctx, v, what), _matrices(ctx, tau, what), _matrices(ctx, c, what)]
    buf, stride = call(ctx, "ormqr", args, (m, p, k, int(transpose)), batch)
    return part(buf, stride, batch, (m, p))


@lower(aten.linalg_householder_product.default)
def linalg_householder_product(ctx, node, v, tau):
    m, n = static_int(v.shape[-2], "householder_product"), static_int(v.shape[-1], "householder_product")
    eye = ctx.constant(np.eye(m, n, dtype=np.float32), "f32")
    return apply_q(ctx, v, tau, eye, False, "householder_product")


@lower(aten.ormqr.default)
def ormqr(ctx, node, v, tau, c, left=True, transpose=False):
    if left:
        return apply_q(ctx, v, tau, c, transpose, "ormqr")
    return _mT(apply_q(ctx, v, tau, _mT(c), not transpose, "ormqr"))  # C Q = (Q^T C^T)^T


# --------------------------------------------------------------------------- LDL^T
@lower(aten.linalg_ldl_factor_ex.default)
def linalg_ldl_factor_ex(ctx, node, a, hermitian=False, check_errors=False):
    """Bunch-Kaufman as LAPACK's sytrf (its unblocked sytf2, which sytrf runs for n <= 64:
    larger matrices fall back, where sytrf's blocked steps order the work differently)."""
    n = _square(a, "linalg.ldl_factor")
    if n > 64:
        raise Unsupported("linalg.ldl_factor of a matrix larger than 64 (LAPACK's blocked sytrf)")
    batch = _batch(a, 2)
    buf, stride = call(ctx, "ldl", [_matrices(ctx, a, "linalg.ldl_factor")], (n,), batch)
    return [
        part(buf, stride, batch, (n, n)),
        part(buf, stride, batch, (n,), n * n, "i32"),
        part(buf, stride, batch, (), n * n + n, "i32"),
    ]


@lower(aten.linalg_ldl_solve.default)
def linalg_ldl_solve(ctx, node, ld, piv, b, hermitian=False):
    """A X = B from ``ldl_factor``'s LD and pivots, as LAPACK's sytrs (lower)."""
    n = _square(ld, "linalg.ldl_solve")
    k = static_int(b.shape[-1], "linalg.ldl_solve")
    batch = broadcast_shapes(_batch(ld, 2), _batch(piv, 1), _batch(b, 2))
    ld = broadcast_to(ld, batch + tuple(ld.shape[-2:]))
    b = broadcast_to(b, batch + tuple(b.shape[-2:]))
    piv = broadcast_to(cast(piv, "f32"), batch + (piv.shape[-1],))
    args = [
        _matrices(ctx, ld, "linalg.ldl_solve"),
        _matrices(ctx, unsqueeze_dims(piv, [piv.ndim - 1]), "linalg.ldl_solve"),
        _matrices(ctx, b, "linalg.ldl_solve"),
    ]
    buf, stride = call(ctx, "ldl_solve", args, (n, k), batch)
    return part(buf, stride, batch, (n, k))
