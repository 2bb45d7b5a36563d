"""Accuracy and special-value tests for csrc/wat/math_f32x4_f64.wat (float32 math
evaluated in float64).

The fragment runs in the harness of tests/unit/wasm_math.py (a ``map_<name>`` loop per
routine, real ``wat2wasm``, wasmtime with relaxed SIMD disabled). References are numpy's float64 functions (glibc: correctly
reduced, within an ulp of float64), rounded to float32.

The routines round a float64 result once, so the bound is "correctly rounded except next
to a tie": exact ulp error <= 0.5 + 1e-3 for normal results, at most one float32 step
for subnormal results. ``-s`` prints the measured maxima; the ``slow`` sweep (2^24
random float32 bit patterns per function) gives the figures quoted in the .wat header.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.unit.wasm_math import (
    F32_TINY, WAT_DIR, WasmMath, errors, random_bits, strip_comments, top_level_forms, ulp_distance,
)

WAT_PATH = WAT_DIR / "math_f32x4_f64.wat"
REF = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "log1p": np.log1p, "expm1": np.expm1, "log2": np.log2, "log10": np.log10, "exp2": np.exp2,
    "erfc": lambda x: np.vectorize(math.erfc, otypes=[np.float64])(x),
    # numpy has none; scipy's gives erfinv(-0) = +0, PyTorch (and we) -0
    "erfinv": lambda x: np.copysign(pytest.importorskip("scipy.special").erfinv(x), x),
    "erfcx": lambda x: pytest.importorskip("scipy.special").erfcx(x),
    **{n: (lambda x, n=n: getattr(pytest.importorskip("scipy.special"), n)(x))
       for n in ("i0", "i0e", "i1", "i1e", "digamma")},
    # scipy's lgamma(-inf) = -inf, PyTorch's (and ours) +inf
    "lgamma": lambda x: np.where(x == -np.inf, np.inf, pytest.importorskip("scipy.special").gammaln(x)),
}
REF2 = {"atan2": np.arctan2, "hypot": np.hypot, "pow": np.power}
# dense grids over each function's interesting range, on top of random bit patterns
GRIDS = {
    "sin": [(-100, 100)], "cos": [(-100, 100)], "tan": [(-100, 100)], "sinh": [(-100, 100)],
    "cosh": [(-100, 100)], "expm1": [(-110, 100), (-1e-3, 1e-3)], "exp2": [(-160, 130)], "asin": [(-1, 1)],
    "acos": [(-1, 1)], "atanh": [(-1, 1)], "acosh": [(1, 3)], "log1p": [(-1, 2), (-1e-3, 1e-3)],
    "asinh": [(-3, 3)], "erfc": [(-4, 11), (-0.6, 0.6)],
    "erfinv": [(-1, 1), (0.999, 1)], "erfcx": [(-10, 30)],
    **{n: [(-100, 100), (-32, 32)] for n in ("i0", "i0e", "i1", "i1e")}, "digamma": [(-20, 20), (0, 3)], "lgamma": [(-20, 20), (0, 3), (-5, 0)], "atan": [(-3, 3)], "log2": [(0, 4)], "log10": [(0, 20)],
}
CORRECTLY_ROUNDED = 0.5 + 1e-3  # exact ulp error bound for normal results


@pytest.fixture(scope="module")
def fragment() -> str:
    return WAT_PATH.read_text()


@pytest.fixture(scope="module")
def wm(fragment, tmp_path_factory) -> WasmMath:
    return WasmMath(fragment, REF, (*REF2, "polygamma"), tmp_path_factory.mktemp("mathf64"))


def _inputs(name: str, n: int, seed: int) -> np.ndarray:
    parts = [random_bits(n, seed)]
    parts += [np.linspace(lo, hi, n // 4, dtype=np.float64).astype(np.float32) for lo, hi in GRIDS.get(name, [])]
    return np.concatenate(parts)


def _measure(name, x, got, ref64, bound=CORRECTLY_ROUNDED):
    """Assert the bound; return the max exact ulp error of normal results."""
    with np.errstate(all="ignore"):
        ref32 = ref64.astype(np.float32)
    nan = np.isnan(ref32)
    assert np.array_equal(np.isnan(got), nan), f"{name}: NaN mismatch at x={x[np.isnan(got) != nan][:5]}"
    inf = np.isinf(ref32)
    assert np.array_equal(got[inf], ref32[inf]), f"{name}: inf mismatch at x={x[inf][got[inf] != ref32[inf]][:5]}"
    fin = ~nan & ~inf
    normal = fin & (np.abs(ref64) >= F32_TINY)
    _, exact, *_ = errors(got[normal], ref64[normal])
    sub = fin & ~normal
    if sub.any():
        assert ulp_distance(got[sub], ref32[sub]).max() <= 1, f"{name}: subnormal results off by > 1 step"
    worst = float(exact.max()) if exact.size else 0.0
    at = x[normal][int(np.argmax(exact))] if exact.size else None
    print(f"\n[{name}] n={x.size} max_ulp_err={worst:.6f} at {at!r}")
    assert worst <= bound, f"{name}: {worst} ulp at x={at!r}"
    return worst


def _sweep_unary(wm, name, n, seed):
    x = _inputs(name, n, seed)
    with np.errstate(all="ignore"):
        ref = REF[name](x.astype(np.float64))
    return _measure(name, x, wm(name, x), ref)


def _binary_inputs(name, n, seed):
    x, y = random_bits(n, seed), random_bits(n, seed + 1)
    m = min(x.size, y.size)
    x, y = x[:m], y[:m]
    rng = np.random.default_rng(seed + 2)
    if name == "pow":  # random bits mostly over/underflow: add bases near 1 and moderate exponents
        b, e = rng.uniform(0, 4, n // 2).astype(np.float32), rng.uniform(-30, 30, n // 2).astype(np.float32)
        x, y = np.concatenate([np.abs(x), b, -b]), np.concatenate([y, e, np.round(e)])
    else:
        g = rng.uniform(-10, 10, (2, n // 2)).astype(np.float32)
        x, y = np.concatenate([x, g[0]]), np.concatenate([y, g[1]])
    return x, y


def _sweep_binary(wm, name, n, seed):
    x, y = _binary_inputs(name, n, seed)
    with np.errstate(all="ignore"):
        ref = REF2[name](x.astype(np.float64), y.astype(np.float64))
    return _measure(name, x, wm(name, x, y), ref)


# --------------------------------------------------------------------------- structure


def test_fragment_is_only_funcs(fragment):
    assert fragment.lstrip().startswith(";;")
    names = set()
    for form in top_level_forms(fragment):
        m = re.match(r"\(\s*func\s+(\$[\w.]+)", form)
        assert m, f"top-level form is not a named func: {form[:60]!r}"
        names.add(m.group(1))
    assert {f"$f32x4_{n}" for n in (*REF, *REF2)} <= names
    body = strip_comments(fragment)
    for banned in ("relaxed", "(memory", "(export", "(import", "(global", "(data", "(table", "(elem", "(start"):
        assert banned not in body, f"fragment must not contain {banned!r}"
    header = "\n".join(line for line in fragment.splitlines() if line.startswith(";;"))
    for name in (*REF, *REF2):
        assert f"$f32x4_{name}" in header


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("name", list(REF))
def test_unary_accuracy(wm, name):
    _sweep_unary(wm, name, 1 << 18, 1)


@pytest.mark.parametrize("name", list(REF2))
def test_binary_accuracy(wm, name):
    _sweep_binary(wm, name, 1 << 18, 1)


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_trig_large_arguments(wm, name):
    """Both reductions (Cody-Waite below 2^30, Payne-Hanek above) and their boundary, up
    to the largest float32; the worst cases of float32 argument reduction are in here."""
    mag = np.concatenate([np.geomspace(1e3, 3.4e38, 200_000).astype(np.float32),
                          np.arange(0x4E7FFF00, 0x4E800100, dtype=np.uint32).view(np.float32),  # around 2^30
                          np.arange(0x7F7FF000, 0x7F800000, dtype=np.uint32).view(np.float32)])
    x = np.concatenate([mag, -mag])
    _measure(name, x, wm(name, x), REF[name](x.astype(np.float64)))


@pytest.mark.slow
@pytest.mark.parametrize("name", [*REF, *REF2])
def test_sweep_2_24(wm, name):
    """The header's figures: 2^24 random float32 bit patterns (+ grids) per function."""
    if name in REF:
        _sweep_unary(wm, name, 1 << 24, 7)
    else:
        _sweep_binary(wm, name, 1 << 24, 7)


