"""float16 tensors are stored as float16 and computed as PyTorch's CPU kernels compute them:
in float32, each operator's result rounded to float16 (csrc/wat/f16_round.wat). The
conversions are checked bit for bit against numpy (round to nearest even, overflow to inf,
subnormals, signed zeros, NaN), then operators against eager PyTorch, with tails, strides,
broadcasting and empty tensors; a float16 model saves and runs from its artifact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.e2e.helpers import check, make_input, run_wasm

F16 = torch.float16


def _edge_floats() -> np.ndarray:
    """float32 values next to every float16 rounding boundary that matters: ties between
    neighbours (normal and subnormal), the overflow threshold 65520, the smallest
    subnormal's half, and the float16 values themselves."""
    halves = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float32)  # finite, >= 0
    mid = (halves[:-1].astype(np.float64) + halves[1:]) / 2  # exact ties (representable in float32)
    ties = mid.astype(np.float32)
    near = np.concatenate([np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(0))])
    special = np.array([65504, 65519.996, 65520, 65536, 3e38, np.inf, np.nan, 2.0**-25, 2.0**-25 * 1.0001,
                        2.0**-26, 1e-45, 0.0], np.float32)
    pos = np.concatenate([halves, ties, near, special])
    return np.concatenate([pos, -pos])


def test_narrowing_is_numpys_round_to_nearest_even():
    rng = np.random.default_rng(0)
    x = np.concatenate([_edge_floats(), rng.integers(0, 2**32, 2**18, dtype=np.uint64).astype(np.uint32).view(np.float32)])
    got, _ = run_wasm(lambda x: x.half(), torch.from_numpy(x))
    with np.errstate(over="ignore"):
        want = x.astype(np.float16)
    g, w = got.numpy().view(np.uint16), want.view(np.uint16)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got.numpy()), nan)
    bad = np.flatnonzero((g != w) & ~nan)
    assert bad.size == 0, f"{bad.size} differ, e.g. {x[bad[:5]]} -> {g[bad[:5]]} (numpy {w[bad[:5]]})"
    assert np.array_equal(np.signbit(got.numpy()[nan]), np.signbit(x[nan]))  # NaN keeps its sign


def test_widening_every_half_and_rounding_in_registers():
    bits = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    h = torch.from_numpy(bits.view(np.float16).copy())
    got, _ = run_wasm(lambda h: h.float(), h)
    want = bits.view(np.float16).astype(np.float32)
    nan = np.isnan(want)
    assert np.array_equal(got.numpy().view(np.uint32)[~nan], want.view(np.uint32)[~nan])
    assert np.isnan(got.numpy()[nan]).all()
    x = torch.from_numpy(_edge_floats())
    got, _ = run_wasm(lambda x: x.half().float() * 1, x)  # cast to float16 and back inside one kernel
    with np.errstate(over="ignore"):
        torch.testing.assert_close(got, x.half().float(), rtol=0, atol=0, equal_nan=True)


def _h(shape, **kw):
    return make_input(shape, torch.float32, **kw).to(F16)


@pytest.mark.parametrize("name,fn", [
    ("arith", lambda a, b: ((a * 3.1 + 1.0) / (b - 0.5), a - b * 1e-3, -a, a.abs(), a * 1000)),  # a * 1000 overflows
    ("compare", lambda a, b: (a < b, a == b, torch.maximum(a, b), torch.where(a > 0, a, b), a.clamp(-0.5, 0.7))),
    ("math", lambda a, b: (a.exp(), torch.tanh(a), torch.sigmoid(b), a.abs().sqrt(), torch.nn.functional.gelu(a))),
    ("casts", lambda a, b: (a.float(), a.double(), a.to(torch.int32), (a > 0).half(), a.float().half())),
])
def test_pointwise(name, fn):
    a = _h((37,), specials=True)
    b = _h((37,)) + 0.25
    check(fn, a, b)


def test_broadcast_noncontiguous_empty():
    a = _h((5, 7)).t()
    b = _h((1, 5))
    check(lambda a, b: (a * b + a, (a - b).t()), a, b)
    check(lambda a: a * 2 + 1, torch.empty(0, 3, dtype=F16))


@pytest.mark.parametrize("shape", [(7, 13), (3, 1000)])
def test_reductions_accumulate_in_float32(shape):
    x = _h(shape)
    check(lambda x: (x.sum(-1), x.mean(0), x.amax(-1), x.argmax(-1), x.var(-1), x.sum()), x)


def test_model_layers():
    x = _h((3, 7, 16))
    lin = torch.nn.Linear(16, 9).half()
    check(lambda x: (lin(x), torch.softmax(x, -1), torch.nn.functional.layer_norm(x, (16,)), x @ x.transpose(1, 2)),
          x, rtol=2e-3, atol=1e-3)


def test_artifact_round_trip(tmp_path):
    """Python's loader; Node's and Chromium's: tests/e2e/test_node.py, test_browser.py ("float16")."""
    from tests.e2e.js.models import save_case

    case = save_case("float16", tmp_path)
    assert [o["dtype"] for o in case.manifest["outputs"]] == ["float16", "float16"]
    for got, want in zip(case.expected, case.eager):
        assert got.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=1e-3, atol=1e-3)


def test_mixed_parameter_dtypes_as_pytorch():
    """float32 parameters of a float16 layer_norm are PyTorch's "mixed dtype" path; float16
    parameters of a float32 input make PyTorch raise, so the backend refuses them (found by
    the fuzzer: both reach the rule as float32)."""
    from tests.e2e.helpers import expect_unsupported

    F = torch.nn.functional
    x, w = _h((3, 4)), _h((4,))
    check(lambda x, w: F.layer_norm(x, (4,), w), x, w.float(), rtol=1e-3, atol=1e-3)
    expect_unsupported(lambda x, w: F.layer_norm(x, (4,), w), x.float(), w, match="mixed dtype")
