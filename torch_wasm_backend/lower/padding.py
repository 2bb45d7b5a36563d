"""Constant padding (``constant_pad_nd``, what ``F.pad(mode="constant")`` becomes).

Negative pads crop: they are slices of the input, a free view. Positive pads are
materialised as ``conv.pad_spatial`` does: a buffer filled with the pad value, the
(cropped) input stored into its interior. Both kernels are plain affine stores, so both
vectorise, and every later read is in bounds (a lazy ``where`` would have to clamp the
input index to keep the load of the other branch inside the buffer).

Reflect and replicate padding decompose (PyTorch's own decompositions) into gathers with
index tensors; circular padding (decomposed in C++, before any decomposition table) into
``empty`` plus ``slice_scatter`` copies (``view_scatter.py``).
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from ..indexing import contiguous_strides
from .core import TensorValue, Unsupported, buffer_numel, stored
from .registry import float64_ops, lower
from .views import slice_

aten = torch.ops.aten


def _fill_value(value, dtype: str):
    if dtype in ("f32", "f64", "f16"):
        return float(value)
    if dtype == "bool":
        return bool(value)
    return int(value)  # a float value truncates towards zero, as PyTorch's cast does


@lower(aten.constant_pad_nd.default)
def constant_pad_nd(ctx, node, x, pad, value=0):
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise Unsupported(f"constant_pad_nd with {len(pad)} pad values for a {x.ndim}-d tensor "
                          f"(give two per padded dim, at most {2 * x.ndim})")
    pads = {x.ndim - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)}
    for d, (lo, hi) in pads.items():  # crop first: a view
        if lo < 0 or hi < 0:
            size = sympy.sympify(x.shape[d])
            if not size.is_Integer:
                raise Unsupported("constant_pad_nd with negative pads (cropping) of a symbolic size")
            x = slice_(ctx, node, x, d, max(-lo, 0), int(size) - max(-hi, 0), 1)
    shape = [s + max(pads.get(d, (0, 0))[0], 0) + max(pads.get(d, (0, 0))[1], 0) for d, s in enumerate(x.shape)]
    if any(sympy.sympify(s).is_negative for s in shape):
        raise Unsupported(f"constant_pad_nd to a negative size {shape} (PyTorch raises)")
    if shape == list(x.shape):
        return x
    fill = _fill_value(value, x.dtype)
    buf = ctx.new_buffer(x.dtype, buffer_numel(sympy.Mul(*shape)))
    ctx.store_into(TensorValue(tuple(shape), x.dtype, lambda idx: ir.Const(fill, x.dtype)), buf)
    strides = contiguous_strides(shape)
    offset = sum((max(pads[d][0], 0) * strides[d] for d in pads), sympy.Integer(0))
    if x.numel() != 0:
        ctx.store_into(x, buf, strides, offset)
    return stored(buf, shape, x.dtype)


# checked for float64 (data movement and a fill value)
float64_ops(aten.constant_pad_nd.default)