# --------------------------------------------------------------------------- special values

SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-30, -1e-30,
                     2.0**-149, -(2.0**-149), 3.4e38, -3.4e38, 0.99999994, -0.99999994, 1.0000001, 88.72, 89.5,
                     -103.9, -150.0, 128.0, 1e10, -1e10], dtype=np.float32)


@pytest.mark.parametrize("name", list(REF))
def test_unary_specials(wm, name):
    got = wm(name, SPECIALS)
    with np.errstate(all="ignore"):
        ref = REF[name](SPECIALS.astype(np.float64)).astype(np.float32)
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(got), nan), (SPECIALS, got, ref)
    assert np.all(ulp_distance(got[~nan], ref[~nan]) <= 1), (SPECIALS, got, ref)
    assert np.array_equal(np.signbit(got[~nan]), np.signbit(ref[~nan])), (SPECIALS, got, ref)


def test_named_special_cases(wm):
    assert np.signbit(wm("sin", np.float32([-0.0]))[0]) and np.signbit(wm("tan", np.float32([-0.0]))[0])
    assert wm("log1p", np.float32([-1.0]))[0] == -np.inf
    assert wm("atanh", np.float32([1.0, -1.0])).tolist() == [np.inf, -np.inf]
    assert wm("expm1", np.float32([89.0, 1000.0, -np.inf])).tolist() == [np.inf, np.inf, -1.0]
    assert wm("exp2", np.float32([-149.0, 128.0, 10.0])).tolist() == [2.0**-149, np.inf, 1024.0]
    assert wm("log2", np.float32([1024.0, 2.0**-149])).tolist() == [10.0, -149.0]
    assert wm("log10", np.float32([1000.0, 1e-5])).tolist() == [3.0, np.float32(-5.0)]
    assert wm("cos", np.float32([0.0, -0.0])).tolist() == [1.0, 1.0]
    assert np.isnan(wm("sin", np.float32([np.inf, -np.inf]))).all()


