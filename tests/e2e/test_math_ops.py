"""End to end: the float64-evaluated math routines (csrc/wat/math_f32x4_f64.wat) against
eager PyTorch, on the odd sizes (scalar tail and f32x4 body), NaN/+-Inf, signed zeros,
non-contiguous and empty inputs, integer inputs (promoted to float32), and every
special-value pair of the binary ones (atan2 quadrants, pow's special cases).

Eager PyTorch (SLEEF, glibc) is within ~1 ulp of the correctly rounded result and so are
we (unit tests: tests/unit/test_math_f64_wat.py), so the default float32 tolerance of
``assert_close`` holds everywhere; signed zeros are compared bit for bit separately.
"""

from __future__ import annotations

import pytest
import torch

from tests.e2e.helpers import check, expect_unsupported, make_input, run_wasm
from tests.e2e.test_ops import INF, NAN, apply_all, layout_inputs, sized_inputs

UNARY = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "asin": torch.asin, "acos": torch.acos,
    "atan": torch.atan, "sinh": torch.sinh, "cosh": torch.cosh, "asinh": torch.asinh, "acosh": torch.acosh,
    "atanh": torch.atanh, "log1p": torch.log1p, "expm1": torch.expm1, "log2": torch.log2, "log10": torch.log10,
    "exp2": torch.exp2, "erfc": torch.erfc, "erfinv": torch.erfinv,
    # eager's float32 erfcx is off by up to ~5e-6 below x = -6 (exp of a rounded x^2; ours matches
    # scipy there, see the unit tests): compare above -5
    "erfcx": lambda x: torch.special.erfcx(x.clamp(min=-5.0)),
    "i0": torch.i0, "i0e": torch.special.i0e, "i1": torch.special.i1, "i1e": torch.special.i1e,
    "digamma": torch.digamma, "lgamma": torch.lgamma,
}
# inputs inside the domain, so that a comparison tests numbers rather than NaN == NaN
DOMAIN = {"erfinv": (-1.0, 1.0), "asin": (-1.0, 1.0), "acos": (-1.0, 1.0), "atanh": (-1.0, 1.0), "acosh": (1.0, 50.0),
          "log1p": (-1.0, 30.0), "log2": (0.0, 1e4), "log10": (0.0, 1e4)}
SPECIALS = torch.tensor([0.0, -0.0, NAN, INF, -INF, 1.0, -1.0, 0.5, -0.5, 1e-30, -1e-30, 1e-8, -1e-8, 2.0, -2.0,
                         88.0, 89.5, -90.0, 100.0, -104.0, 3.4e38, -3.4e38, 1e-45, 0.99999994, -0.99999994,
                         1.0000001, 3.1415927, -1.5707964, 1e5, 123456.7])


def _domain_input(name, n):
    lo, hi = DOMAIN.get(name, (-10.0, 10.0))
    return make_input((n,), low=lo, high=hi)


def _same_signed_zeros(out, ref):
    zero = ref == 0
    assert torch.equal(torch.signbit(out[zero]), torch.signbit(ref[zero])), (out, ref)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name):
    op = UNARY[name]
    sized = sized_inputs(nonfinite=(NAN, INF, -INF)) + [_domain_input(name, n) for n in (5, 64, 127)]
    laid = layout_inputs()
    check(apply_all(op, sized, laid), *sized, *laid, interp=True)


# eager's float32 i0/i1 compute exp(|x|) in float32 and overflow above 88.72, where the
# result (< 3.4e38 up to |x| = 91.9) is still finite: ours is (checked against scipy in the
# unit tests), so leave those inputs out of the comparison with eager
EAGER_OVERFLOWS = {"i0", "i1"}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_specials(name):
    op = UNARY[name]
    x = SPECIALS[~((SPECIALS.abs() > 88.72) & (SPECIALS.abs() < 92))] if name in EAGER_OVERFLOWS else SPECIALS
    out, _ = run_wasm(op, x)
    ref = op(x)
    torch.testing.assert_close(out, ref, equal_nan=True)
    _same_signed_zeros(out, ref)


@pytest.mark.parametrize("name", ["sin", "exp2", "log1p", "atan"])
def test_unary_int_inputs(name):
    x = make_input((3, 5), torch.int64, low=0, high=9)
    check(UNARY[name], x)


_VALS = torch.tensor([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, 1e-30, 1e30])
_A = _VALS.repeat_interleave(len(_VALS))
_B = _VALS.repeat(len(_VALS))
BINARY = {"atan2": torch.atan2, "hypot": torch.hypot, "pow": torch.pow}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_special_pairs(name):
    op = BINARY[name]
    out, _ = run_wasm(op, _A, _B)
    ref = op(_A, _B)
    torch.testing.assert_close(out, ref, equal_nan=True)
    _same_signed_zeros(out, ref)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_sizes_layouts(name):
    op = BINARY[name]
    a = [make_input((n,), specials=True) for n in (1, 3, 4, 5, 17, 127)]
    b = [make_input((n,), low=-4.0, high=4.0) for n in (1, 3, 4, 5, 17, 127)]
    if name == "pow":
        a = [x.abs() for x in a]
    c, d = make_input((17, 5)), make_input((5,), low=0.1, high=3.0)

    def fn(*xs):
        outs = [op(x, y) for x, y in zip(xs[:6], xs[6:12])]
        c, d = xs[12:]
        return (*outs, op(c.t().abs(), d[:, None]), op(c[::2], d), op(d[:0], d[:0]))

    check(fn, *a, *b, c, d)


