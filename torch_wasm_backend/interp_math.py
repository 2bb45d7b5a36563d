"""The numpy meaning of the float64-evaluated math routines (csrc/wat/math_f32x4_f64.wat):
each float32 result is the float64 value rounded once, as the WebAssembly computes it; the
functions numpy lacks (erfinv, erfcx, the Bessel I functions, digamma, lgamma, polygamma) are
float64 reference implementations with PyTorch's special values."""

from __future__ import annotations

import math

import numpy as np

def f64(fn):
    """A float32 routine of csrc/wat/math_f32x4_f64.wat: evaluated in float64 and rounded
    once, as the WebAssembly does (numpy's float64 functions are correctly reduced and
    within an ulp of float64, so this is the same float32 result but within ~2^-26 ulp
    of a tie)."""
    def run(*args):
        dtype = np.result_type(*args)
        with np.errstate(all="ignore"):
            return fn(*[np.asarray(a, np.float64) for a in args]).astype(dtype)
    return run


def _erfinv64(x: float) -> float:
    """erfinv in float64 (numpy has none): Giles' first guess, then Newton steps on erf."""
    a = abs(x)
    if not a <= 1:
        return math.nan
    if a == 1:
        return math.copysign(math.inf, x)
    w = -math.log((1 - a) * (1 + a))
    y = a * (1.50140941 + 0.246640727 * (w - 2.5)) if w < 5 else a * (2.83297682 + 1.00167406 * (math.sqrt(w) - 3))
    for _ in range(6):
        r = math.erf(y) - a if y < 0.5 else (1 - a) - math.erfc(y)
        y -= r / (2 / math.sqrt(math.pi) * math.exp(-y * y))
    return math.copysign(y, x)


def _erfcx64(x: float) -> float:
    """exp(x^2) * erfc(x) in float64 (numpy has none): directly where it does not
    underflow, else the asymptotic series (x > 26: erfc underflows in float64); inf
    below -26 (2 exp(x^2) overflows float32 already below -9.4)."""
    if x != x:
        return math.nan
    if x < -26:
        return math.inf
    if x < 26:
        return math.exp(x * x) * math.erfc(x)
    s, term = 1.0, 1.0
    for k in range(1, 10):
        term *= -(2 * k - 1) / (2 * x * x)
        s += term
    return s / (x * math.sqrt(math.pi))


def _besseli64(x: float, nu: int, scaled: bool) -> float:
    """Modified Bessel I0/I1 (optionally times exp(-|x|)) in float64: the power series up
    to |x| = 30, the asymptotic series above."""
    a = abs(x)
    if a != a:
        return math.nan
    if a <= 30:
        q, term, s = a * a / 4, 1.0, 1.0
        for k in range(1, 65):
            term *= q / (k * (k + nu))
            s += term
        r = s * (a / 2 if nu else 1.0) * (math.exp(-a) if scaled else 1.0)
    elif a == math.inf:  # I(+-inf) = NaN, as PyTorch (Cephes)
        r = 0.0 if scaled else math.nan
    else:
        term, s = 1.0, 1.0
        for k in range(1, 15):
            term *= -(4 * nu * nu - (2 * k - 1) ** 2) / (8 * k * a)
            s += term
        r = s / math.sqrt(2 * math.pi * a)
        if not scaled:
            r = r * math.exp(a) if a < 700 else math.inf
    return math.copysign(r, x) if nu and x != 0 else r  # I1(-0) = +0, as PyTorch


def _digamma64(x: float) -> float:
    """digamma in float64 with PyTorch's special values (psi(+-0) = -+inf, NaN at negative
    integers): reflection below 0, recurrence to 10, asymptotic series."""
    if x != x or x == -math.inf:
        return math.nan
    if x == 0:
        return math.copysign(math.inf, -x)
    if x == math.inf:
        return math.inf
    extra = 0.0
    if x < 0:
        r = x - round(x)
        if r == 0:
            return math.nan
        extra, x = -math.pi / math.tan(math.pi * r), 1 - x
    s = 0.0
    while x < 10:
        s, x = s + 1 / x, x + 1
    z = 1 / (x * x)
    series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (1 / 132 - z * (691 / 32760 - z / 12))))))
    return math.log(x) - 0.5 / x - series - s + extra


def _lgamma64(x: float) -> float:
    """log|Gamma(x)| in float64 with PyTorch's special values (+inf at the poles and at +-inf)."""
    if x != x:
        return math.nan
    if math.isinf(x) or (x <= 0 and x == math.floor(x)):
        return math.inf
    return math.lgamma(x)


def polygamma64(n: float, x: float) -> float:
    """polygamma(n, x), n >= 1, in float64 with PyTorch's special values (as the routine:
    (-1)^(n+1) n! zeta(n + 1, x), direct terms below 2n + 10, then Euler-Maclaurin)."""
    k = int(n)
    sign_fact = math.factorial(k) * (1.0 if k % 2 else -1.0)
    if x != x:
        return math.nan
    if x == math.inf:
        return 0.0 if k == 1 else math.nan
    if x <= 0 and x == math.floor(x):
        return math.nan if (k == 1 and x == -math.inf) else math.copysign(math.inf, sign_fact)
    s, acc, y = k + 1, 0.0, x
    while y < 2 * k + 10:
        acc, y = acc + y ** -s, y + 1
    bern = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
    e, f = 0.0, s / y
    for j in range(1, 9):
        if j > 1:
            f *= (s + 2 * j - 3) * (s + 2 * j - 2) / (y * y)
        e += f * bern[j - 1] / math.factorial(2 * j)
    return sign_fact * (acc + y ** -s * (y / k + 0.5 + e))


F64_UNARY = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "log1p": np.log1p, "expm1": np.expm1, "log2": np.log2, "log10": np.log10, "exp2": np.exp2,
    "erfc": np.vectorize(math.erfc, otypes=[np.float64]),
    "erfinv": np.vectorize(_erfinv64, otypes=[np.float64]),
    "erfcx": np.vectorize(_erfcx64, otypes=[np.float64]),
    "digamma": np.vectorize(_digamma64, otypes=[np.float64]),
    "lgamma": np.vectorize(_lgamma64, otypes=[np.float64]),
    **{name: np.vectorize(lambda x, nu=nu, scaled=scaled: _besseli64(x, nu, scaled), otypes=[np.float64])
       for name, nu, scaled in (("i0", 0, False), ("i0e", 0, True), ("i1", 1, False), ("i1e", 1, True))},
}
