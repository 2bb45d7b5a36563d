"""Adaptive max pooling 2-d (``adaptive_max_pool2d``: values and int64 indices).

Output cell ``(oy, ox)`` pools rows ``[floor(oy*H/OH), ceil((oy+1)*H/OH))`` and the like
for columns, PyTorch's window bounds. Windows may differ in size by one, so the window
view is as large as the largest and masks the positions past each window's end with
-inf (their row and column are clamped to the last pixel, so every load stays inside the
input). The values are a ``max`` reduction over that view; the indices (flat ``h*W + w``
per plane) follow PyTorch's CPU kernel: the first maximum, the last NaN if any (it keeps
replacing on NaN), the window's first position when the maximum is -inf.
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from ..indexing import FloorDiv
from .core import TensorValue, Unsupported, static_int
from .registry import lower

aten = torch.ops.aten


def _bounds(o, size: int, out: int):
    """(start, end) of window ``o`` as index expressions."""
    return FloorDiv(o * size, out), FloorDiv((o + 1) * size + out - 1, out)


def _op(name, dtype, *args):
    return ir.Op(name, args, dtype)


@lower(aten.adaptive_max_pool2d.default)
def adaptive_max_pool2d(ctx, node, x, output_size):
    if x.dtype != "f32":
        raise Unsupported(f"adaptive_max_pool2d of {x.dtype}")
    if x.ndim not in (3, 4):
        raise Unsupported(f"adaptive_max_pool2d of a {x.ndim}-d tensor (3-d or 4-d, as PyTorch)")
    lead = x.ndim - 2
    h, w = (static_int(v, "adaptive_max_pool2d") for v in x.shape[lead:])
    oh, ow = (int(v) for v in output_size)
    if min(h, w, oh, ow) <= 0:
        raise Unsupported(f"adaptive_max_pool2d from {(h, w)} to {(oh, ow)}: sizes must be positive")
    kh = max(-(-((y + 1) * h) // oh) - (y * h) // oh for y in range(oh))
    kw = max(-(-((z + 1) * w) // ow) - (z * w) // ow for z in range(ow))

    def window(idx):  # (*lead, oy, ox, ky, kx) -> (value or -inf, inside)
        oy, ox, ky, kx = idx[lead:]
        hs, he = _bounds(oy, h, oh)
        ws, we = _bounds(ox, w, ow)
        row, col = sympy.Min(hs + ky, h - 1), sympy.Min(ws + kx, w - 1)
        inside = _op("and", "bool", _op("lt", "bool", ir.Index(hs + ky, "i32"), ir.Index(he, "i32")),
                     _op("lt", "bool", ir.Index(ws + kx, "i32"), ir.Index(we, "i32")))
        return x.load(tuple(idx[:lead]) + (row, col)), inside

    wshape = tuple(x.shape[:lead]) + tuple(sympy.Integer(v) for v in (oh, ow, kh, kw))
    win = TensorValue(wshape, "f32", lambda idx: _op("where", "f32", window(idx)[1], window(idx)[0],
                                                     ir.Const(float("-inf"), "f32")))
    rdims = (lead + 2, lead + 3)
    values = ctx.reduce(win, rdims, "max", False)
    outs = [values, None]
    if any(user.args[1] == 1 and user.users for user in node.users):
        first = ctx.reduce(win, rdims, "argmax", False)
        nan_pos = TensorValue(wshape, "i32", lambda idx: _op("where", "i32", _op("isnan", "bool", win.load(idx)),
                                                             ir.Index(idx[-2] * kw + idx[-1], "i32"),
                                                             ir.Const(-1, "i32")))
        last_nan = ctx.reduce(nan_pos, rdims, "max", False)

        def flat(r, idx):  # window position (i32, flat over kh*kw) -> h*W + w
            oy, ox = idx[lead:]
            r = _op("cast", "i32", r) if r.dtype != "i32" else r
            ry = _op("floordiv", "i32", r, ir.Const(kw, "i32"))
            rx = _op("mod", "i32", r, ir.Const(kw, "i32"))
            row = _op("add", "i32", ir.Index(_bounds(oy, h, oh)[0], "i32"), ry)
            col = _op("add", "i32", ir.Index(_bounds(ox, w, ow)[0], "i32"), rx)
            return _op("add", "i32", _op("mul", "i32", row, ir.Const(w, "i32")), col)

        def index(idx):
            v = values.load(idx)
            pick = _op("where", "i32", _op("isnan", "bool", v), flat(last_nan.load(idx), idx), flat(first.load(idx), idx))
            return _op("cast", "i64", pick)

        outs[1] = TensorValue(values.shape, "i64", index)
    return outs


@lower(aten.adaptive_max_pool2d_backward.default)
def adaptive_max_pool2d_backward(ctx, node, dy, x, indices):
    """Each input pixel sums the gradients of the output cells whose saved index is that
    pixel: a ``Reduce`` over all OH*OW cells of its plane (O(H*W*OH*OW) per plane, fine for
    the small outputs adaptive pooling makes; a pixel lies in at most a few windows)."""
    if dy.dtype != "f32":
        raise Unsupported(f"adaptive_max_pool2d backward of {dy.dtype}")
    lead = x.ndim - 2
    h, w = (static_int(v, "adaptive_max_pool2d backward") for v in x.shape[lead:])
    oh, ow = dy.shape[lead:]

    def tap(idx):  # (*lead, h, w, oy, ox)
        cell = tuple(idx[:lead]) + tuple(idx[lead + 2:])
        hit = _op("eq", "bool", indices.load(cell), ir.Index(idx[lead] * w + idx[lead + 1], "i64"))
        return _op("where", "f32", hit, dy.load(cell), ir.Const(0.0, "f32"))

    shape = tuple(x.shape[:lead]) + (sympy.Integer(h), sympy.Integer(w), oh, ow)
    return ctx.reduce(TensorValue(shape, "f32", tap), (lead + 2, lead + 3), "sum", False)
