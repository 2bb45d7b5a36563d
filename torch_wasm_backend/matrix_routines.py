"""The numpy meaning of the ``ir.MatrixCall`` routines (the spec of csrc/wat/linalg_f32.wat).

Each routine takes the batch entry's operands (numpy arrays, float32) and the routine's
integer sizes, and returns its results as one flat float64 array in the layout
``ir.matrix_call_floats`` states; ``interp`` rounds them to float32. Every routine does the
same float64 operations in the same order as its WAT counterpart (loops where numpy would
reorder a sum), so the interpreter and the WebAssembly agree bit for bit, log|det| aside
(numpy's log against ``$f64x2_log``). Where the algorithm is LAPACK's (getf2, potf2, geqrf/
orgqr, sytf2, sytrs), the docstring says so; eigh and svd are Jacobi methods.
"""

from __future__ import annotations

import math

import numpy as np

from . import ir
from . import matrix_orthogonal as orthogonal



def _lu(a, m: int, n: int) -> np.ndarray:
    """Right-looking LU with partial pivoting (LAPACK ``getf2``): at step j the row of the
    largest |a[i, j]|, i >= j, is swapped up (pivot j+1 recorded 1-based), the column below
    is divided by the pivot and the trailing block updated; a zero pivot sets ``info`` to
    j+1 (first only) and leaves its column alone. Square: sign and log|det| from U's
    diagonal and the parity of the row swaps (sign 0 and -inf for a zero on it; sign NaN
    for a NaN), det as the product of the diagonal, both in order."""
    a = a.astype(np.float64).copy()
    k = min(m, n)
    piv = np.zeros(k)
    info = 0
    sign, logabs, det = 0.0, 0.0, 0.0
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + orthogonal.pivot_row(a[j:, j])
            piv[j] = p + 1
            if a[p, j] != 0:
                a[[j, p]] = a[[p, j]]
                a[j + 1 :, j] /= a[j, j]
            elif info == 0:
                info = j + 1
            a[j + 1 :, j + 1 :] -= a[j + 1 :, j : j + 1] * a[j : j + 1, j + 1 :]
        if m == n:
            sign = det = -1.0 if int(np.sum(piv != np.arange(1, k + 1))) % 2 else 1.0
            for d in np.diag(a):
                sign = math.nan if math.isnan(d) else sign * (1.0 if d > 0 else -1.0 if d < 0 else 0.0)
                logabs += float(np.log(abs(d)))
                det *= d
    return np.concatenate([a.reshape(-1), piv, [info, sign, logabs, det]])


def _apply_pivots(x, piv, reverse=False):
    """Swap rows j and piv[j]-1 of ``x`` for j up (or, ``reverse``, down) the pivots."""
    n = len(piv)
    for j in range(n - 1, -1, -1) if reverse else range(n):
        p = int(piv[j]) - 1
        if p != j:
            x[[j, p]] = x[[p, j]]
    return x


def _solve_tri(t, x, upper: bool, unit: bool):
    """Solve ``T X = B`` in place (``x`` holds B, float64) by substitution, T the upper or
    lower triangle of ``t`` (unit diagonal if ``unit``): row by row, each row minus the
    rows already solved in order, then divided by the diagonal."""
    n = t.shape[0]
    t = t.astype(np.float64)
    with np.errstate(all="ignore"):
        for i in range(n - 1, -1, -1) if upper else range(n):
            for r in range(i + 1, n) if upper else range(i):
                x[i] -= t[i, r] * x[r]
            if not unit:
                x[i] /= t[i, i]
    return x


def _lu_solve(lu, piv, b, n: int, k: int, adjoint: int) -> np.ndarray:
    """X with ``P L U X = B`` (pivots applied to B first, then L, then U) or, with
    ``adjoint``, ``U^T L^T P^T X = B`` (U^T, L^T, then the pivots in reverse order)."""
    x = b.astype(np.float64).copy()
    piv = piv.reshape(-1)[:n]
    if adjoint:
        x = _solve_tri(lu.T, x, False, False)
        x = _solve_tri(lu.T, x, True, True)
        return _apply_pivots(x, piv, reverse=True).reshape(-1)
    x = _apply_pivots(x, piv)
    x = _solve_tri(lu, x, False, True)
    return _solve_tri(lu, x, True, False).reshape(-1)


