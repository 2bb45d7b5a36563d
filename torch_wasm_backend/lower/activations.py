"""Activation functions (gelu, silu, elu/selu/celu, hardswish, hardsigmoid, leaky_relu),
each a short tree of pointwise ops (``pointwise.py``'s helpers) in PyTorch's own order of
operations."""

from __future__ import annotations

import math

import torch

from .. import ir
from .core import TensorValue
from .pointwise import binary, const_like, float_only, select, unary
from .registry import float64_ops, lower

aten = torch.ops.aten


@lower(aten.gelu.default, promote=None)
def gelu(ctx, node, x, approximate="none"):
    float_only("gelu", x, ir.FLOATS if approximate == "tanh" else ("f32",))  # float64 erf: not yet
    half = const_like(x, 0.5)
    if approximate == "tanh":
        inner = binary("mul", const_like(x, math.sqrt(2 / math.pi)),
                       binary("add", x, binary("mul", const_like(x, 0.044715), binary("mul", x, binary("mul", x, x)))))
        return binary("mul", binary("mul", half, x), binary("add", const_like(x, 1.0), unary("tanh", inner)))
    erf = unary("erf", binary("mul", x, const_like(x, 1 / math.sqrt(2))))
    return binary("mul", binary("mul", half, x), binary("add", const_like(x, 1.0), erf))


@lower(aten.silu.default, promote=None)
def silu(ctx, node, x):
    float_only("silu", x, ir.FLOATS)
    return binary("mul", x, unary("sigmoid", x))


@lower(aten.elu.default, promote=None)
def elu(ctx, node, x, alpha=1.0, scale=1.0, input_scale=1.0):
    """As PyTorch's kernel: ``x > 0 ? x * scale : expm1(x * input_scale) * alpha * scale``
    (selu is elu with fixed constants); NaN and -0 take the second branch."""
    float_only("elu", x, ir.FLOATS)
    neg = binary("mul", unary("expm1", binary("mul", x, const_like(x, float(input_scale)))),
                 const_like(x, float(alpha) * float(scale)))
    return select(binary("gt", x, const_like(x, 0.0), "bool"), binary("mul", x, const_like(x, float(scale))), neg)


@lower(aten.hardswish.default, promote=None)
def hardswish(ctx, node, x):
    float_only("hardswish", x, ir.FLOATS)
    r6 = binary("min", binary("max", binary("add", x, const_like(x, 3.0)), const_like(x, 0.0)), const_like(x, 6.0))
    return binary("div", binary("mul", x, r6), const_like(x, 6.0))


@lower(aten.hardsigmoid.default, promote=None)
def hardsigmoid(ctx, node, x):
    float_only("hardsigmoid", x, ir.FLOATS)
    r6 = binary("min", binary("max", binary("add", x, const_like(x, 3.0)), const_like(x, 0.0)), const_like(x, 6.0))
    return binary("div", r6, const_like(x, 6.0))


@lower(aten.leaky_relu.default, promote=None)
def leaky_relu(ctx, node, x, slope=0.01):
    c = binary("gt", x, const_like(x, 0.0), "bool")
    dt = x.dtype
    return TensorValue(x.shape, dt, lambda idx: ir.Op(
        "where", (c.load(idx), x.load(idx), ir.Op("mul", (x.load(idx), ir.Const(float(slope), dt)), dt)), dt))


# checked for float64 (gelu's erf form stays float32: no float64 erf)
float64_ops(aten.gelu.default, aten.silu.default, aten.elu.default, aten.hardswish.default, aten.hardsigmoid.default,
            aten.leaky_relu.default)
