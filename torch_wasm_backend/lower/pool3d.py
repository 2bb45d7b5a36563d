"""3-d max and average pooling (``max_pool3d_with_indices``, ``avg_pool3d``), inference.

As the 2-d pooling of ``conv.py``: the input is padded once (-inf for max, 0 for average;
ceil mode pads the high side far enough for the last window), a (N, C, OD, OH, OW, KD, KH,
KW) view reads every window, and a ``Reduce`` over the window dims gives the values. Max
pooling's int64 indices (flat ``d*H*W + h*W + w`` per plane) follow PyTorch's CPU kernel:
the first maximum, the last NaN if any, the window's first in-bounds position when the
maximum is -inf. Average pooling divides by PyTorch's per-cell divisor (window size with or
without the padding, or ``divisor_override``), a constant table. Their backward operators
have no rule yet (training graphs with 3-d pooling fall back).
"""

from __future__ import annotations

import numpy as np
import sympy
import torch

from .. import ir
from .conv import pool_indices
from .core import TensorValue, Unsupported, static_int
from .padding import constant_pad_nd
from .pointwise import binary
from .registry import broadcast_to, lower
from .views import unsqueeze_dims

aten = torch.ops.aten


def _triple(v):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return v * 3 if len(v) == 1 else v


def _setup(ctx, node, x, kernel, stride, padding, dilation, out_shape, fill):
    """(window view over the padded 5-d input, k, s, p, d, input and output spatial sizes)."""
    if x.dtype != "f32":
        raise Unsupported(f"3-d pooling of {x.dtype}")
    x5 = unsqueeze_dims(x, [0]) if x.ndim == 4 else x
    k, p, d = _triple(kernel), _triple(padding), _triple(dilation)
    s = _triple(stride) if stride else k
    from .core import size_expr

    out = [static_int(size_expr(v), "3-d pooling") for v in out_shape[-3:]]
    size = [static_int(v, "3-d pooling") for v in x5.shape[2:]]
    extra = [max(0, (o - 1) * st + (kk - 1) * dd + 1 - (n + 2 * pp)) for o, st, kk, dd, n, pp in zip(out, s, k, d, size, p)]
    pads = []
    for i in (2, 1, 0):  # constant_pad_nd's order: last dim first
        pads += [p[i], p[i] + extra[i]]
    xp = constant_pad_nd(ctx, node, x5, pads, fill)

    def loader(idx):
        return xp.load(tuple(idx[:2]) + tuple(idx[2 + i] * s[i] + idx[5 + i] * d[i] for i in range(3)))

    shape = tuple(x5.shape[:2]) + tuple(sympy.Integer(v) for v in out + k)
    return TensorValue(shape, "f32", loader), k, s, p, d, size, out


def _drop_batch(v: TensorValue) -> TensorValue:
    return TensorValue(v.shape[1:], v.dtype, lambda idx: v.load((0,) + tuple(idx)))


def _first_inside(size, out, k, s, p, d) -> np.ndarray:
    """Per output cell, the flat input index of its window's first in-bounds position."""
    starts = []
    for o, st, pp, dd in zip(out, s, p, d):
        a = np.arange(o) * st - pp
        starts.append(np.where(a < 0, a + (-(a // dd)) * dd, a))
    dd_, hh, ww = np.meshgrid(*starts, indexing="ij")
    return ((dd_ * size[1] + hh) * size[2] + ww).astype(np.int64)


@lower(aten.max_pool3d_with_indices.default)
def max_pool3d(ctx, node, x, kernel, stride=(), padding=0, dilation=1, ceil_mode=False):
    win, k, s, p, d, size, out = _setup(ctx, node, x, kernel, stride, padding, dilation, node.meta["val"][0].shape,
                                        float("-inf"))
    rdims = (5, 6, 7)
    values = ctx.reduce(win, rdims, "max", False)
    indices = None
    if any(user.args[1] == 1 and user.users for user in node.users):
        first = ctx.reduce(win, rdims, "argmax", False)
        nan_pos = TensorValue(win.shape, "i32", lambda idx: ir.Op("where", (
            ir.Op("isnan", (win.load(idx),), "bool"), ir.Index((idx[5] * k[1] + idx[6]) * k[2] + idx[7], "i32"),
            ir.Const(-1, "i32")), "i32"))
        last_nan = ctx.reduce(nan_pos, rdims, "max", False)
        start = ctx.constant(_first_inside(size, out, k, s, p, d), "i64")

        def op(name, a, b):
            return ir.Op(name, (a, b), "i32")

        def flat(r, idx):  # window position (flat over KD*KH*KW) -> input index
            r = ir.Op("cast", (r,), "i32") if r.dtype != "i32" else r
            rd = op("floordiv", r, ir.Const(k[1] * k[2], "i32"))
            rh = op("mod", op("floordiv", r, ir.Const(k[2], "i32")), ir.Const(k[1], "i32"))
            rw = op("mod", r, ir.Const(k[2], "i32"))
            pos = [op("add", ir.Index(idx[2 + i] * s[i] - p[i], "i32"), op("mul", rr, ir.Const(d[i], "i32")))
                   for i, rr in enumerate((rd, rh, rw))]
            return op("add", op("mul", op("add", op("mul", pos[0], ir.Const(size[1], "i32")), pos[1]),
                                ir.Const(size[2], "i32")), pos[2])

        indices = pool_indices(values.shape, values, first, last_nan, start, flat)
    if x.ndim == 4:
        return [_drop_batch(values), None if indices is None else _drop_batch(indices)]
    return [values, indices]


def _avg_divisor(size, out, k, s, p, count_include_pad, divisor_override) -> np.ndarray:
    """PyTorch's avg_pool3d divisor per output cell."""
    if divisor_override:
        return np.full(out, float(divisor_override), np.float32)
    full, inside = [], []
    for n, o, kk, st, pp in zip(size, out, k, s, p):
        a = np.arange(o) * st - pp
        b = np.minimum(a + kk, n + pp)
        full.append(b - a)
        inside.append(np.minimum(b, n) - np.maximum(a, 0))
    pick = full if count_include_pad else inside
    return np.einsum("i,j,k->ijk", *pick).astype(np.float32)


@lower(aten.avg_pool3d.default)
def avg_pool3d(ctx, node, x, kernel, stride=(), padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    win, k, s, p, _, size, out = _setup(ctx, node, x, kernel, stride, padding, 1, node.meta["val"].shape, 0.0)
    total = ctx.reduce(win, (5, 6, 7), "sum", False)
    div = ctx.constant(_avg_divisor(size, out, k, s, p, count_include_pad, divisor_override), "f32")
    result = binary("div", total, broadcast_to(div, total.shape))
    return _drop_batch(result) if x.ndim == 4 else result
