"""Tensor factories: full, zeros, ones, empty, the *_like forms, arange, scalar_tensor."""

from __future__ import annotations

import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported
from .registry import broadcast_to, cast, float64_ops, ir_dtype, lower, scalar_value

aten = torch.ops.aten


def _factory_dtype(node) -> str:
    return ir_dtype(node.meta["val"].dtype)


@lower(aten.full.default, aten.scalar_tensor.default)
def full(ctx, node, size, value=None, **kwargs):
    if value is None:  # scalar_tensor(value)
        size, value = [], size
    dtype = _factory_dtype(node)
    return broadcast_to(scalar_value(value, dtype), tuple(sympy.sympify(s) for s in size))


@lower(aten.zeros.default)
def zeros(ctx, node, size, **kwargs):
    return full(ctx, node, size, 0)


@lower(aten.empty.memory_format)
def empty(ctx, node, size, **kwargs):
    return full(ctx, node, size, 0)  # uninitialised in PyTorch: zeros are as good as anything


@lower(aten.empty_like.default)
def empty_like(ctx, node, x, **kwargs):
    return full(ctx, node, list(x.shape), 0)


@lower(aten.ones.default)
def ones(ctx, node, size, **kwargs):
    return full(ctx, node, size, 1)


@lower(aten.full_like.default)
def full_like(ctx, node, x, value, **kwargs):
    return full(ctx, node, list(x.shape), value)


@lower(aten.zeros_like.default)
def zeros_like(ctx, node, x, **kwargs):
    return full(ctx, node, list(x.shape), 0)


@lower(aten.ones_like.default)
def ones_like(ctx, node, x, **kwargs):
    return full(ctx, node, list(x.shape), 1)


@lower(aten.arange.start_step, aten.arange.default, aten.arange.start)
def arange(ctx, node, *args, **kwargs):
    dtype = _factory_dtype(node)
    from .core import size_expr

    n = size_expr(node.meta["val"].shape[0])
    pos = [a for a in args if isinstance(a, (int, float))]
    start, step = (0, 1) if len(pos) <= 1 else (pos[0], pos[2] if len(pos) > 2 else 1)
    if dtype in ir.FLOATS or dtype == "f16":  # start + i * step in the dtype (PyTorch's CPU kernel;
        dt = "f32" if dtype == "f16" else dtype  # float16: in float32, then rounded)
        return cast(TensorValue((n,), dt, lambda idx: ir.Op("add", (
            ir.Const(float(start), dt),
            ir.Op("mul", (ir.Op("cast", (ir.Index(idx[0], "i32"),), dt), ir.Const(float(step), dt)), dt)), dt)), dtype)
    if not (isinstance(start, int) and isinstance(step, int)):
        raise Unsupported("integer arange with float bounds")
    wide = "i32" if dtype in ("u8", "i16") else dtype  # uint8/int16: in int32, wrapped
    return cast(TensorValue((n,), wide, lambda idx: ir.Index(start + step * idx[0], wide)), dtype)


# checked for float64 (fill values and arange in the dtype)
float64_ops(aten.arange.default, aten.arange.start, aten.arange.start_step, aten.empty.memory_format,
            aten.empty_like.default, aten.full.default, aten.full_like.default, aten.ones.default,
            aten.ones_like.default, aten.scalar_tensor.default, aten.zeros.default, aten.zeros_like.default)