def test_pow_forms():
    x = make_input((4, 33), specials=True)
    check(lambda x: (x.abs() ** 2.5, x ** 3.0, x ** 11, x.abs() ** -1.7, 2.0 ** x, 0.5 ** x, torch.pow(x, x.abs()),
                     torch.pow(-x.abs(), torch.round(x))), x)


@pytest.mark.parametrize("name", ["elu", "elu_alpha", "selu", "celu"])
def test_elu_family(name):
    import torch.nn.functional as F

    op = {"elu": F.elu, "elu_alpha": lambda x: F.elu(x, 0.3), "selu": F.selu, "celu": lambda x: F.celu(x, 2.0)}[name]
    sized = sized_inputs(nonfinite=(NAN, INF, -INF))
    laid = layout_inputs()
    check(apply_all(op, sized, laid), *sized, *laid, interp=True)
    out, _ = run_wasm(op, SPECIALS)
    torch.testing.assert_close(out, op(SPECIALS), equal_nan=True)
    _same_signed_zeros(out, op(SPECIALS))


def test_polygamma_orders():
    x = make_input((3, 17), specials=True)
    check(lambda x: (torch.polygamma(0, x), torch.special.psi(x)), x)
    # eager's float32 trigamma and zeta lose digits next to the poles: compare away from them
    y = make_input((5, 13), low=-9.7, high=9.7)
    y = torch.where((y - y.round()).abs() < 0.05, y + 0.3, y)
    for n in (1, 2, 3, 4):
        check(lambda y, n=n: torch.polygamma(n, y), y, interp=True, rtol=1e-4, atol=1e-5)
    expect_unsupported(lambda x: torch.polygamma(31, x), x, match="polygamma of order 31")


def test_isinf_family_and_logaddexp2():
    sized = sized_inputs(nonfinite=(NAN, INF, -INF))
    check(apply_all(lambda x: (torch.isinf(x), torch.isposinf(x), torch.isneginf(x), torch.isfinite(x),
                               torch.logaddexp2(x, x.flip(0))), sized), *sized)
    check(lambda i: (torch.isinf(i), torch.isposinf(i), torch.isneginf(i)), make_input((7,), torch.int64))


def test_chain_fuses():
    """A chain of the new routines and the float32 ones in one kernel (both libraries)."""
    x = make_input((6, 35), low=-3.0, high=3.0)
    check(lambda x: torch.atan2(torch.sin(x), torch.exp(x)) + torch.log1p(torch.tanh(x).abs()), x)


class _MathModel(torch.nn.Module):
    def forward(self, x, y):
        return (torch.sin(x * 1e5) + torch.atan2(x, y) + torch.log1p(x.abs()) + torch.pow(y.abs(), x),
                torch.erfinv(torch.tanh(x)) * torch.digamma(y.abs() + 0.5) + torch.special.i0e(x) + torch.erfc(y))


def test_artifact_in_node_matches_python(tmp_path):
    """The float64 routines in a saved artifact: Node (csrc/js/loader.mjs) gives the same bytes
    as the Python loader, which matches eager."""
    import json
    from pathlib import Path

    import numpy as np

    import torch_wasm_backend
    from tests.e2e.test_node import NODE, RUNNER, node

    if NODE is None:
        pytest.skip("node is not on PATH")
    model = _MathModel().eval()
    x, y = make_input((5, 7), specials=True), make_input((5, 7))
    torch._dynamo.reset()
    artifact = tmp_path / "math.wasm"
    torch_wasm_backend.save(torch.compile(model, backend="wasm"), artifact, example_inputs=(x, y))
    files = []
    for name, t in (("x", x), ("y", y)):
        files.append(tmp_path / f"{name}.bin")
        files[-1].write_bytes(t.numpy().tobytes())
    got = torch_wasm_backend.load(artifact)(x.numpy(), y.numpy())
    report = json.loads(node(RUNNER, artifact, tmp_path, *files).stdout)
    with torch.no_grad():
        want = model(x, y)
    assert len(report["outputs"]) == len(got) == len(want) == 2
    for out, py, eager in zip(report["outputs"], got, want):
        assert Path(out["file"]).read_bytes() == np.ascontiguousarray(py).tobytes(), out["name"]
        torch.testing.assert_close(torch.from_numpy(np.asarray(py)), eager, equal_nan=True)


@pytest.mark.parametrize("decimals", [0, 1, 3, -1, -3, 40, -40])
def test_round_decimals_bit_exact(decimals):
    """round(x, decimals) rounds as PyTorch's float32 kernel does (x * 10^d, nearbyint, / 10^d),
    so results are equal bit for bit, halves and overflow (10^40 is inf in float32) included."""
    x = torch.cat([make_input((36,), specials=True) * 123.456, SPECIALS,
                   torch.tensor([2.675, 0.125, -0.125, 1234.5678, 0.5, 1.5, -2.5])])
    check(lambda x: torch.round(x, decimals=decimals), x, rtol=0, atol=0)


def test_spherical_bessel_j0_and_modified_bessel():
    """spherical_bessel_j0 as PyTorch's float32 kernel (Taylor polynomial below |x| = 0.5,
    sin(x)/x above, 0 at +-inf); modified_bessel_i0/i1 are our float64-evaluated i0/i1
    (PyTorch sums Cephes' Chebyshev series in float32: within its rounding)."""
    x = torch.cat([make_input((36,)) * 3, SPECIALS, torch.tensor([0.4999, 0.5, -0.5001, 1e-20])])
    check(lambda x: (torch.special.spherical_bessel_j0(x), torch.special.modified_bessel_i0(x.clamp(-80, 80)),
                     torch.special.modified_bessel_i1(x.clamp(-80, 80))), x, rtol=2e-6, atol=1e-7)
