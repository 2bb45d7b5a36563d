"""Convolution and pooling.

* Padding is materialised once: a buffer filled with the pad value, the input copied into
  its interior (both loops vectorise). Every window read after that is in bounds.
* A convolution with groups == 1 or a grouped one is ``im2col`` (a pointwise gather, skipped
  for 1x1/stride-1 kernels) followed by a batched ``Gemm`` with the bias fused.
* A depthwise convolution (one input channel per group) is a ``Reduce`` over the window,
  which the scheduler vectorises along the output width.
* Max/avg pooling are window reductions over the padded input; adaptive average pooling is
  an average pool when the windows are uniform and otherwise a GEMM with a constant
  pooling matrix.
"""

from __future__ import annotations

import numpy as np
import sympy
import torch

from .. import ir
from ..indexing import contiguous_strides
from .core import TensorValue, Unsupported, buffer_numel, static_int, stored
from .linalg import gemm
from .pointwise import binary, const_like
from .registry import broadcast_to, lower
from .views import reshape, unsqueeze_dims

aten = torch.ops.aten


def _pair(v, n=2):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return v * n if len(v) == 1 else v


def pad_spatial(ctx, x: TensorValue, pads, value: float) -> TensorValue:
    """Pad the last two dims of (N, C, H, W) by ``pads = (top, bottom, left, right)``."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + top + bottom, w + left + right)
    buf = ctx.new_buffer(x.dtype, buffer_numel(sympy.Mul(*shape)))
    fill = TensorValue(shape, x.dtype, lambda idx: ir.Const(value, x.dtype))
    ctx.store_into(fill, buf)
    strides = contiguous_strides(shape)
    ctx.store_into(x, buf, strides, top * strides[2] + left * strides[3])
    return stored(buf, shape, x.dtype)


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _window(x: TensorValue, out_hw, k, s, d):
    """A (N, C, OH, OW, KH, KW) view of padded ``x`` reading each window."""
    n, c = x.shape[:2]
    oh, ow = out_hw

    def loader(idx):
        i0, i1, i2, i3, i4, i5 = idx
        return x.load((i0, i1, i2 * s[0] + i4 * d[0], i3 * s[1] + i5 * d[1]))

    return TensorValue((n, c, sympy.Integer(oh), sympy.Integer(ow), sympy.Integer(k[0]), sympy.Integer(k[1])),
                       x.dtype, loader)


@lower(aten.convolution.default)
def convolution(ctx, node, x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    if transposed:
        raise Unsupported("transposed convolution")
    if x.dtype != "f32":
        raise Unsupported(f"convolution of {x.dtype}")
    if x.ndim == 3:  # conv1d: a 2-D convolution with height 1
        out = convolution(ctx, node, unsqueeze_dims(x, [2]), unsqueeze_dims(weight, [2]), bias,
                          [1] + _pair(stride, 1), [0] + _pair(padding, 1), [1] + _pair(dilation, 1),
                          False, None, groups)
        return TensorValue(out.shape[:2] + out.shape[3:], "f32", lambda idx: out.load((idx[0], idx[1], 0, idx[2])))
    if x.ndim != 4 or isinstance(padding, str):
        raise Unsupported(f"convolution of a {x.ndim}-d input with padding {padding!r}")
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    n = x.shape[0]  # the batch may be a symbolic size; the rest is static
    cin, h, w = (static_int(v, "convolution") for v in x.shape[1:])
    cout, cg, kh, kw = (static_int(v, "convolution weight") for v in weight.shape)
    oh, ow = _out_size(h, kh, s[0], p[0], d[0]), _out_size(w, kw, s[1], p[1], d[1])
    if n == 0 or min(cout, oh, ow) <= 0:
        return ctx.constant(np.zeros((static_int(n, "empty convolution"), cout, max(oh, 0), max(ow, 0))), "f32")
    bias4 = None if bias is None else unsqueeze_dims(unsqueeze_dims(bias, [0]), [2, 3])
    xp = pad_spatial(ctx, x, (p[0], p[0], p[1], p[1]), 0.0)
    win = _window(xp, (oh, ow), (kh, kw), s, d)
    if cg == 1 and groups == cin == cout:  # depthwise: a window reduction per channel
        prod = TensorValue(win.shape, "f32", lambda idx: ir.Op(
            "mul", (win.load(idx), weight.load((idx[1], 0, idx[4], idx[5]))), "f32"))
        out = ctx.reduce(prod, (4, 5), "sum", False)
        return out if bias4 is None else binary("add", out, broadcast_to(bias4, out.shape))
    kk, cog, npix = cg * kh * kw, cout // groups, oh * ow
    if kh == kw == 1 and s == [1, 1] and not any(p):
        cols = reshape(x, (n * groups, kk, npix))  # 1x1: the input already is the B operand
    else:
        # im2col, innermost loop along the output width: stride-1 windows read contiguously
        shape = tuple(sympy.sympify(v) for v in (n, cin, kh, kw, oh, ow))
        col_buf = ctx.new_buffer("f32", buffer_numel(sympy.Mul(*shape)))
        ctx.store_into(TensorValue(shape, "f32", lambda idx: win.load(
            (idx[0], idx[1], idx[4], idx[5], idx[2], idx[3]))), col_buf)
        cols = stored(col_buf, (n * groups, kk, npix), "f32")
    wmat = reshape(weight, (groups, cog, kk))
    out_buf = ctx.new_buffer("f32", buffer_numel(n * cout * npix))
    if groups == 1:
        gemm(ctx, broadcast_to(wmat, (n, cog, kk)), cols, bias, 0, out=(out_buf, 0))
    else:  # batch over groups, one GEMM per sample
        for ni in range(static_int(n, "grouped convolution")):
            b_ = TensorValue((sympy.Integer(groups), sympy.Integer(kk), sympy.Integer(npix)), "f32",
                             lambda idx, base=ni * groups: cols.load((idx[0] + base, idx[1], idx[2])))
            gemm(ctx, wmat, b_, out=(out_buf, ni * cout * npix))
    out = stored(out_buf, (n, cout, oh, ow), "f32")
    if bias4 is not None and groups != 1:
        return binary("add", out, broadcast_to(bias4, out.shape))
    return out


def _pool_setup(x, kernel, stride, padding, dilation, ceil_mode, out_shape):
    k = _pair(kernel)
    s = _pair(stride) if stride else k
    p, d = _pair(padding), _pair(dilation)
    from . import size_expr

    oh, ow = (static_int(size_expr(v), "pooling") for v in out_shape[-2:])
    h, w = (static_int(v, "pooling") for v in x.shape[-2:])
    # pad right/bottom far enough for ceil_mode windows
    extra_h = max(0, (oh - 1) * s[0] + (k[0] - 1) * d[0] + 1 - (h + 2 * p[0]))
    extra_w = max(0, (ow - 1) * s[1] + (k[1] - 1) * d[1] + 1 - (w + 2 * p[1]))
    return k, s, p, d, (oh, ow), (p[0], p[0] + extra_h, p[1], p[1] + extra_w)


def _drop_batch(v: TensorValue) -> TensorValue:
    """(1, C, H, W) -> (C, H, W) for unbatched inputs."""
    return TensorValue(v.shape[1:], v.dtype, lambda idx: v.load((0,) + tuple(idx)))


def _as4d(x):
    return unsqueeze_dims(x, [0]) if x.ndim == 3 else x


@lower(aten.max_pool2d_with_indices.default)
def max_pool2d(ctx, node, x, kernel, stride=(), padding=0, dilation=1, ceil_mode=False):
    for user in node.users:
        if user.args[1] == 1 and user.users:
            raise Unsupported("max_pool2d indices are used (only the values are supported)")
    squeeze = x.ndim == 3
    x4 = _as4d(x)
    k, s, p, d, ohw, pads = _pool_setup(x4, kernel, stride, padding, dilation, ceil_mode, node.meta["val"][0].shape)
    xp = pad_spatial(ctx, x4, pads, float("-inf"))
    out = ctx.reduce(_window(xp, ohw, k, s, d), (4, 5), "max", False)
    if squeeze:
        out = _drop_batch(out)
    return [out, None]


def _avg_divisor(h, w, k, s, p, ohw, ceil_mode, count_include_pad, divisor_override):
    """The per-output divisor, exactly as PyTorch's avg_pool2d computes it."""
    if divisor_override:
        return np.full(ohw, float(divisor_override), dtype=np.float32)
    div = np.zeros(ohw, dtype=np.float32)
    for y in range(ohw[0]):
        for x in range(ohw[1]):
            hs, ws = y * s[0] - p[0], x * s[1] - p[1]
            he, we = min(hs + k[0], h + p[0]), min(ws + k[1], w + p[1])
            size = (he - hs) * (we - ws)
            hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            div[y, x] = size if count_include_pad else (he - hs) * (we - ws)
    return div


