"""The numpy meaning of the orthogonal ``ir.MatrixCall`` routines (Householder QR as LAPACK's
geqrf/orgqr and ormqr, cyclic Jacobi eigh, one-sided Jacobi SVD): the same float64 operations
in the same order as csrc/wat/linalg_f32.wat (``matrix_routines`` has the others and the
routine table), and ``pivot_row``, LAPACK's ``i?amax``, which LU shares."""

from __future__ import annotations

import math

import numpy as np


def pivot_row(col: np.ndarray) -> int:
    """LAPACK's ``i?amax`` as the WAT runs it: the first largest |value| (a later entry
    wins only when strictly larger, so NaN never wins unless it comes first)."""
    best, p = abs(col[0]), 0
    for i in range(1, len(col)):
        if abs(col[i]) > best:
            best, p = abs(col[i]), i
    return p


def reflect(m, v, tau, first: int) -> None:
    """Apply H = I - tau v v^T (v over rows ``first``.., v[0] = 1) to ``m`` from the left,
    column by column: w = v^T m (rows in order), m -= v (tau w)."""
    rows = m[first:]
    w = np.zeros(m.shape[1])
    for i in range(len(v)):
        w += v[i] * rows[i]
    t = tau * w
    for i in range(len(v)):
        rows[i] -= v[i] * t


def qr(a, m: int, n: int, complete: int) -> np.ndarray:
    """Householder QR, LAPACK's ``geqrf`` (``larfg``: beta = -sign(alpha) * ||x||, tau =
    (beta - alpha) / beta, v = x[1:] / (alpha - beta) as a product by its reciprocal; tau = 0
    when x[1:] is zero), then ``orgqr`` (Q = H_0 .. H_{k-1} applied to the identity's first
    columns, the last reflector first)."""
    a = a.astype(np.float64).copy()
    k = min(m, n)
    taus = np.zeros(k)
    with np.errstate(all="ignore"):
        for j in range(k):
            alpha, xnorm = a[j, j], 0.0
            for i in range(j + 1, m):
                xnorm += a[i, j] * a[i, j]
            if xnorm == 0:
                continue
            norm = math.sqrt(alpha * alpha + xnorm)
            beta = -norm if alpha >= 0 else norm
            taus[j] = (beta - alpha) / beta
            a[j + 1 :, j] *= 1.0 / (alpha - beta)
            a[j, j] = beta
            v = np.concatenate([[1.0], a[j + 1 :, j]])
            reflect(a[:, j + 1 :], v, taus[j], j)
        cols = m if complete else k
        q = np.eye(m, cols)
        for j in range(k - 1, -1, -1):
            reflect(q, np.concatenate([[1.0], a[j + 1 :, j]]), taus[j], j)
    return np.concatenate([a.reshape(-1), taus, q.reshape(-1)])


class RoutineTrap(ArithmeticError):
    """Where the WebAssembly routine traps (PyTorch raises)."""


def finite(a) -> bool:
    """False for a matrix with an infinity (its results are all NaN); a NaN traps."""
    if np.isnan(a).any():
        raise RoutineTrap("the input contains NaN")
    return bool(np.isfinite(a).all())


EIGH_SWEEPS = 40  # cyclic Jacobi sweeps at most (each ~squares the off-diagonal; 6-10 are typical)


def eigh(a, n: int, upper: int) -> np.ndarray:
    """Cyclic Jacobi (Golub & Van Loan, Algorithm 8.5.3) in float64: sweep the pairs p < q
    in row order, rotating each a[p, q] != 0 to zero (t = sign(theta) / (|theta| +
    sqrt(1 + theta^2)), theta = (a[q, q] - a[p, p]) / (2 a[p, q]); columns then rows; V
    accumulates the rotations) until the squared off-diagonal is at most 1e-30 times the
    squared Frobenius norm (or is not a number) or after EIGH_SWEEPS sweeps. Then the
    eigenvalues (the diagonal) are sorted ascending (selection sort, the first smallest
    first) with their vectors, and each vector's first largest |entry| is made positive."""
    a = a.astype(np.float64)
    a = np.triu(a) + np.triu(a, 1).T if upper else np.tril(a) + np.tril(a, -1).T
    if not finite(a):
        return np.full(n + n * n, np.nan)
    v = np.eye(n)
    with np.errstate(all="ignore"):
        total = 0.0
        for i in range(n):
            for j in range(n):
                total += a[i, j] * a[i, j]
        for _ in range(EIGH_SWEEPS):
            off = 0.0
            for i in range(n):
                for j in range(i + 1, n):
                    off += a[i, j] * a[i, j]
            if not off > 1e-30 * total:
                break
            for p in range(n):
                for q in range(p + 1, n):
                    if a[p, q] == 0:
                        continue
                    theta = (a[q, q] - a[p, p]) / (2 * a[p, q])
                    t = 1.0 / (abs(theta) + math.sqrt(1.0 + theta * theta)) if abs(theta) < 1e150 else 0.5 / abs(theta)
                    t = -t if theta < 0 else t
                    c = 1.0 / math.sqrt(1.0 + t * t)
                    s = t * c
                    for m in (a, v):
                        mp, mq = m[:, p].copy(), m[:, q].copy()
                        m[:, p], m[:, q] = c * mp - s * mq, s * mp + c * mq
                    ap, aq = a[p].copy(), a[q].copy()
                    a[p], a[q] = c * ap - s * aq, s * ap + c * aq
        w = np.diag(a).copy()
        for i in range(n):
            j = i
            for k in range(i + 1, n):
                if w[k] < w[j]:
                    j = k
            w[[i, j]], v[:, [i, j]] = w[[j, i]], v[:, [j, i]]
        for j in range(n):
            if v[pivot_row(v[:, j]), j] < 0:
                v[:, j] = -v[:, j]
    return np.concatenate([w, v.reshape(-1)])


