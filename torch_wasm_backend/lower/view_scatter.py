"""Scatters into views: ``slice_scatter``, ``select_scatter``, ``diagonal_scatter``.

``out = base`` with ``src`` written over one view of it (what functionalization makes of
``base[view].copy_(src)``, e.g. in circular padding and in the backward of slicing and of
``diagonal``). The view is affine, so the scatter is two plain stores into one fresh
buffer: ``base`` everywhere, then ``src`` through the view's strides and offset (as ``cat``
stores its inputs). Both kernels vectorise, no position is tested and nothing is read out
of bounds; values are copied bit for bit.
"""

from __future__ import annotations

import sympy
import torch

from ..indexing import contiguous_strides
from .core import TensorValue, Unsupported, buffer_numel, static_int, stored
from .registry import broadcast_to, cast, float64_ops, ir_dtype, lower, scalar_value
from .views import norm_dim

aten = torch.ops.aten


def _scatter(ctx, base: TensorValue, src: TensorValue, view_strides, view_offset) -> TensorValue:
    buf = ctx.new_buffer(base.dtype, buffer_numel(base.numel()))
    ctx.store_into(base, buf)
    if src.numel() != 0:
        ctx.store_into(cast(src, base.dtype), buf, tuple(view_strides), view_offset)
    return stored(buf, base.shape, base.dtype)


@lower(aten.slice_scatter.default)
def slice_scatter(ctx, node, base, src, dim=0, start=None, end=None, step=1):
    dim = norm_dim(dim, base.ndim)
    size = static_int(base.shape[dim], "slice_scatter")
    if step <= 0:
        raise Unsupported("slice_scatter with a non-positive step")
    start, end, step = slice(start, end, step).indices(size)
    strides = list(contiguous_strides(base.shape))
    view = strides.copy()
    view[dim] = strides[dim] * step
    return _scatter(ctx, base, src, view, start * strides[dim])


@lower(aten.select_scatter.default)
def select_scatter(ctx, node, base, src, dim, index):
    dim = norm_dim(dim, base.ndim)
    size = static_int(base.shape[dim], "select_scatter")
    if not -size <= index < size:
        raise Unsupported(f"select_scatter index {index} out of range for size {size} (PyTorch raises)")
    strides = list(contiguous_strides(base.shape))
    return _scatter(ctx, base, src, strides[:dim] + strides[dim + 1:], (index % size) * strides[dim])


def diagonal_geometry(shape, offset: int, d1: int, d2: int):
    """(diagonal length, dims kept in order, start index along d1 and d2) of
    ``diagonal(offset, d1, d2)`` of a tensor of ``shape`` (static sizes)."""
    n1, n2 = static_int(shape[d1], "diagonal"), static_int(shape[d2], "diagonal")
    s1, s2 = max(-offset, 0), max(offset, 0)
    length = max(min(n1 - s1, n2 - s2), 0)
    keep = [d for d in range(len(shape)) if d not in (d1, d2)]
    return length, keep, s1, s2


@lower(aten.diagonal_scatter.default)
def diagonal_scatter(ctx, node, base, src, offset=0, dim1=0, dim2=1):
    d1, d2 = norm_dim(dim1, base.ndim), norm_dim(dim2, base.ndim)
    if d1 == d2:
        raise Unsupported("diagonal_scatter with dim1 == dim2 (PyTorch raises)")
    length, keep, s1, s2 = diagonal_geometry(base.shape, offset, d1, d2)
    strides = contiguous_strides(base.shape)
    view = [strides[d] for d in keep] + [strides[d1] + strides[d2]]
    return _scatter(ctx, base, src, view, s1 * strides[d1] + s2 * strides[d2] if length else sympy.Integer(0))


@lower(aten.new_empty_strided.default)
def new_empty_strided(ctx, node, x, size, stride, **kwargs):
    """The uninitialised base that backward graphs allocate before scattering into it
    (zeros are as good as anything; its layout is the graph's, from the node's value)."""
    dtype = ir_dtype(node.meta["val"].dtype)
    return broadcast_to(scalar_value(0, dtype), tuple(sympy.sympify(s) for s in size))


# checked for float64 (data movement: no arithmetic)
float64_ops(aten.diagonal_scatter.default, aten.new_empty_strided.default, aten.select_scatter.default,
            aten.slice_scatter.default)