def _cholesky(a, n: int) -> np.ndarray:
    """``A = L L^T`` from the lower triangle of A, column by column (LAPACK ``potf2``'s
    order): d = a[j, j] minus the squares of row j of L so far; a d that is not > 0 (or
    NaN) stops it with ``info`` = j+1, leaving the columns not reached zero; else L[j, j] =
    sqrt(d) and the column below is (a[i, j] - sum L[i, r] L[j, r]) / L[j, j]."""
    a = a.astype(np.float64)
    low = np.zeros((n, n))
    info = 0
    for j in range(n):
        d = a[j, j]
        for r in range(j):
            d -= low[j, r] * low[j, r]
        if not d > 0:
            info = j + 1
            break
        low[j, j] = np.sqrt(d)
        col = a[j + 1 :, j].copy()
        for r in range(j):
            col -= low[j + 1 :, r] * low[j, r]
        low[j + 1 :, j] = col / low[j, j]
    return np.concatenate([low.reshape(-1), [info]])


def _lu_perm(piv, m: int, k: int) -> np.ndarray:
    """Start from rows 0..m-1 and swap entries j and piv[j]-1 for j = 0..k-1 in order."""
    return _apply_pivots(np.arange(m, dtype=np.float64), piv.reshape(-1)[:k])


BK_ALPHA = (1 + math.sqrt(17)) / 8  # Bunch-Kaufman's pivot threshold


def _ldl(a, n: int) -> np.ndarray:
    """Bunch-Kaufman LDL^T of the lower triangle of A, step for step LAPACK's unblocked
    ``sytf2`` (UPLO = L): at column k, with colmax the largest |a[i, k]| below the diagonal
    (row imax; ``i?amax``'s first largest) take a 1x1 pivot without interchange if |a[k, k]|
    >= alpha colmax; else, with rowmax the largest |.| off the diagonal in row/column imax,
    1x1 without interchange if |a[k, k]| >= alpha colmax (colmax / rowmax), 1x1 with row imax
    if |a[imax, imax]| >= alpha rowmax, else a 2x2 pivot with rows k+1 and imax swapped. A
    zero (or NaN) column sets ``info`` (first only) and is skipped. Pivots are 1-based, a
    2x2 block's two entries -(imax+1). out: LD (n, n, lower; zeros above), pivots, info."""
    a = a.astype(np.float64)
    a = np.tril(a) + np.tril(a, -1).T  # only the lower triangle is read
    piv = np.zeros(n)
    info = 0
    k = 0
    with np.errstate(all="ignore"):
        while k < n:
            kstep = 1
            absakk = abs(a[k, k])
            imax = k + 1 + orthogonal.pivot_row(a[k + 1 :, k]) if k + 1 < n else k
            colmax = abs(a[imax, k]) if k + 1 < n else 0.0
            if max(absakk, colmax) == 0 or math.isnan(absakk):
                info = info or k + 1
                kp = k
            else:
                if absakk >= BK_ALPHA * colmax:
                    kp = k
                else:
                    jmax = k + orthogonal.pivot_row(a[imax, k:imax])
                    rowmax = abs(a[imax, jmax])
                    if imax + 1 < n:
                        jmax = imax + 1 + orthogonal.pivot_row(a[imax + 1 :, imax])
                        rowmax = max(rowmax, abs(a[jmax, imax]))
                    if absakk >= BK_ALPHA * colmax * (colmax / rowmax):
                        kp = k
                    elif abs(a[imax, imax]) >= BK_ALPHA * rowmax:
                        kp = imax
                    else:
                        kp, kstep = imax, 2
                kk = k + kstep - 1
                if kp != kk:  # symmetric interchange of rows/columns kk and kp (trailing part)
                    perm = np.arange(n)
                    perm[kk], perm[kp] = kp, kk
                    a[k:, k:] = a[np.ix_(perm, perm)][k:, k:]  # (for a 2x2 pivot: column k's rows too)
                if kstep == 1:
                    if k + 1 < n:
                        d11 = 1.0 / a[k, k]
                        x = a[k + 1 :, k].copy()
                        a[k + 1 :, k + 1 :] -= np.outer(x, x * d11)
                        a[k + 1 :, k] = x * d11
                elif k + 2 < n:
                    d21 = a[k + 1, k]
                    d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                    t = 1.0 / (d11 * d22 - 1.0)
                    d21 = t / d21
                    for j in range(k + 2, n):
                        wk = d21 * (d11 * a[j, k] - a[j, k + 1])
                        wkp1 = d21 * (d22 * a[j, k + 1] - a[j, k])
                        a[j:, j] -= a[j:, k] * wk + a[j:, k + 1] * wkp1
                        a[j, k], a[j, k + 1] = wk, wkp1
                        a[j, j + 1 :] = a[j + 1 :, j]  # keep the trailing part symmetric
            if kstep == 1:
                piv[k] = kp + 1
            else:
                piv[k] = piv[k + 1] = -(kp + 1)
            k += kstep
    return np.concatenate([np.tril(a).reshape(-1), piv, [info]])