def dot(x, y) -> float:
    s = 0.0
    for a, b in zip(x, y):
        s += a * b
    return s


def svd(a, m: int, n: int) -> np.ndarray:
    """One-sided Jacobi (Hestenes; Demmel & Veselic) in float64 on the columns of W = A
    (m >= n): sweep the pairs p < q in row order; with alpha, beta = |W_p|^2, |W_q|^2 and
    gamma = W_p . W_q (sums in order), rotate when |gamma| > 1e-15 sqrt(alpha beta) by the
    rotation of ``eigh`` for [[alpha, gamma], [gamma, beta]] (W and V alike); stop after a
    sweep without rotations or EIGH_SWEEPS sweeps. sigma_j = |W_j|, sorted descending
    (selection sort, the first largest first) with W's and V's columns; U_j = W_j / sigma_j,
    and for sigma_j = 0 and j >= n the first unit vector e_i that keeps |u| > 1/2 after two
    passes of Gram-Schmidt against the columns before, normalised."""
    w = a.astype(np.float64).copy()
    if not finite(w):
        return np.full(n + m * m + n * n, np.nan)
    v = np.eye(n)
    with np.errstate(all="ignore"):
        for _ in range(EIGH_SWEEPS):
            rotated = False
            for p in range(n):
                for q in range(p + 1, n):
                    alpha, beta, gamma = dot(w[:, p], w[:, p]), dot(w[:, q], w[:, q]), dot(w[:, p], w[:, q])
                    if not abs(gamma) > 1e-15 * math.sqrt(alpha * beta):
                        continue
                    rotated = True
                    zeta = (beta - alpha) / (2 * gamma)
                    t = 1.0 / (abs(zeta) + math.sqrt(1.0 + zeta * zeta)) if abs(zeta) < 1e150 else 0.5 / abs(zeta)
                    t = -t if zeta < 0 else t
                    c = 1.0 / math.sqrt(1.0 + t * t)
                    s = t * c
                    for mat in (w, v):
                        mp, mq = mat[:, p].copy(), mat[:, q].copy()
                        mat[:, p], mat[:, q] = c * mp - s * mq, s * mp + c * mq
            if not rotated:
                break
        sig = np.array([math.sqrt(dot(w[:, j], w[:, j])) for j in range(n)])
        for i in range(n):
            j = i
            for k in range(i + 1, n):
                if sig[k] > sig[j]:
                    j = k
            sig[[i, j]], w[:, [i, j]], v[:, [i, j]] = sig[[j, i]], w[:, [j, i]], v[:, [j, i]]
        u = np.zeros((m, m))
        for j in range(m):
            if j < n and sig[j] != 0:
                u[:, j] = w[:, j] / sig[j]
                continue
            for i in range(m):
                x = np.zeros(m)
                x[i] = 1.0
                for _ in range(2):
                    for col in range(j):
                        x -= dot(u[:, col], x) * u[:, col]
                norm = math.sqrt(dot(x, x))
                if norm > 0.5:
                    u[:, j] = x / norm
                    break
    return np.concatenate([sig, u.reshape(-1), v.reshape(-1)])


def ormqr(v, tau, c, m: int, p: int, k: int, transpose: int) -> np.ndarray:
    """Q C = H_0 (.. (H_{k-1} C)) (reflectors last to first) or Q^T C (first to last)."""
    v, x = v.astype(np.float64), c.astype(np.float64).copy()
    tau = tau.reshape(-1).astype(np.float64)
    with np.errstate(all="ignore"):
        for j in range(k) if transpose else range(k - 1, -1, -1):
            reflect(x, np.concatenate([[1.0], v[j + 1 :, j]]), tau[j], j)
    return x.reshape(-1)
