"""Operators of training (AOTAutograd backward) graphs.

The IR has no scatter: every gradient is written as a gather, each output element summing
the contributions that reach it.

* ``convolution_backward``: the weight gradient is a GEMM over transposed im2col columns
  (K = N*OH*OW); the input gradient is a transposed convolution (GEMM + ``col2im``) of the
  output gradient, or a plain convolution for a transposed convolution. See ``conv.py``.
* Pooling backward: each window's contribution per kernel tap (max pooling: the incoming
  gradient where the tap is the saved index, else 0; average pooling: gradient / divisor),
  summed per input pixel by ``col2im``.
* ``embedding_dense_backward`` compares every row of the table with every index
  (O(V * N * D): fine for small vocabularies).
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from ..indexing import FloorDiv
from .conv import (
    adaptive_pool_matrix,
    avg_divisor,
    col2im,
    conv_transpose,
    conv_weight_grad,
    convolution,
    pair,
    pool_setup,
    squeeze_height,
)
from .core import TensorValue, Unsupported, static_int
from .linalg import gemm
from .pointwise import binary
from .registry import broadcast_to, cast, lower
from .views import reshape, unsqueeze_dims

aten = torch.ops.aten


def _f32(*values, what: str):
    for v in values:
        if v is not None and v.dtype != "f32":
            raise Unsupported(f"{what} of {v.dtype}")


@lower(aten.convolution_backward.default)
def convolution_backward(ctx, node, dy, x, weight, bias_sizes, stride, padding, dilation, transposed, output_padding,
                         groups, output_mask):
    _f32(dy, x, weight, what="convolution backward")
    if x.ndim == 3:  # 1-d: a 2-d convolution of height 1
        grads = convolution_backward(
            ctx, node, unsqueeze_dims(dy, [2]), unsqueeze_dims(x, [2]), unsqueeze_dims(weight, [2]), bias_sizes,
            [1] + pair(stride, 1), [0] + pair(padding, 1), [1] + pair(dilation, 1), transposed,
            [0] + pair(output_padding, 1), groups, output_mask)
        return [None if g is None else squeeze_height(g) if i < 2 else g for i, g in enumerate(grads)]
    if x.ndim != 4:
        raise Unsupported(f"convolution backward of a {x.ndim}-d input")
    s, p, d = pair(stride), pair(padding), pair(dilation)
    k = [static_int(v, "convolution backward weight") for v in weight.shape[2:]]
    gx = gw = gb = None
    if output_mask[0]:
        if transposed:  # the adjoint of a transposed convolution is a convolution
            gx = convolution(ctx, node, dy, weight, None, s, p, d, False, [0, 0], groups)
        else:
            hw = tuple(static_int(v, "convolution backward") for v in x.shape[2:])
            gx = conv_transpose(ctx, dy, weight, s, p, d, groups, hw)
        if tuple(gx.shape) != tuple(x.shape):
            raise Unsupported(f"convolution backward: input gradient {gx.shape} for input {x.shape}")
    if output_mask[1]:
        # a transposed convolution's windows run over its output: roles of x and dy swap
        gw = conv_weight_grad(ctx, x, dy, k, s, p, d, groups) if transposed else \
            conv_weight_grad(ctx, dy, x, k, s, p, d, groups)
    if output_mask[2]:
        gb = ctx.reduce(dy, (0, 2, 3), "sum", False)
    return [gx, gw, gb]


def _pool_backward_setup(x, dy, kernel, stride, padding, dilation, ceil_mode):
    """(x4, dy4, squeeze, window parameters) of a 2-d pooling backward."""
    squeeze = x.ndim == 3
    x4 = unsqueeze_dims(x, [0]) if squeeze else x
    dy4 = unsqueeze_dims(dy, [0]) if squeeze else dy
    k, s, p, d, ohw, _ = pool_setup(x4, kernel, stride, padding, dilation, ceil_mode, dy4.shape)
    hw = tuple(static_int(v, "pooling backward") for v in x4.shape[2:])
    return x4, dy4, squeeze, k, s, p, d, ohw, hw


def _taps(dy4, k, fn) -> TensorValue:
    """(N, C, KH, KW, OH, OW): ``fn(idx)`` per window (oh, ow) and tap (kh, kw)."""
    n, c, oh, ow = dy4.shape
    return TensorValue((n, c, sympy.Integer(k[0]), sympy.Integer(k[1]), oh, ow), "f32", fn)


@lower(aten.max_pool2d_with_indices_backward.default)
def max_pool2d_backward(ctx, node, dy, x, kernel, stride, padding, dilation, ceil_mode, indices):
    """Each window sends its gradient to the tap holding its saved index (the indices
    must come from the forward, i.e. lie in their window, as they always do in training)."""
    _f32(dy, x, what="max_pool2d backward")
    x4, dy4, squeeze, k, s, p, d, ohw, hw = _pool_backward_setup(x, dy, kernel, stride, padding, dilation, ceil_mode)
    ind4 = unsqueeze_dims(indices, [0]) if squeeze else indices

    def tap(idx):
        pos = (idx[4] * s[0] - p[0] + idx[2] * d[0]) * hw[1] + idx[5] * s[1] - p[1] + idx[3] * d[1]
        win = (idx[0], idx[1], idx[4], idx[5])
        hit = ir.Op("eq", (ind4.load(win), ir.Index(pos, "i64")), "bool")
        return ir.Op("where", (hit, dy4.load(win), ir.Const(0.0, "f32")), "f32")

    gx = col2im(ctx, _taps(dy4, k, tap), hw, s, d, p)
    return TensorValue(gx.shape[1:], "f32", lambda idx: gx.load((0,) + tuple(idx))) if squeeze else gx


@lower(aten.avg_pool2d_backward.default)
def avg_pool2d_backward(ctx, node, dy, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    _f32(dy, x, what="avg_pool2d backward")
    x4, dy4, squeeze, k, s, p, d, ohw, hw = _pool_backward_setup(x, dy, kernel, stride, padding, 1, ceil_mode)
    div = ctx.constant(avg_divisor(hw[0], hw[1], k, s, p, ohw, ceil_mode, count_include_pad, divisor_override), "f32")
    share = binary("div", dy4, broadcast_to(div, dy4.shape))
    gx = col2im(ctx, _taps(dy4, k, lambda idx: share.load((idx[0], idx[1], idx[4], idx[5]))), hw, s, d, p)
    return TensorValue(gx.shape[1:], "f32", lambda idx: gx.load((0,) + tuple(idx))) if squeeze else gx


@lower(aten._adaptive_avg_pool2d_backward.default)
def adaptive_avg_pool2d_backward(ctx, node, dy, x):
    """Uniform windows: each pixel gets its window's gradient / window size (pointwise);
    otherwise dy (N*C, OH*OW) @ pooling matrix^T, the transpose of the forward's GEMM."""
    _f32(dy, x, what="adaptive_avg_pool2d backward")
    squeeze = x.ndim == 3
    x4 = unsqueeze_dims(x, [0]) if squeeze else x
    dy4 = unsqueeze_dims(dy, [0]) if squeeze else dy
    n, c = x4.shape[:2]
    h, w, oh, ow = (static_int(v, "adaptive pooling backward") for v in tuple(x4.shape[2:]) + tuple(dy4.shape[2:]))
    if h % oh == 0 and w % ow == 0:
        kh, kw = h // oh, w // ow
        gx = TensorValue(x4.shape, "f32", lambda i: ir.Op("div", (
            dy4.load((i[0], i[1], FloorDiv(i[2], kh), FloorDiv(i[3], kw))), ir.Const(float(kh * kw), "f32")), "f32"))
    else:
        pool_t = ctx.constant(adaptive_pool_matrix(h, w, oh, ow).T, "f32")
        gx = reshape(gemm(ctx, reshape(dy4, (1, n * c, oh * ow)), unsqueeze_dims(pool_t, [0])), (n, c, h, w))
    return TensorValue(gx.shape[1:], "f32", lambda idx: gx.load((0,) + tuple(idx))) if squeeze else gx


