"""The numpy meaning of the orthogonal-polynomial operators (csrc/wat/poly_f32.wat): PyTorch's
float32 recurrences, element by element in numpy float32 with the same operations in the same
order (the interpreter is the specification the WebAssembly routines are tested against)."""

from __future__ import annotations

import math

import numpy as np

F = np.float32


def _order(n) -> int:
    return -1 if n != n else int(max(min(float(n), 2**31 - 1), -(2**31)))  # NaN: negative, as on x86


def _trig(fn, x):
    return F(fn(np.float64(x)))  # correctly rounded, as the float64-evaluated routines


def _recur(y, q0, n, step):
    p, q, k = F(1), F(q0), 2
    while k <= n and q == q:
        p, q, k = q, F(F(F(y + y) * q) - p), k + 1
    return q


def _cheb(kind: str, shifted: bool):
    def one(x, nf):
        x, n = F(x), _order(nf)
        if n < 0:
            return F(0)
        odd = n % 2 == 1
        n1, n2 = F(n + 1), F(n + n + 1)
        if shifted:
            if x == 1:
                return {"t": F(1), "u": n1, "v": F(1), "w": n2}[kind]
            if x == 0:
                return {"t": F(-1 if odd else 1), "u": -n1 if odd else n1, "v": -n2 if odd else n2,
                        "w": F(-1 if odd else 1)}[kind]
            y = F(F(x + x) - F(1))
            big = n > (4 if kind == "w" else 6)
        else:
            y = x
            if abs(x) == 1:
                pos = x > 0
                return {"t": F(1 if pos or not odd else -1), "u": n1 if pos or not odd else -n1,
                        "v": F(1) if pos else (-n2 if odd else n2),
                        "w": n2 if pos else F(-1 if odd else 1)}[kind]
            big = n > (6 if kind == "t" else 8)
        if big and abs(y) < 1:
            a = _trig(math.acos, y)
            if kind == "t":
                return _trig(math.cos, F(F(n) * a))
            if kind == "u":
                s = _trig(math.sin, a)
                if s != 0:
                    return F(_trig(math.sin, F(n1 * a)) / s)
                return F(F(n1 * _trig(math.cos, F(n1 * a))) / y)
            half = F(a / F(2))
            if kind == "v":
                if _trig(math.sin, half) != 1:
                    return F(_trig(math.cos, F(F(F(n) + F(0.5)) * a)) / _trig(math.cos, half))
                return -n2 if odd else n2
            if _trig(math.cos, half) != 1:
                return F(_trig(math.sin, F(F(F(n) + F(0.5)) * a)) / _trig(math.sin, half))
            if not shifted and x > 0:
                return n2
            return F(-1 if odd else 1)
        q0 = {"t": y, "u": F(y + y), "v": F(F(y + y) - F(1)), "w": F(F(y + y) + F(1))}[kind]
        if n == 0:
            return F(1)
        if n == 1:
            return q0
        return _recur(y, q0, n, None)

    return one


def _hermite(physicists: bool):
    def one(x, nf):
        x, n = F(x), _order(nf)
        if n < 0:
            return F(0)
        if n == 0:
            return F(1)
        if n == 1:
            return F(x + x) if physicists else x
        if n > 128:
            return F(np.nan)
        p, q = F(1), (F(x + x) if physicists else x)
        ks = range(2, n + n, 2) if physicists else range(1, n)
        for k in ks:
            if q != q:
                break
            r = F(F(F(x + x) * q) - F(F(k) * p)) if physicists else F(F(x * q) - F(F(k) * p))
            p, q = q, r
        return q

    return one


def _laguerre(x, nf):
    x, n = F(x), _order(nf)
    if n < 0:
        return F(0)
    if abs(x) == 0 or n == 0:
        return F(1)
    p, q = F(1), F(F(1) - x)
    for k in range(1, n):
        if q != q:
            break
        p, q = q, F(F(F(F(F(k + k) + F(F(1) - x)) * q) - F(F(k) * p)) / F(k + 1))
    return q


def _legendre(x, nf):
    x, n = F(x), _order(nf)
    if n < 0:
        return F(0)
    if abs(x) == 1:
        return F(1 if x > 0 or n % 2 == 0 else -1)
    if n == 0:
        return F(1)
    p, q = F(1), x
    for k in range(1, n):
        if q != q:
            break
        p, q = q, F(F(F(F(F(k + k + 1) * x) * q) - F(F(k) * p)) / F(k + 1))
    return q


_ONE = {
    **{f"chebyshev_{k}": _cheb(k, False) for k in "tuvw"},
    **{f"shifted_chebyshev_{k}": _cheb(k, True) for k in "tuvw"},
    "hermite_h": _hermite(True), "hermite_he": _hermite(False), "laguerre_l": _laguerre, "legendre_p": _legendre,
}


def _elementwise(one):
    def run(x, n):
        x, n = np.broadcast_arrays(np.asarray(x, np.float32), np.asarray(n, np.float32))
        with np.errstate(all="ignore"):
            return np.array([one(a, b) for a, b in zip(x.ravel(), n.ravel())], np.float32).reshape(x.shape)
    return run


POLY = {name: _elementwise(one) for name, one in _ONE.items()}
