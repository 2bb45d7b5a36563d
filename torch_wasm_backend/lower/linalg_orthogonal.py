"""Orthogonal factorizations: Householder QR (``linalg_qr`` reduced/complete/r, ``geqrf``,
``linalg_householder_product``, ``ormqr``), symmetric eigendecomposition (``_linalg_eigh``)
and SVD (``_linalg_svd``, ``linalg_pinv``), as ``ir.MatrixCall`` kernels (csrc/wat/
linalg_f32.wat, float64 inside; the operand and result plumbing: ``linalg_solvers``).

Conventions where the result is not unique: QR follows LAPACK's signs (R's diagonal is
-sign(a) * norm, as ``larfg``), so Q and R equal eager's; eigenvalues ascend and each
eigenvector's first largest |entry| is positive (LAPACK's signs follow no stated rule);
singular values descend, singular vector pairs keep the signs the Jacobi rotations leave
(U V^T is unique), and a full U is completed by Gram-Schmidt on unit vectors.
"""

from __future__ import annotations

import numpy as np
import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported, static_int
from .linalg_solvers import batch_of, call, matrices, mT, part, square, triangle
from .registry import broadcast_shapes, broadcast_to, cast, lower
from .views import unsqueeze_dims

aten = torch.ops.aten


def qr(ctx, a: TensorValue, complete: bool, what: str):
    """(geqrf matrix, tau, Q) of ``a`` (..., m, n) by Householder reflections."""
    if a.ndim < 2:
        raise Unsupported(f"{what} of a {a.ndim}-d tensor (PyTorch raises)")
    m, n = static_int(a.shape[-2], what), static_int(a.shape[-1], what)
    k = min(m, n)
    batch = batch_of(a, 2)
    buf, stride = call(ctx, "qr", [matrices(ctx, a, what)], (m, n, int(complete)), batch)
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
    r = triangle(TensorValue(tuple(g.shape[:-2]) + (sympy.Integer(rows), g.shape[-1]), "f32", g.load), upper=True)
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
    n = square(a, what)
    batch = batch_of(a, 2)
    trap = f"{what}: The algorithm failed to converge because the input matrix contains NaN (as PyTorch raises)"
    buf, stride = call(ctx, "eigh", [matrices(ctx, a, what)], (n, int(upper)), batch, trap)
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
    batch = batch_of(a, 2)
    trap = f"{what}: The algorithm failed to converge because the input matrix contains NaN (as PyTorch raises)"
    buf, stride = call(ctx, "svd", [matrices(ctx, mT(a) if wide else a, what)], (rows, cols), batch, trap)
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
    return [u, s, mT(v)]


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
        square(a, "linalg.pinv")
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
    batch = broadcast_shapes(batch_of(v, 2), batch_of(tau, 1), batch_of(c, 2))
    v = broadcast_to(_cols(v, k), batch + (sympy.Integer(m), sympy.Integer(k)))
    tau = broadcast_to(unsqueeze_dims(cast(tau, "f32"), [tau.ndim - 1]), batch + (sympy.Integer(1), sympy.Integer(k)))
    c = broadcast_to(c, batch + tuple(c.shape[-2:]))
    args = [matrices(ctx, v, what), matrices(ctx, tau, what), matrices(ctx, c, what)]
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
    return mT(apply_q(ctx, v, tau, mT(c), not transpose, "ormqr"))  # C Q = (Q^T C^T)^T