def _ldl_solve(ld, piv, b, n: int, k: int) -> np.ndarray:
    """LAPACK's ``sytrs`` (lower): L D Y = B block by block down (row swaps, then the column
    of L, then D's 1x1 or 2x2 block), then L^T X = Y block by block up (then the swaps)."""
    a, x = ld.astype(np.float64), b.astype(np.float64).copy()
    piv = piv.reshape(-1)[:n].astype(np.int64)
    with np.errstate(all="ignore"):
        j = 0
        while j < n:
            if piv[j] > 0:
                p = piv[j] - 1
                x[[j, p]] = x[[p, j]]
                for i in range(j + 1, n):
                    x[i] -= a[i, j] * x[j]
                x[j] /= a[j, j]
                j += 1
            else:
                p = -piv[j] - 1
                x[[j + 1, p]] = x[[p, j + 1]]
                for i in range(j + 2, n):
                    x[i] -= a[i, j] * x[j]
                    x[i] -= a[i, j + 1] * x[j + 1]
                akm1k = a[j + 1, j]
                akm1, ak = a[j, j] / akm1k, a[j + 1, j + 1] / akm1k
                denom = akm1 * ak - 1.0
                bkm1, bk = x[j] / akm1k, x[j + 1] / akm1k
                x[j], x[j + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
                j += 2
        j = n - 1
        while j >= 0:
            step = 1 if piv[j] > 0 else 2
            for r in range(j - step + 1, j + 1):
                for i in range(j + 1, n):
                    x[r] -= a[i, r] * x[i]
            p = abs(piv[j]) - 1
            x[[j, p]] = x[[p, j]]
            j -= step
    return x.reshape(-1)


ROUTINES = {
    "lu": lambda args, m, n: _lu(args[0], m, n),
    "lu_solve": lambda args, n, k, adjoint: _lu_solve(args[0], args[1], args[2], n, k, adjoint),
    "cholesky": lambda args, n: _cholesky(args[0], n),
    "trsm": lambda args, n, k, upper, unit: _solve_tri(
        args[0].astype(np.float64), args[1].astype(np.float64).copy(), bool(upper), bool(unit)
    ).reshape(-1),
    "lu_perm": lambda args, m, k: _lu_perm(args[0], m, k),
    "qr": lambda args, m, n, complete: orthogonal.qr(args[0], m, n, complete),
    "eigh": lambda args, n, upper: orthogonal.eigh(args[0], n, upper),
    "svd": lambda args, m, n: orthogonal.svd(args[0], m, n),
    "ormqr": lambda args, m, p, k, transpose: orthogonal.ormqr(args[0], args[1], args[2], m, p, k, transpose),
    "ldl": lambda args, n: _ldl(args[0], n),
    "ldl_solve": lambda args, n, k: _ldl_solve(args[0], args[1], args[2], n, k),
}


def matrix_shapes(k: ir.MatrixCall) -> list:
    """(rows, cols) of each operand of ``k``."""
    s = k.sizes
    return {
        "lu": lambda: [(s[0], s[1])],
        "lu_solve": lambda: [(s[0], s[0]), (1, s[0]), (s[0], s[1])],
        "cholesky": lambda: [(s[0], s[0])],
        "trsm": lambda: [(s[0], s[0]), (s[0], s[1])],
        "lu_perm": lambda: [(1, s[1])],
        "qr": lambda: [(s[0], s[1])],
        "eigh": lambda: [(s[0], s[0])],
        "svd": lambda: [(s[0], s[1])],
        "ormqr": lambda: [(s[0], s[2]), (1, s[2]), (s[0], s[1])],
        "ldl": lambda: [(s[0], s[0])],
        "ldl_solve": lambda: [(s[0], s[0]), (1, s[0]), (s[0], s[1])],
    }[k.routine]()
