"""Scans (``cumsum``, ``cumprod``, ``cummax``, ``cummin``, ``logcumsumexp``): each becomes an ``ir.Scan`` kernel
whose body inlines the lazy input, writing a new contiguous buffer (eager's result is
contiguous whatever the input's layout).

Types follow PyTorch: ``cumsum``/``cumprod`` of an integer or bool tensor give int64 unless
``dtype`` says otherwise, and the input is cast to the result dtype before scanning (as
``at::cumsum`` does). ``cummax``/``cummin`` keep the input dtype (bool scans as i32) and give
i64 indices. ``logcumsumexp`` is float32 only (PyTorch has no integer kernel). A 0-d
tensor scans as one element.
"""

from __future__ import annotations

import torch

from .. import ir
from ..indexing import contiguous_strides, index_vars, linear_index, reduction_vars, simplify
from ..target import WIDENED
from .core import LowerContext, TensorValue, Unsupported, buffer_numel, map_expr, stored
from .registry import cast, float64_ops, ir_dtype, lower

aten = torch.ops.aten


def scan(ctx: LowerContext, v: TensorValue, dim: int, op: str) -> TensorValue:
    """The inclusive scan ``op`` of ``v`` along ``dim``, in a new contiguous buffer."""
    if v.ndim == 0:
        from .views import reshape

        return reshape(scan(ctx, reshape(v, [1]), 0, op), [])
    if not -v.ndim <= dim < v.ndim:
        raise Unsupported(f"scan dim {dim} out of range for a {v.ndim}-d tensor (PyTorch raises)")
    dim %= v.ndim
    keep = [d for d in range(v.ndim) if d != dim]
    iv, (r,) = index_vars(len(keep)), reduction_vars(1)
    full = [None] * v.ndim
    for d, s in zip(keep, iv):
        full[d] = s
    full[dim] = r
    ranges = {**{s: v.shape[d] for d, s in zip(keep, iv)}, r: v.shape[dim]}
    body = map_expr(v.load(tuple(full)), lambda e: simplify(e, ranges))
    dtype = "i64" if op in ("argmax", "argmin") else body.dtype
    buf = ctx.new_buffer(dtype, buffer_numel(v.numel()))
    out_index = linear_index(tuple(full), contiguous_strides(v.shape))
    ctx.kernels.append(ir.Scan(ctx.name("scan"), buf, out_index, tuple(v.shape[d] for d in keep), v.shape[dim],
                               op, body))
    return stored(buf, v.shape, dtype)


def _accumulating(op: str):
    def rule(ctx, node, x, dim, dtype=None):
        out = ir_dtype(node.meta["val"].dtype)
        out = WIDENED.get(out, out)  # float16: accumulated in float32, each value rounded (uint8: int32)
        if out == "bool":
            raise Unsupported(f"cum{op} into a bool result")
        return scan(ctx, cast(x, out), dim, op)

    return rule


lower(aten.cumsum.default)(_accumulating("sum"))
lower(aten.cumprod.default)(_accumulating("prod"))


def _extreme(op: str):
    def rule(ctx, node, x, dim):
        v = cast(x, "i32") if x.dtype == "bool" else x
        return [cast(scan(ctx, v, dim, op), x.dtype), scan(ctx, v, dim, "arg" + op)]

    return rule


lower(aten.cummax.default)(_extreme("max"))
lower(aten.cummin.default)(_extreme("min"))


@lower(aten.logcumsumexp.default)
def logcumsumexp(ctx, node, x, dim):
    if x.dtype != "f32":
        raise Unsupported(f"logcumsumexp of {x.dtype} (float32 only)")
    return scan(ctx, x, dim, "logsumexp")


# checked for float64 (sums and products accumulate in float64; extremes compare float64)
float64_ops(aten.cumsum.default, aten.cumprod.default, aten.cummax.default, aten.cummin.default,
            aten.logcumsumexp.default)
