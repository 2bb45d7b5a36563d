"""Accuracy and special-value tests for csrc/wat/math_f32x4.wat.

The .wat file is a fragment of module fields; these tests run it in the harness of
tests/unit/wasm_math.py (a `map_<name>(src, dst, n)` loop per routine, the real
`wat2wasm`, wasmtime with relaxed SIMD disabled), against numpy float64 references
(ulp distance and exact ulp error, defined there).
Run with `python -m pytest tests/unit/test_math_wat.py -q -s` to see the
measured maxima printed.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.unit.wasm_math import (
    F32_DENORM_MIN, F32_MAX, F32_TINY, WAT_DIR, WasmMath, errors, random_bits, strip_comments, top_level_forms,
    ulp_distance,
)

WAT_PATH = WAT_DIR / "math_f32x4.wat"
FUNCS = ("exp", "log", "tanh", "erf", "sigmoid")


@pytest.fixture(scope="module")
def fragment() -> str:
    return WAT_PATH.read_text()


@pytest.fixture(scope="module")
def wm(fragment, tmp_path_factory) -> WasmMath:
    return WasmMath(fragment, FUNCS, (), tmp_path_factory.mktemp("mathwat"))


# --------------------------------------------------------------------------
# helpers: inputs and error measurement
# --------------------------------------------------------------------------


def _report(name, x, got, ref64, mask=None):
    with np.errstate(over="ignore"):
        ref32 = ref64.astype(np.float32)
    if mask is None:
        mask = np.isfinite(ref32)
    x, got, ref64 = x[mask], got[mask], ref64[mask]
    assert np.all(np.isfinite(got)), f"{name}: non-finite result for finite reference at x={x[~np.isfinite(got)][:5]}"
    dist, exact, abserr, rel = errors(got, ref64)
    i = int(np.argmax(exact))
    normal = np.abs(ref64) >= F32_TINY
    max_rel = rel[normal].max() if normal.any() else 0.0
    print(
        f"\n[{name}] n={x.size} max_ulp_dist={dist.max()} max_ulp_err={exact.max():.3f} "
        f"(at x={x[i]!r}) max_abs_err={abserr.max():.3e} max_rel_err(normal results)={max_rel:.3e}"
    )
    return dist, exact, abserr, rel


def _f32_grid(lo: float, hi: float, n: int) -> np.ndarray:
    return np.linspace(lo, hi, n, dtype=np.float64).astype(np.float32)


def _logspace_both_signs(lo_exp: float, hi_exp: float, n: int) -> np.ndarray:
    mag = np.logspace(lo_exp, hi_exp, n, dtype=np.float64).astype(np.float32)
    return np.concatenate([mag, -mag])


def _denormals(n: int = 2000) -> np.ndarray:
    bits = np.unique(
        np.concatenate(
            [
                np.arange(1, 64, dtype=np.uint32),
                np.geomspace(1, 0x007FFFFF, n).astype(np.uint32),
                np.arange(0x007FFFC0, 0x00800000, dtype=np.uint32),
            ]
        )
    )
    return bits.view(np.float32)


SPECIALS = np.array(
    [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        F32_MAX,
        -F32_MAX,
        F32_TINY,
        -F32_TINY,
        F32_DENORM_MIN,
        -F32_DENORM_MIN,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
    ],
    dtype=np.float32,
)


def _erf64(x: np.ndarray) -> np.ndarray:
    return np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)).astype(np.float64)


# --------------------------------------------------------------------------
# structure of the fragment
# --------------------------------------------------------------------------


def test_fragment_is_only_funcs(fragment):
    assert fragment.lstrip().startswith(";;"), "file must start with a ;; header"
    forms = top_level_forms(fragment)
    names = []
    for form in forms:
        m = re.match(r"\(\s*func\s+(\$[\w.]+)", form)
        assert m, f"top-level form is not a named func: {form[:60]!r}"
        names.append(m.group(1))
    assert set(names) == {f"$f32x4_{n}" for n in FUNCS}
    for form in forms:
        # exact signature: one v128 param named $x, one v128 result
        assert re.match(r"\(\s*func\s+\$[\w.]+\s+\(param \$x v128\)\s+\(result v128\)", form), form[:80]
    body = strip_comments(fragment)
    for banned in (
        "relaxed",
        "(memory",
        "(export",
        "(import",
        "(global",
        "(data",
        "(table",
        "(elem",
        "(start",
        "(module",
    ):
        assert banned not in body, f"fragment must not contain {banned!r}"


def test_header_documents_each_function(fragment):
    header = []
    for line in fragment.splitlines():
        if not line.startswith(";;"):
            break
        header.append(line)
    text = "\n".join(header)
    for name in FUNCS:
        assert f"$f32x4_{name}" in text
    assert "ulp" in text


# Regression bounds on the exact ulp error (|got - ref64| / ulp(ref32)) over the
# sweeps below; the measured maxima are quoted in the .wat header.  The
# requirements are looser: exp/log/sigmoid <= 2 ulp, tanh <= 3 ulp (or 1e-7
# absolute), erf <= 2e-7 absolute.
MAX_ULP_ERR = {"exp": 1.0, "log": 1.0, "tanh": 1.5, "erf": 1.5, "sigmoid": 1.5}
REQUIRED_ULP_DIST = {"exp": 2, "log": 2, "tanh": 3, "erf": 4, "sigmoid": 2}


def _check_monotone(name, x, got, slack_ulp=0):
    """got must be non-decreasing in x (up to slack_ulp float32 steps)."""
    order = np.argsort(x, kind="stable")
    xs, gs = x[order].astype(np.float64), got[order]
    inc = np.diff(xs) > 0
    drop = ulp_distance(gs[:-1], gs[1:]) * (gs[1:] < gs[:-1])
    worst = int(drop[inc].max()) if inc.any() else 0
    print(f"[{name}] monotone: {int((drop[inc] > 0).sum())} decreasing steps, worst {worst} ulp")
    assert worst <= slack_ulp, f"{name} is not monotone (drop of {worst} ulp)"


# --------------------------------------------------------------------------
# exp
# --------------------------------------------------------------------------


def test_exp_accuracy(wm):
    x = np.concatenate(
        [
            _f32_grid(-104.0, 89.0, 2_000_000),
            _f32_grid(-1.0, 1.0, 300_000),
            _logspace_both_signs(-45, 2.05, 300_000),
            _denormals(500),
            -_denormals(500),
            # dense around the overflow / subnormal / underflow thresholds
            _f32_grid(88.0, 88.8, 50_000),
            _f32_grid(-88.0, -87.0, 50_000),
            _f32_grid(-104.0, -102.5, 50_000),
        ]
    )
    got = wm("exp", x)
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64))
        ref32 = ref.astype(np.float32)
    # normal-range results: ulp error relative to the float32 result
    normal = np.isfinite(ref32) & (ref >= F32_TINY)
    dist, exact, *_ = _report("exp", x, got, ref, normal)
    assert dist.max() <= REQUIRED_ULP_DIST["exp"]
    assert exact.max() <= MAX_ULP_ERR["exp"]
    # subnormal results (x < -87.34): correctly scaled, error in units of 2**-149
    sub = ref < F32_TINY
    dist_s, _, *_ = _report("exp(subnormal results)", x, got, ref, sub)
    assert dist_s.max() <= 1
    assert np.all(got[x < -103.98] == 0.0)
    # overflow
    big = x.astype(np.float64) > 88.7228394
    assert np.all(np.isinf(got[big]) & (got[big] > 0))
    assert np.all(np.isfinite(got[~big]))
    _check_monotone("exp", x, got)


def test_exp_specials(wm):
    x = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            F32_MAX,
            -F32_MAX,
            88.72283,
            88.722839,
            88.7228394,
            88.73,
            89.0,
            100.0,
            -87.33654,
            -87.4,
            -100.0,
            -103.0,
            -103.9,
            -103.97,
            -104.0,
            -105.0,
            -200.0,
            1e-30,
            -1e-30,
            F32_DENORM_MIN,
        ],
        dtype=np.float32,
    )
    got = wm("exp", x)
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64)).astype(np.float32)
    assert got[0] == 1.0 and got[1] == 1.0
    assert got[2] == np.inf
    assert got[3] == 0.0 and not np.signbit(got[3])
    assert np.isnan(got[4])
    assert got[5] == np.inf and got[6] == 0.0
    finite = np.isfinite(x)
    ok = ulp_distance(got[finite], ref[finite]) <= 1
    assert np.all(ok), list(zip(x[finite][~ok], got[finite][~ok], ref[finite][~ok]))
    assert np.all(got[x > 88.72284] == np.inf)
    assert np.all(got[(x > -103.9) & (x < -87)] > 0)


# --------------------------------------------------------------------------
# log
# --------------------------------------------------------------------------


def test_log_accuracy(wm):
    x = np.concatenate(
        [
            np.abs(random_bits(1_000_000, 1)),
            # every 4th float32 in [0.5, 2): the reduced argument for k = -1, 0, 1
            np.arange(0x3F000000, 0x40000000, 4, dtype=np.uint32).view(np.float32),
            np.logspace(-45.5, 38.5, 300_000).astype(np.float32),
            _denormals(),
            np.array([F32_MAX, F32_TINY, F32_DENORM_MIN], dtype=np.float32),
        ]
    )
    x = x[x > 0]
    got = wm("log", x)
    ref = np.log(x.astype(np.float64))
    dist, exact, *_ = _report("log", x, got, ref)
    assert dist.max() <= REQUIRED_ULP_DIST["log"]
    assert exact.max() <= MAX_ULP_ERR["log"]
    sub = x < F32_TINY
    _, exact_s, *_ = _report("log(subnormal inputs)", x, got, ref, sub)
    assert exact_s.max() <= MAX_ULP_ERR["log"]
    _check_monotone("log", x, got)


def test_log_specials(wm):
    x = np.array(
        [0.0, -0.0, -1.0, -F32_DENORM_MIN, -np.inf, np.inf, np.nan, 1.0, F32_MAX, F32_DENORM_MIN, F32_TINY, 2.0, 0.5],
        dtype=np.float32,
    )
    got = wm("log", x)
    assert got[0] == -np.inf and got[1] == -np.inf
    assert np.isnan(got[2]) and np.isnan(got[3]) and np.isnan(got[4])
    assert got[5] == np.inf
    assert np.isnan(got[6])
    assert got[7] == 0.0 and not np.signbit(got[7])
    ref = np.log(x[8:].astype(np.float64)).astype(np.float32)
    assert np.all(ulp_distance(got[8:], ref) <= 1)


# --------------------------------------------------------------------------
# tanh
# --------------------------------------------------------------------------


def test_tanh_accuracy(wm):
    x = np.concatenate(
        [
            _f32_grid(-10.0, 10.0, 1_500_000),
            _f32_grid(-1.5, 1.5, 1_000_000),
            _logspace_both_signs(-45, 1.6, 300_000),
            _denormals(500),
            -_denormals(500),
        ]
    )
    got = wm("tanh", x)
    ref = np.tanh(x.astype(np.float64))
    dist, exact, abserr, _ = _report("tanh", x, got, ref)
    assert np.all((dist <= REQUIRED_ULP_DIST["tanh"]) | (abserr <= 1e-7))
    assert exact.max() <= MAX_ULP_ERR["tanh"]
    tiny = np.abs(x) < 1e-3
    _, exact_t, *_ = _report("tanh(|x|<1e-3)", x, got, ref, tiny)
    assert exact_t.max() <= 0.501  # (almost) correctly rounded near 0
    assert np.all(np.abs(got) <= 1.0)
    # odd symmetry, bit-exact
    assert np.array_equal(wm("tanh", -x).view(np.uint32), (-got).view(np.uint32))
    _check_monotone("tanh", x, got)


def test_tanh_specials(wm):
    x = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            F32_MAX,
            -F32_MAX,
            1e-20,
            -1e-20,
            F32_DENORM_MIN,
            -F32_DENORM_MIN,
            9.5,
            20.0,
            -20.0,
            1e-7,
            1.0,
            -1.0,
            0.99999994,
        ],
        dtype=np.float32,
    )
    got = wm("tanh", x)
    assert got[0] == 0.0 and not np.signbit(got[0])
    assert got[1] == 0.0 and np.signbit(got[1])
    assert got[2] == 1.0 and got[3] == -1.0
    assert np.isnan(got[4])
    assert got[5] == 1.0 and got[6] == -1.0
    assert got[7] == np.float32(1e-20) and got[8] == np.float32(-1e-20)
    assert got[9] == F32_DENORM_MIN and got[10] == -F32_DENORM_MIN
    assert got[11] == 1.0 and got[12] == 1.0 and got[13] == -1.0
    ref = np.tanh(x[14:].astype(np.float64)).astype(np.float32)
    assert np.all(ulp_distance(got[14:], ref) <= 1)


# --------------------------------------------------------------------------
# erf
# --------------------------------------------------------------------------


def test_erf_accuracy(wm):
    x = np.concatenate(
        [
            _f32_grid(-5.0, 5.0, 1_500_000),
            _f32_grid(-1.5, 1.5, 500_000),
            _logspace_both_signs(-45, 0.7, 200_000),
            _denormals(300),
            -_denormals(300),
        ]
    )
    got = wm("erf", x)
    ref = _erf64(x)
    dist, exact, abserr, _ = _report("erf", x, got, ref)
    assert abserr.max() <= 1e-7  # requirement: 2e-7
    assert dist.max() <= REQUIRED_ULP_DIST["erf"]
    assert exact.max() <= MAX_ULP_ERR["erf"]
    small = (np.abs(x) < 1e-3) & (np.abs(x) >= F32_TINY)
    d_s, e_s, *_ = _report("erf(|x|<1e-3)", x, got, ref, small)
    assert d_s.max() <= 1 and e_s.max() <= 1.0
    assert np.all(np.abs(got) <= 1.0)
    assert np.array_equal(wm("erf", -x).view(np.uint32), (-got).view(np.uint32))
    _check_monotone("erf", x, got)


def test_erf_specials(wm):
    x = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            F32_MAX,
            -F32_MAX,
            3.95,
            4.0,
            -4.0,
            10.0,
            1e-20,
            -1e-20,
            F32_DENORM_MIN,
            1.0,
            -1.0,
            0.99999994,
        ],
        dtype=np.float32,
    )
    got = wm("erf", x)
    assert got[0] == 0.0 and not np.signbit(got[0])
    assert got[1] == 0.0 and np.signbit(got[1])
    assert got[2] == 1.0 and got[3] == -1.0
    assert np.isnan(got[4])
    assert got[5] == 1.0 and got[6] == -1.0
    assert got[7] == 1.0 and got[8] == 1.0 and got[9] == -1.0 and got[10] == 1.0
    ref = _erf64(x[11:]).astype(np.float32)
    assert np.all(ulp_distance(got[11:], ref) <= 1)


# --------------------------------------------------------------------------
# sigmoid
# --------------------------------------------------------------------------


def _sigmoid64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def test_sigmoid_accuracy(wm):
    x = np.concatenate(
        [
            _f32_grid(-104.0, 20.0, 1_500_000),
            _f32_grid(-20.0, 20.0, 1_000_000),
            _f32_grid(-20.5, -19.5, 20_000),
            _logspace_both_signs(-45, 2.05, 300_000),
            _denormals(500),
            -_denormals(500),
        ]
    )
    got = wm("sigmoid", x)
    ref = _sigmoid64(x)
    normal = ref >= F32_TINY
    dist, exact, *_ = _report("sigmoid", x, got, ref, normal)
    assert dist.max() <= REQUIRED_ULP_DIST["sigmoid"]
    assert exact.max() <= MAX_ULP_ERR["sigmoid"]
    _report("sigmoid(subnormal results)", x, got, ref, ~normal)
    assert np.all(ulp_distance(got[~normal], ref[~normal].astype(np.float32)) <= 1)
    assert np.all((got >= 0) & (got <= 1))
    # not correctly rounded, so not strictly monotone: allow 1-ulp steps back
    _check_monotone("sigmoid", x, got, slack_ulp=1)


def test_sigmoid_specials(wm):
    x = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            F32_MAX,
            -F32_MAX,
            100.0,
            -100.0,
            -88.0,
            -89.0,
            -103.0,
            -110.0,
            17.0,
            1e-20,
            -20.0,
            20.0,
        ],
        dtype=np.float32,
    )
    got = wm("sigmoid", x)
    assert got[0] == 0.5 and got[1] == 0.5
    assert got[2] == 1.0 and got[3] == 0.0
    assert np.isnan(got[4])
    assert got[5] == 1.0 and got[6] == 0.0
    assert got[7] == 1.0
    ref = _sigmoid64(x[8:]).astype(np.float32)
    assert np.all(ulp_distance(got[8:], ref) <= 1), (x[8:], got[8:], ref)
    assert got[8] > 0 and got[9] > 0 and got[10] > 0
    assert got[12] == 0.0
    assert got[13] == np.float32(0.99999994)  # 1 - 4.1e-8 rounds below 1
    assert got[14] == 0.5


# --------------------------------------------------------------------------
# all functions on the common special values
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCS)
def test_common_specials(wm, name):
    refs = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "erf": _erf64, "sigmoid": _sigmoid64}
    got = wm(name, SPECIALS)
    with np.errstate(all="ignore"):
        ref = np.asarray(refs[name](SPECIALS.astype(np.float64)), dtype=np.float64).astype(np.float32)
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(got), nan), (SPECIALS, got, ref)
    assert np.all(ulp_distance(got[~nan], ref[~nan]) <= 1), (SPECIALS, got, ref)
    assert np.array_equal(np.signbit(got[~nan]), np.signbit(ref[~nan])), (SPECIALS, got, ref)


# --------------------------------------------------------------------------
# lanes are independent
# --------------------------------------------------------------------------


def test_special_lanes_do_not_disturb_neighbours(wm):
    x = np.array([np.nan, 1.0, -np.inf, 0.5, np.inf, -0.0, 3.0, -2.0], dtype=np.float32)
    refs = {
        "exp": lambda v: np.exp(v),
        "log": lambda v: np.log(v),
        "tanh": lambda v: np.tanh(v),
        "erf": _erf64,
        "sigmoid": _sigmoid64,
    }
    finite = np.isfinite(x)
    for name, ref in refs.items():
        got_all = wm(name, x)
        assert np.isnan(got_all[0])
        for i in np.nonzero(finite)[0]:
            single = wm(name, np.full(4, x[i], dtype=np.float32))
            assert np.array_equal(single.view(np.uint32), np.full(4, got_all[i]).view(np.uint32)) or (
                np.isnan(single).all() and np.isnan(got_all[i])
            )
            with np.errstate(all="ignore"):
                r = np.float32(np.asarray(ref(np.array([x[i]], dtype=np.float64)))[0])
            if np.isfinite(r):
                assert ulp_distance(np.array([got_all[i]]), np.array([r]))[0] <= 1