@lower(aten.embedding_dense_backward.default)
def embedding_dense_backward(ctx, node, dy, indices, num_weights, padding_idx, scale_grad_by_freq):
    """grad_weight[v, :] = sum of dy over the positions whose index is v (none for
    ``padding_idx``). A gather: every row compares all N indices, O(V * N * D) work, fine
    for the small vocabularies this backend targets (a scatter-add would be O(N * D))."""
    _f32(dy, what="embedding backward")
    n = static_int(sympy.Mul(*indices.shape) if indices.shape else 1, "embedding backward")
    dim = dy.shape[-1]
    idx = ctx.realize(cast(reshape(indices, [n]), "i32"))  # i32 lanes: the comparison vectorises
    g = reshape(dy, [n, dim])
    v_count = sympy.Integer(num_weights)

    def hit(v, r):
        match = ir.Op("eq", (idx.load((r,)), ir.Index(v, "i32")), "bool")
        if padding_idx is not None and padding_idx >= 0:
            match = ir.Op("and", (match, ir.Op("ne", (ir.Index(v, "i32"), ir.Const(padding_idx, "i32")), "bool")), "bool")
        return match

    terms = TensorValue((v_count, dim, sympy.Integer(n)), "f32", lambda i: ir.Op(
        "where", (hit(i[0], i[2]), g.load((i[2], i[1])), ir.Const(0.0, "f32")), "f32"))
    gw = ctx.reduce(terms, (2,), "sum", False)
    if not scale_grad_by_freq:
        return gw
    # each position's gradient is divided by its index's frequency: per row, by the count
    counts = ctx.reduce(TensorValue((v_count, sympy.Integer(n)), "f32", lambda i: ir.Op(
        "cast", (hit(i[0], i[1]),), "f32")), (1,), "sum", True)
    counts = broadcast_to(counts, gw.shape)
    safe = TensorValue(gw.shape, "f32", lambda i: ir.Op("max", (counts.load(i), ir.Const(1.0, "f32")), "f32"))
    return binary("div", gw, safe)
