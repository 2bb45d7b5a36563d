"""End-to-end operator tests: every operator the compiler claims, compiled with
``backend="wasm"`` in strict mode and compared with eager PyTorch.

Each test compiles one graph that covers many cases at once (all innermost sizes, layouts,
NaN/Inf, ...) as separate outputs, which keeps compilation cost down. ``check`` (see
helpers.py) asserts that the wasm module really ran; ``interp=True`` additionally compares
the IR interpreter with the eager ATen graph, so a failure points at lowering or emission.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.e2e.helpers import check, expect_unsupported, make_input

SIZES = (1, 3, 4, 5, 17, 64, 127)
NAN, INF = float("nan"), float("inf")


def with_nonfinite(x: torch.Tensor, values=(NAN, INF, -INF)) -> torch.Tensor:
    """``x`` with NaN/+Inf/-Inf spread in (at flat positions 1, 4, 7, ...)."""
    x = x.clone()
    flat = x.view(-1)
    for i, v in enumerate(values):
        if 3 * i + 1 < flat.numel():
            flat[3 * i + 1] = v
    return x


def sized_inputs(dtype=torch.float32, rows=2, nonfinite=(), **kw):
    """One (rows, n) input per innermost size n."""
    xs = [make_input((rows, n), dtype, specials=dtype.is_floating_point, **kw) for n in SIZES]
    return [with_nonfinite(x, nonfinite) for x in xs] if nonfinite else xs


def layout_inputs(dtype=torch.float32, **kw):
    """Inputs that the graph turns into non-contiguous views (see ``layouts``), plus a
    non-contiguous graph input and empty tensors."""
    return [
        make_input((17, 5), dtype, specials=dtype.is_floating_point, **kw),  # .t() in graph
        make_input((3, 34), dtype, specials=dtype.is_floating_point, **kw),  # [:, ::2] in graph
        make_input((1, 17), dtype, specials=dtype.is_floating_point, **kw),  # .expand(3, 17) in graph
        make_input((6, 9), dtype, **kw).t(),  # non-contiguous graph input
        make_input((0, 5), dtype, **kw),  # empty
        make_input((3, 0), dtype, **kw),  # empty innermost
    ]


def layouts(xs):
    a, b, c, d, e0, e1 = xs
    return [a.t(), b[:, 1::2], c.expand(3, 17), d, e0, e1]


def apply_all(op, sized, laid=None):
    """A function applying ``op`` to every input (size sweep and layouts)."""
    n = len(sized)

    def fn(*xs):
        outs = [op(x) for x in xs[:n]]
        if laid is not None:
            outs += [op(x) for x in layouts(xs[n:])]
        return tuple(outs)

    return fn


# --------------------------------------------------------------------------- unary float
UNARY_FLOAT = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "erf": torch.erf,
    "reciprocal": torch.reciprocal,
    "abs": torch.abs,
    "neg": torch.neg,
    "sign": torch.sign,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "round": torch.round,
    "trunc": torch.trunc,
    "hardtanh": F.hardtanh,
    "hardtanh_bounds": lambda x: F.hardtanh(x, -0.5, 2.0),
    "relu6": F.relu6,
    "leaky_relu": F.leaky_relu,
    "leaky_relu_0.2": lambda x: F.leaky_relu(x, 0.2),
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "pow2": lambda x: x ** 2,
    "pow3": lambda x: torch.pow(x, 3),
    "pow0": lambda x: x ** 0,
    "pow1": lambda x: x ** 1,
    "pow_m1": lambda x: x ** -1,
    "pow_m2": lambda x: x ** -2,
    "pow_half": lambda x: x ** 0.5,
    "pow_mhalf": lambda x: x ** -0.5,
    "pow_2.0": lambda x: x ** 2.0,
    "clamp": lambda x: torch.clamp(x, -0.5, 1.0),
    "clamp_int_bounds": lambda x: torch.clamp(x, -1, 2),
    "clamp_min": lambda x: torch.clamp(x, min=0.2),
    "clamp_max": lambda x: x.clamp(max=-0.1),
    "sqrt_abs": lambda x: torch.sqrt(torch.abs(x)),  # a fused chain
    "softplus_like": lambda x: torch.log(1 + torch.exp(-torch.abs(x))) + torch.relu(x),
}

# PyTorch's own vectorised gelu gives NaN for +-inf (mathematically +inf/0); don't pin that
NO_INF = {"gelu"}


@pytest.mark.parametrize("name", list(UNARY_FLOAT))
def test_unary_float(name):
    op = UNARY_FLOAT[name]
    nonfinite = (NAN,) if name in NO_INF else (NAN, INF, -INF)
    sized = sized_inputs(nonfinite=nonfinite)
    laid = layout_inputs()
    check(apply_all(op, sized, laid), *sized, *laid, interp=name in ("sign", "round", "hardswish", "gelu"))


UNARY_INT = {
    "abs": torch.abs,
    "neg": torch.neg,
    "sign": torch.sign,
    "relu": torch.relu,
    "clamp": lambda x: torch.clamp(x, -2, 3),
    "clamp_min": lambda x: torch.clamp(x, min=1),
    "floor": torch.floor,
    "square": lambda x: x * x,
    "float": lambda x: x.float(),
    "bool": lambda x: x.bool(),
    "to_int32": lambda x: x.to(torch.int32),
}


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32], ids=str)
@pytest.mark.parametrize("name", list(UNARY_INT))
def test_unary_int(name, dtype):
    sized = sized_inputs(dtype)
    laid = layout_inputs(dtype)
    check(apply_all(UNARY_INT[name], sized, laid), *sized, *laid)


UNARY_BOOL = {
    "logical_not": torch.logical_not,
    "bitwise_not": torch.bitwise_not,
    "not_op": lambda x: ~x,
    "float": lambda x: x.float(),
    "long": lambda x: x.long(),
    "int": lambda x: x.int(),
    "neg_float": lambda x: -(x.float()),
    "sum_with_int": lambda x: x + 1,
}


@pytest.mark.parametrize("name", list(UNARY_BOOL))
def test_unary_bool(name):
    sized = sized_inputs(torch.bool)
    laid = layout_inputs(torch.bool)
    check(apply_all(UNARY_BOOL[name], sized, laid), *sized, *laid)


CASTS = {
    "long": lambda x: x.long(),
    "int": lambda x: x.int(),
    "bool": lambda x: x.bool(),
    "float_roundtrip": lambda x: x.long().float(),
    "to_dtype": lambda x: x.to(torch.int64),
    "type_as": lambda x: x.type(torch.bool).float(),
}


@pytest.mark.parametrize("name", list(CASTS))
def test_float_casts(name):
    # large magnitudes and fractional negatives: truncation toward zero; NaN -> bool True
    sized = [x * 10 for x in sized_inputs()]
    nonfinite = (NAN,) if name == "bool" or name == "type_as" else ()
    sized = [with_nonfinite(x, nonfinite) for x in sized] if nonfinite else sized
    laid = layout_inputs()
    check(apply_all(CASTS[name], sized, laid), *sized, *laid)
