"""Boolean masks: ``masked_fill``, and run-time checks (``_assert_async``) that trap where
a mask is false, as PyTorch raises."""

from __future__ import annotations

import numpy as np
import sympy
import torch

from .. import ir
from .core import TensorValue
from .registry import broadcast_to, cast, float64_ops, lower, scalar_value

aten = torch.ops.aten


@lower(aten.masked_fill.Scalar, aten.masked_fill.Tensor)
def masked_fill(ctx, node, x, mask, value):
    from .registry import broadcast_shapes

    shape = broadcast_shapes(x.shape, mask.shape)
    v = value if isinstance(value, TensorValue) else scalar_value(value, x.dtype)
    v, m, xx = broadcast_to(cast(v, x.dtype), shape), broadcast_to(mask, shape), broadcast_to(x, shape)
    return TensorValue(shape, x.dtype, lambda idx: ir.Op("where", (m.load(idx), v.load(idx), xx.load(idx)), x.dtype))


def trap_unless(ctx, ok: TensorValue) -> TensorValue:
    """A kernel that traps wherever the bool value ``ok`` is false (PyTorch raises there).
    It loads a one-element table through an indirect index that is 0 when ``ok`` holds and
    out of range (1) otherwise; the emitted bounds check does the trapping. Returns the
    (all false) buffer it writes, which nothing needs to read."""
    if ok.numel() == 0:
        return ok
    table = ctx.constant(np.zeros((), np.bool_), "bool").load(()).buffer
    sym = sympy.Symbol(ctx.name("ok"), integer=True, nonnegative=True)

    def loader(idx):
        flag = ir.Op("where", (ok.load(idx), ir.Const(0, "i32"), ir.Const(1, "i32")), "i32")
        return ir.Load(table, sym, "bool", ((sym, flag, 1),))

    return ctx.realize(TensorValue(ok.shape, "bool", loader))


@lower(aten._assert_async.msg, aten._assert_async.default)
def assert_async(ctx, node, cond, assert_msg=None):
    """A run-time check (e.g. ``one_hot``'s class range): a kernel that traps unless
    ``cond`` holds, as PyTorch raises. The op returns nothing; the check's buffer is
    returned anyway, so that the one-node graphs of ``partition.py`` have an output."""
    return trap_unless(ctx, cast(cond, "bool"))


# checked for float64 (selects and run-time checks)
float64_ops(aten._assert_async.default, aten._assert_async.msg, aten.masked_fill.Scalar, aten.masked_fill.Tensor)