PAIR = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, 1e-30, 1e30,
                 2.0**-149, 3.4e38], dtype=np.float32)


@pytest.mark.parametrize("name", list(REF2))
def test_binary_special_pairs(wm, name):
    """Every pair of special values against C (numpy float64): atan2 quadrants and signed
    zeros, hypot(inf, nan) = inf, pow's special cases (pow(1, nan) = 1, pow(-8, 1/3) = nan, ...)."""
    x, y = np.repeat(PAIR, PAIR.size), np.tile(PAIR, PAIR.size)
    got = wm(name, x, y)
    with np.errstate(all="ignore"):
        ref = REF2[name](x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
    nan = np.isnan(ref)
    bad = np.isnan(got) != nan
    assert not bad.any(), list(zip(x[bad], y[bad], got[bad], ref[bad]))
    bad = ~nan & ((ulp_distance(got, ref) > 1) | (np.signbit(got) != np.signbit(ref)))
    assert not bad.any(), list(zip(x[bad], y[bad], got[bad], ref[bad]))


def test_lanes_are_independent(wm):
    x = np.array([np.nan, 1.0, -np.inf, 0.5, 1e20, -0.0, 3.0, -2.0], dtype=np.float32)
    for name in REF:
        together = wm(name, x)
        for i in range(x.size):
            alone = wm(name, np.full(4, x[i], np.float32))
            assert np.array_equal(alone.view(np.uint32), np.full(4, together[i]).view(np.uint32)) or (
                np.isnan(alone).all() and np.isnan(together[i])), (name, x[i])


def test_lgamma_near_its_zeros(wm):
    """lgamma is 0 at 1 and 2 and crosses 0 once in each interval (-n-1, -n), n >= 2, where the
    recurrence and the reflection cancel: every float32 within 2^15 steps of each zero. At 1 and 2
    Taylor series keep it correctly rounded; next to the negative zeros the reflection's float64
    cancellation costs a few hundredths of an ulp (the header's bound)."""
    zeros = np.array([1.0, 2.0, -2.4570247, -2.7476826, -3.1435809, -3.9552943, -4.0393618, -4.9915446],
                     np.float32)
    steps = np.arange(-(1 << 15), 1 << 15, dtype=np.int32)
    x = np.concatenate([(z.view(np.int32) + steps).view(np.float32) for z in zeros])
    assert _measure("lgamma", x[:2 << 16], wm("lgamma", x[:2 << 16]), REF["lgamma"](x[:2 << 16].astype(np.float64))) \
        <= CORRECTLY_ROUNDED
    _measure("lgamma", x, wm("lgamma", x), REF["lgamma"](x.astype(np.float64)), bound=0.6)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 30])
def test_polygamma_accuracy(wm, n):
    """polygamma(n, x), n >= 1 (the order is the first operand, the same in every lane), against
    scipy's float64 polygamma: grids over [-20, 20] and (0, 3), random positive bit patterns,
    float32 next to the poles; the poles themselves as PyTorch ((-1)^(n+1) inf)."""
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(n)
    bits = random_bits(1 << 16, n)
    poles = np.arange(-20, 1, dtype=np.float32)
    near = np.concatenate([np.nextafter(poles, np.float32(-np.inf)), np.nextafter(poles, np.float32(np.inf))])
    x = np.concatenate([np.linspace(-20, 20, 1 << 16, dtype=np.float32), rng.uniform(0, 3, 1 << 14).astype(np.float32),
                        np.abs(bits[np.abs(bits) < 1e30]), near])
    ref = special.polygamma(n, x.astype(np.float64))
    got = wm("polygamma", np.full_like(x, n), x)
    _measure(f"polygamma({n})", x, got, ref)
    at_poles = wm("polygamma", np.full_like(poles, n), poles)
    assert np.all(at_poles == np.float32(np.inf if n % 2 else -np.inf)), at_poles
