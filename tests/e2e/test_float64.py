"""float64 is computed as float64: arithmetic, comparisons, casts, reductions, matrix
products, views and factories on float64 tensors run fully as WebAssembly (strict mode: a
fallback raises) and agree with eager PyTorch to float64 precision (a result computed in
float32 would be off by ~1e-8 and fail these tolerances), with NaN/Inf, signed zeros, odd
sizes, non-contiguous inputs and empty tensors; operators whose float64 rule is not written
(trigonometric and special functions) fall back with a reason that names float64; a float64 model saves
and runs from its artifact in Python and Node."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests.e2e.helpers import check, make_input, run_wasm
from torch_wasm_backend.backend import WasmFallbackWarning

F64 = torch.float64
TIGHT = {"rtol": 1e-13, "atol": 1e-300}  # float64 rounding differences only
NAN, INF = float("nan"), float("inf")
SPECIALS = torch.tensor([0.0, -0.0, 1.0, -1.0, NAN, INF, -INF, 2.5, -3.0, 1e-310, -1e-310, 1e300,
                         -1e300, 1 + 2**-40, 5e-324], dtype=F64)


def _x(shape, **kw):
    return make_input(shape, F64, **kw)


@pytest.mark.parametrize("name,fn", [
    ("arith", lambda a, b: ((a * 3.1 + 1.0) / (b - 0.5), a - b * 1e-9, -a, a.abs())),
    ("compare", lambda a, b: (a < b, a >= b, a == b, a != b, torch.logical_and(a > 0, b > 0))),
    ("minmax", lambda a, b: (torch.maximum(a, b), torch.minimum(a, b), torch.fmax(a, b), torch.fmin(a, b),
                             a.clamp(-0.5, 0.7), torch.relu(a))),
    ("rounding", lambda a, b: (a.floor(), a.ceil(), a.round(), a.trunc(), a.sign(), torch.copysign(a, b),
                              torch.round(a, decimals=3), torch.round(a, decimals=-2))),
    ("sqrt", lambda a, b: (a.abs().sqrt(), a.abs().rsqrt(), a.reciprocal())),
    ("specials", lambda a, b: (a.isnan(), a.isinf(), a.isposinf(), torch.where(a.isnan(), b, a))),
    ("div_modes", lambda a, b: (torch.div(a, b, rounding_mode="trunc"), a / 3)),
])
def test_pointwise(name, fn):
    a = torch.cat([SPECIALS, _x((22,))]).reshape(37)
    b = torch.cat([SPECIALS.flip(0), _x((22,)) + 0.25]).reshape(37)
    check(fn, a, b, **TIGHT)


def test_pointwise_broadcast_noncontiguous_empty():
    a = _x((5, 7)).t()  # non-contiguous
    b = _x((1, 5))
    check(lambda a, b: (a * b + a, (a - b).t()), a, b, **TIGHT)
    check(lambda a: a * 2 + 1, torch.empty(0, 3, dtype=F64), **TIGHT)


def test_casts():
    a = torch.cat([SPECIALS, _x((10,)) * 1e6])
    f = _x((19,)) * 1e6  # finite and in range: float -> int of anything else is undefined in PyTorch
    i = make_input((19,), torch.int64, low=-(2**40), high=2**40)
    check(lambda a, f, i: (a.float(), a.float().double(), (a > 0).double(), a.bool(), f.to(torch.int64),
                           f.to(torch.int32), i.double(), i.double() + f), a, f, i, **TIGHT)
    x = _x((9,))
    check(lambda x: (x.float() * 2, x + torch.ones(9)), x, **TIGHT)  # float64 + float32 is float64


@pytest.mark.parametrize("shape,dim", [((7, 13), 1), ((7, 13), 0), ((3, 5, 9), (0, 2)), ((1000,), 0)])
def test_reductions(shape, dim):
    x = _x(shape)
    check(lambda x: (x.sum(dim), x.mean(dim), x.amax(dim), x.amin(dim), x.var(dim), x.sum(), x.prod(-1)), x, **TIGHT)
    check(lambda x: (x.argmax(-1), x.max(-1), x.min(0)), x, interp=True, **TIGHT)


def test_reductions_nan_and_large_cancellation():
    # a float32 accumulator would lose the 1.0 terms entirely
    x = torch.tensor([1e16, 1.0, -1e16, 1.0, 3.0], dtype=F64)
    check(lambda x: x.sum(), x, rtol=0, atol=4.0)
    y = _x((4, 6))
    y[1, 2] = NAN
    check(lambda y: (y.sum(1), y.amax(1), y.argmax(1)), y, **TIGHT)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (5, 7, 3), (17, 33, 9), (2, 0, 3)])
def test_matmul(m, k, n):
    a, b = _x((m, k)), _x((k, n))
    bias = _x((n,))
    check(lambda a, b, bias: (a @ b, torch.addmm(bias, a, b), torch.nn.functional.linear(a, b.t(), bias),
                              a @ b.t().contiguous().t()), a, b, bias, rtol=1e-12, atol=1e-12)
    ab, bb = _x((3, m, k)), _x((3, k, n))
    check(lambda a, b: torch.bmm(a, b), ab, bb, interp=True, rtol=1e-12, atol=1e-12)


def test_views_and_factories():
    x = _x((4, 6))
    check(lambda x: (x.t().reshape(3, 8), x[1:, ::2], torch.cat([x, x * 2], 1), x.flip(0), x.unsqueeze(0).expand(2, 4, 6),
                     torch.nn.functional.pad(x, (1, 2), value=0.5), x.masked_fill(x > 0, -1.5),
                     torch.arange(6, dtype=F64) * 0.1 + x, torch.full((4, 6), 1 / 3, dtype=F64) + x,
                     x.diagonal(), x.repeat(2, 1)), x, **TIGHT)


def test_transcendental_falls_back_with_reason():
    x = _x((5,))
    torch._dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = torch.compile(lambda x: x.sin() + 1, backend="wasm")(x)
    torch.testing.assert_close(out, x.sin() + 1, **TIGHT)
    reasons = [str(w.message) for w in caught if issubclass(w.category, WasmFallbackWarning)]
    assert any("aten.sin" in r and "float64" in r for r in reasons), reasons


def test_unlisted_rule_refuses_float64():
    """A rule not checked for float64 says so instead of computing it (here the determinant,
    whose routine reads and writes float32)."""
    from tests.e2e.helpers import expect_unsupported

    err = expect_unsupported(lambda x: torch.linalg.det(x), _x((3, 3)))
    assert "float64" in str(err)


def test_artifact_round_trip(tmp_path):
    """Python's loader; Node's and Chromium's are tests/e2e/test_node.py and test_browser.py
    (their "float64" case)."""
    from tests.e2e.js.models import save_case

    case = save_case("float64", tmp_path)
    assert [o["dtype"] for o in case.manifest["outputs"]] == ["float64", "float64"]
    for got, want in zip(case.expected, case.eager):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


def _random_doubles(n: int, seed: int) -> np.ndarray:
    bits = np.random.default_rng(seed).integers(0, 2**63, n, dtype=np.int64).view(np.float64)
    return bits[np.isfinite(bits)]


# name -> (reference, inputs, max relative error asserted): csrc/wat/math_f64.wat's header
MATH = {
    "exp": (np.exp, lambda: np.concatenate([_random_doubles(1 << 16, 1) % 800 - 760, np.linspace(-746, 710, 1 << 16),
                                             np.linspace(-1, 1, 4097)]), 2e-14),
    "log": (np.log, lambda: np.concatenate([np.abs(_random_doubles(1 << 17, 2)), np.linspace(0.5, 2, 1 << 14),
                                             [5e-324, 1e-310, 2.0**-1022, 1.7e308]]), 2e-15),
    "tanh": (np.tanh, lambda: np.concatenate([_random_doubles(1 << 16, 3) % 60 - 30, np.linspace(-0.1, 0.1, 1 << 15),
                                               np.geomspace(1e-300, 1, 4096)]), 2e-14),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda: np.linspace(-800, 800, 1 << 17), 2e-14),
    "log1p": (np.log1p, lambda: np.concatenate([np.abs(_random_doubles(1 << 16, 4)) - 1, np.geomspace(1e-300, 1, 4096),
                                                 -np.geomspace(1e-300, 0.999, 4096), np.linspace(-1, 2, 1 << 14)]), 2e-14),
    "expm1": (np.expm1, lambda: np.concatenate([_random_doubles(1 << 16, 5) % 800 - 760, np.geomspace(1e-300, 1, 4096),
                                                 -np.geomspace(1e-300, 40, 4096), np.linspace(-2, 2, 1 << 14)]), 2e-14),
    "log2": (np.log2, lambda: np.abs(_random_doubles(1 << 16, 6)), 2e-15),
    "log10": (np.log10, lambda: np.abs(_random_doubles(1 << 16, 7)), 2e-15),
}


@pytest.mark.parametrize("name", sorted(MATH))
def test_math_routine_error_bounds(name):
    ref_fn, inputs, bound = MATH[name]
    x = np.asarray(inputs(), np.float64)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0])
    x = np.concatenate([x, specials])
    got, _ = run_wasm(lambda t: getattr(torch, name)(t), torch.from_numpy(x))
    got = got.numpy()
    with np.errstate(all="ignore"):
        ref = ref_fn(x)
        want_torch = getattr(torch, name)(torch.from_numpy(x)).numpy()
    same_kind = np.isnan(got) == np.isnan(ref)
    assert same_kind.all(), f"NaN placement differs at {x[~same_kind][:5]}"
    fin = np.isfinite(ref)
    assert np.array_equal(got[~fin & ~np.isnan(ref)], ref[~fin & ~np.isnan(ref)]), "infinities differ"
    scale = np.maximum(np.abs(ref[fin]), 2.0**-1022)
    err = np.abs(got[fin] - ref[fin]) / scale
    worst = int(np.argmax(err))
    print(f"{name}: max relative error {err[worst]:.3g} at x = {x[fin][worst]!r}")
    assert err[worst] <= bound, f"{name}({x[fin][worst]!r}) = {got[fin][worst]!r}, reference {ref[fin][worst]!r}"
    assert np.array_equal(np.signbit(got[x == 0]), np.signbit(want_torch[x == 0]))  # signed zeros as PyTorch


@pytest.mark.parametrize("groups,stride,padding", [(1, 1, 0), (2, 2, 1), (4, 1, 1)])
def test_convolution_and_pooling(groups, stride, padding):
    x = _x((2, 4, 9, 7))
    w = _x((8, 4 // groups, 3, 3))
    b = _x((8,))
    F = torch.nn.functional
    check(lambda x, w, b: (F.conv2d(x, w, b, stride, padding, groups=groups), F.conv1d(x[:, :, 0], w[:, :, 0], b, stride,
                                                                                      padding, groups=groups)),
          x, w, b, rtol=1e-12, atol=1e-12)
    check(lambda x: (F.max_pool2d(x, 3, 2, 1), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, (4, 3)),
                     F.adaptive_avg_pool2d(x, 1)), x, **TIGHT)


def test_normalisation_and_softmax():
    x = _x((3, 5, 11))
    F = torch.nn.functional
    wt, bs = _x((11,)), _x((11,))
    check(lambda x: (torch.softmax(x, -1), torch.log_softmax(x, 1), F.layer_norm(x, (11,), wt, bs),
                     F.group_norm(x, 5), F.normalize(x, dim=-1), torch.linalg.vector_norm(x, 3, -1),
                     x.cumsum(1), x.cumprod(-1), torch.cummax(x, 2), x ** 3, x.abs() ** 0.5), x, rtol=1e-12, atol=1e-14)
    check(lambda x: (F.silu(x), F.elu(x), F.selu(x), F.hardswish(x), F.hardsigmoid(x), F.leaky_relu(x, 0.2),
                     F.gelu(x, approximate="tanh"), torch.log1p(x.abs()), torch.expm1(x), torch.sort(x, -1)),
          x, rtol=1e-12, atol=1e-14)


def test_exact_remainders():
    """fmod, remainder and floor division of float64 are exact (csrc/wat/math_f64.wat's long
    division), as PyTorch's: random bit patterns of every exponent, subnormals, signed zeros,
    specials. Excluded: quotients beyond the float64 range, where PyTorch's vectorised kernel
    gives NaN (its scalar tail the exact value)."""
    def bits(n, seed):
        b = np.random.default_rng(seed).integers(0, 2**64, n, dtype=np.uint64).view(np.float64)
        return b[np.isfinite(b)][:3000]

    a = np.concatenate([bits(4000, 1), np.random.default_rng(3).normal(size=2000) * 10,
                        [5e-324, -5e-324, 1e-310, 1e308, -0.0, 0.0, np.inf, -np.inf, np.nan, 1.0, 0.1, 7.5, -4.0]])
    b = np.concatenate([bits(4000, 2), np.random.default_rng(4).normal(size=2000),
                        [3e-324, 1e-320, 3.0, 1e-300, 2.0, -2.0, 1.0, 3.0, 1.0, 0.1, 0.1, -2.5, 2.0]])
    with np.errstate(all="ignore"):
        keep = ~(np.isfinite(a) & np.isfinite(b) & ~np.isfinite(a / b))
    a, b = torch.from_numpy(a[keep]), torch.from_numpy(b[keep])
    check(lambda a, b: (torch.fmod(a, b), torch.remainder(a, b)), a, b, rtol=0, atol=0)
    m = a[~(a.abs() > 1e300)]
    check(lambda m: (m % 0.1, torch.fmod(m, -3.0)), m, rtol=0, atol=0)
    small = torch.from_numpy(np.random.default_rng(5).normal(size=999) * 100)
    check(lambda a, b: (torch.floor_divide(a, b), torch.div(a, b, rounding_mode="floor")), small, small.flip(0) + 0.5,
          rtol=0, atol=0)


def test_pow_special_values_and_error():
    """float64 pow: C99's special values exactly (every pair of specials), integer exponents
    by powering, and the error of exp(y log|x|) within 3e-14 + 2e-16 |y log|x|| relative."""
    rng = np.random.default_rng(0)
    sp = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, np.inf, -np.inf, np.nan, 1e-310, 10.0, 0.1, -8.0,
          64.0, 65.0, 2.5, 1e300]
    x = np.array([a for a in sp for _ in sp] + list(np.abs(rng.normal(size=5000)) * 10) + list(rng.normal(size=3000))
                 + list(np.geomspace(1e-300, 1e300, 2000)))
    y = np.array([b for _ in sp for b in sp] + list(rng.normal(size=5000) * 20) + list(np.round(rng.normal(size=3000) * 10))
                 + list(rng.uniform(-2.3, 2.3, 2000)))
    got, _ = run_wasm(lambda a, b: (torch.pow(a, b), torch.pow(a, 2.5), torch.pow(3.0, b)), torch.from_numpy(x),
                      torch.from_numpy(y))
    with np.errstate(all="ignore"):
        refs = [x**y, x**2.5, 3.0**y]
        logs = [np.abs(y * np.log(np.abs(x))), np.abs(2.5 * np.log(np.abs(x))), np.abs(y * np.log(3.0))]
    for g, ref, t in zip(got, refs, logs):
        g = g.numpy()
        assert np.array_equal(np.isnan(g), np.isnan(ref))
        special = ~np.isfinite(ref) | (ref == 0)
        assert np.array_equal(g[special & ~np.isnan(ref)], ref[special & ~np.isnan(ref)])
        assert np.array_equal(np.signbit(g[ref == 0]), np.signbit(ref[ref == 0]))
        fin = ~special
        rel = np.abs(g[fin] - ref[fin]) / np.abs(ref[fin])
        assert (rel <= 3e-14 + 2e-16 * np.nan_to_num(t[fin])).all(), rel.max()  # t = 0 * inf: y = 0