@lower(aten.avg_pool2d.default)
def avg_pool2d(ctx, node, x, kernel, stride=(), padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    squeeze = x.ndim == 3
    x4 = _as4d(x)
    k, s, p, d, ohw, pads = _pool_setup(x4, kernel, stride, padding, 1, ceil_mode, node.meta["val"].shape)
    xp = pad_spatial(ctx, x4, pads, 0.0)
    total = ctx.reduce(_window(xp, ohw, k, s, d), (4, 5), "sum", False)
    div = ctx.constant(_avg_divisor(static_int(x4.shape[2], "pooling"), static_int(x4.shape[3], "pooling"), k, s, p, ohw, ceil_mode,
                                    count_include_pad, divisor_override), "f32")
    out = binary("div", total, broadcast_to(div, total.shape))
    if squeeze:
        out = _drop_batch(out)
    return out


@lower(aten._adaptive_avg_pool2d.default)
def adaptive_avg_pool2d(ctx, node, x, output_size):
    x4 = _as4d(x)
    n, c = x4.shape[:2]
    h, w = (static_int(v, "adaptive pooling") for v in x4.shape[2:])
    oh, ow = _pair(output_size)
    if h % oh == 0 and w % ow == 0:
        kh, kw = h // oh, w // ow
        total = ctx.reduce(_window(x4, (oh, ow), (kh, kw), (kh, kw), (1, 1)), (4, 5), "sum", False)
        out = binary("div", total, const_like(total, float(kh * kw)))
    else:
        pool = np.zeros((h * w, oh * ow), dtype=np.float32)
        for y in range(oh):
            hs, he = (y * h) // oh, -((-(y + 1) * h) // oh)
            for xx in range(ow):
                ws, we = (xx * w) // ow, -((-(xx + 1) * w) // ow)
                for yy in range(hs, he):
                    pool[yy * w + ws: yy * w + we, y * ow + xx] = 1.0 / ((he - hs) * (we - ws))
        pm = ctx.constant(pool, "f32")
        flat = reshape(x4, (1, n * c, h * w))
        r = gemm(ctx, flat, unsqueeze_dims(pm, [0]))
        out = reshape(r, (n, c, oh, ow))
    return _drop_batch(out) if x.ndim == 3 else out
