"""Convolution and pooling.

* Padding is materialised once: a buffer filled with the pad value, the input copied into
  its interior (both loops vectorise). Every window read after that is in bounds.
* A convolution with groups == 1 or a grouped one is ``im2col`` (a pointwise gather, skipped
  for 1x1/stride-1 kernels) followed by a batched ``Gemm`` with the bias fused.
* A depthwise convolution (one input channel per group) is a ``Reduce`` over the window,
  which the scheduler vectorises along the output width.
* A transposed convolution is a GEMM (weight^T @ input: every input pixel's contribution
  to each kernel tap) followed by ``col2im``, a gather: each output pixel sums the taps
  that land on it. The same two pieces give a convolution's input gradient.
* Max/avg pooling are window reductions over the padded input; adaptive average pooling is
  an average pool when the windows are uniform and otherwise a GEMM with a constant
  pooling matrix. Max pooling's indices are an argmax over the same window.
"""

from __future__ import annotations

import numpy as np
import sympy
import torch

from .. import ir
from ..indexing import FloorDiv, ModIndex, contiguous_strides
from ..target import CACHE
from .core import TensorValue, Unsupported, buffer_numel, static_int, stored
from .linalg import gemm
from .pointwise import binary, const_like
from .registry import broadcast_to, float64_ops, lower
from .views import reshape, unsqueeze_dims

aten = torch.ops.aten


def pair(v, n=2):
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return v * n if len(v) == 1 else v


def pad_spatial(ctx, x: TensorValue, pads, value: float) -> TensorValue:
    """Pad the last two dims of (N, C, H, W) by ``pads = (top, bottom, left, right)``: ``x``
    stored into the interior of a new buffer, the border filled with ``value`` by four band
    stores (top and bottom rows, left and right columns). Filling the whole buffer first
    would write every interior element twice (a depthwise layer of MobileNetV2 at 112x112
    paid ~3% of the model's time for it in V8)."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + top + bottom, w + left + right)
    buf = ctx.new_buffer(x.dtype, buffer_numel(sympy.Mul(*shape)))
    strides = contiguous_strides(shape)
    bands = ((top, shape[3], 0), (bottom, shape[3], (top + h) * strides[2]),
             (left, None, top * strides[2]), (right, None, top * strides[2] + left + w))
    for size, width, offset in bands:
        if size:
            band = (n, c, size, width) if width is not None else (n, c, h, size)
            ctx.store_into(TensorValue(band, x.dtype, lambda idx: ir.Const(value, x.dtype)), buf, strides, offset)
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


def squeeze_height(v: TensorValue) -> TensorValue:
    """(N, C, 1, W) -> (N, C, W): a 1-d result computed as a 2-d one of height 1."""
    return TensorValue(v.shape[:2] + v.shape[3:], v.dtype, lambda idx: v.load((idx[0], idx[1], 0, idx[2])))


def col2im(ctx, cols: TensorValue, out_hw, s, d, p) -> TensorValue:
    """The gather that undoes a window view. ``cols`` (N, C, KH, KW, IH, IW) holds what
    window (ih, iw) gives its tap (kh, kw), which lands on pixel (ih*s + kh*d - p, ...);
    the result (N, C, OH, OW) sums, for every pixel, the taps that land on it.

    The taps are stored zero-stuffed at (ih*s + kh*d, iw*s + kw*d) into a zero-filled
    buffer with one plane per tap (each position is written once: no scatter-add); every
    pixel is then a plain sum over the (kh, kw) planes, with no divisibility tests. When
    windows cannot overlap (stride >= dilated kernel) one plane holds all taps and the
    result is a view of it."""
    n, c, kh, kw, ih, iw = (static_int(v, "col2im") for v in cols.shape)
    oh, ow = out_hw
    hz = max((ih - 1) * s[0] + (kh - 1) * d[0] + 1, oh + p[0])
    wz = max((iw - 1) * s[1] + (kw - 1) * d[1] + 1, ow + p[1])
    planes = s[0] < (kh - 1) * d[0] + 1 or s[1] < (kw - 1) * d[1] + 1
    shape = (n, c, kh, kw, hz, wz) if planes else (n, c, 1, 1, hz, wz)
    buf = ctx.new_buffer("f32", buffer_numel(sympy.Mul(*shape)))
    ctx.store_into(TensorValue(shape, "f32", lambda idx: ir.Const(0.0, "f32")), buf)
    st = contiguous_strides(shape)
    plane = (st[2], st[3]) if planes else (0, 0)
    ctx.store_into(cols, buf, (st[0], st[1], plane[0] + d[0] * st[4], plane[1] + d[1] * st[5], s[0] * st[4],
                               s[1] * st[5]))
    z = stored(buf, shape, "f32")
    if not planes:
        return TensorValue((sympy.Integer(n), sympy.Integer(c), sympy.Integer(oh), sympy.Integer(ow)), "f32",
                           lambda idx: z.load((idx[0], idx[1], 0, 0, idx[2] + p[0], idx[3] + p[1])))
    win = TensorValue(tuple(sympy.Integer(v) for v in (n, c, oh, ow, kh, kw)), "f32", lambda idx: z.load(
        (idx[0], idx[1], idx[4], idx[5], idx[2] + p[0], idx[3] + p[1])))
    return ctx.reduce(win, (4, 5), "sum", False)


def conv_transpose(ctx, x: TensorValue, weight: TensorValue, s, p, d, groups: int, out_hw) -> TensorValue:
    """Transposed convolution of (N, Cin, H, W) with a (Cin, Cout/groups, KH, KW) weight,
    cropped to ``out_hw``: per group a GEMM (Cout/g*KH*KW, Cin/g) @ (Cin/g, H*W) gives every
    input pixel's contribution to every tap, ``col2im`` sums them per output pixel."""
    n, cin, h, w = (static_int(v, "transposed convolution") for v in x.shape)
    _, cog, kh, kw = (static_int(v, "transposed convolution weight") for v in weight.shape)
    cig, cout, kk = cin // groups, cog * groups, kh * kw
    if n == 0 or min(cout, *out_hw) <= 0:
        return ctx.constant(np.zeros((n, cout, max(out_hw[0], 0), max(out_hw[1], 0))), "f32")
    if cig == 1:  # one input channel per group (depthwise): the "GEMM" is a product, fused below
        def tap(idx):
            g, co = FloorDiv(idx[1], cog), ModIndex(idx[1], cog)
            return ir.Op("mul", (x.load((idx[0], g, idx[4], idx[5])), weight.load((g, co, idx[2], idx[3]))), "f32")

        cols = TensorValue(tuple(sympy.Integer(v) for v in (n, cout, kh, kw, h, w)), "f32", tap)
    else:
        wt = reshape(weight, (groups, cig, cog * kk))
        a = ctx.realize(TensorValue((sympy.Integer(groups), sympy.Integer(cog * kk), sympy.Integer(cig)), "f32",
                                    lambda idx: wt.load((idx[0], idx[2], idx[1]))))
        buf = ctx.new_buffer("f32", buffer_numel(n * cout * kk * h * w))
        xs = reshape(x, (n * groups, cig, h * w))
        if groups == 1:
            gemm(ctx, broadcast_to(a, (n, cog * kk, cig)), xs, out=(buf, 0))
        else:
            for ni in range(n):
                b_ = TensorValue((sympy.Integer(groups), sympy.Integer(cig), sympy.Integer(h * w)), "f32",
                                 lambda idx, base=ni * groups: xs.load((idx[0] + base, idx[1], idx[2])))
                gemm(ctx, a, b_, out=(buf, ni * cout * kk * h * w))
        cols = stored(buf, (n, cout, kh, kw, h, w), "f32")
    return col2im(ctx, cols, out_hw, s, d, p)


def conv_weight_grad(ctx, dy: TensorValue, x: TensorValue, k, s, p, d, groups: int) -> TensorValue:
    """The weight gradient of a convolution whose windows (kernel ``k``) over ``x``
    (N, Cx, H, W) produced ``dy`` (N, Cy, OH, OW): (Cy, Cx/groups, KH, KW), each entry a sum
    over N*OH*OW. Per group a GEMM (Cy/g, N*OH*OW) @ (N*OH*OW, Cx/g*KH*KW) against a
    transposed im2col; with one x channel per group, a window reduction instead."""
    n, cy, oh, ow = (static_int(v, "convolution backward") for v in dy.shape)
    cx = static_int(x.shape[1], "convolution backward")
    kh, kw = k
    cyg, cxg, kk, npix = cy // groups, cx // groups, kh * kw, oh * ow
    if n * npix == 0:
        return ctx.constant(np.zeros((cy, cxg, kh, kw)), "f32")
    xp = pad_spatial(ctx, x, (p[0], p[0], p[1], p[1]), 0.0)
    win = _window(xp, (oh, ow), (kh, kw), s, d)  # (N, Cx, OH, OW, KH, KW)
    if cxg == 1:
        prod = TensorValue(tuple(sympy.Integer(v) for v in (cy, 1, kh, kw, n, oh, ow)), "f32", lambda idx: ir.Op(
            "mul", (dy.load((idx[4], idx[0], idx[5], idx[6])),
                    win.load((idx[4], FloorDiv(idx[0], cyg), idx[5], idx[6], idx[2], idx[3]))), "f32"))
        return ctx.reduce(prod, (4, 5, 6), "sum", False)
    if n == 1:
        a = reshape(dy, (groups, cyg, npix))
    else:  # channels first, so that (batch, pixel) is one contiguous K axis
        dyt = ctx.realize(TensorValue((sympy.Integer(cy), sympy.Integer(n), sympy.Integer(oh), sympy.Integer(ow)),
                                      "f32", lambda idx: dy.load((idx[1], idx[0], idx[2], idx[3]))))
        a = reshape(dyt, (groups, cyg, n * npix))
    shape = tuple(sympy.Integer(v) for v in (groups, n, oh, ow, cxg, kh, kw))
    cols = ctx.realize(TensorValue(shape, "f32", lambda idx: win.load(
        (idx[1], idx[0] * cxg + idx[4], idx[2], idx[3], idx[5], idx[6]))))
    gw = gemm(ctx, a, reshape(cols, (groups, n * npix, cxg * kk)))
    return reshape(gw, (cy, cxg, kh, kw))


def _transposed_out(size, k, s, p, d, op):
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


@lower(aten.convolution.default)
def convolution(ctx, node, x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    if x.dtype not in ir.FLOATS or (x.dtype == "f64" and transposed):
        raise Unsupported(f"{'transposed ' if transposed else ''}convolution of {x.dtype}")
    if x.ndim == 3:  # conv1d: a 2-D convolution with height 1
        return squeeze_height(convolution(
            ctx, node, unsqueeze_dims(x, [2]), unsqueeze_dims(weight, [2]), bias, [1] + pair(stride, 1),
            [0] + pair(padding, 1), [1] + pair(dilation, 1), transposed, [0] + pair(output_padding or 0, 1),
            groups))
    if x.ndim == 5 and not transposed and not isinstance(padding, str):
        return _direct_conv(ctx, x, weight, bias, pair(stride, 3), pair(padding, 3), pair(dilation, 3), groups)
    if x.ndim != 4 or isinstance(padding, str):
        raise Unsupported(f"convolution of a {x.ndim}-d input with padding {padding!r}")
    if transposed:
        s, p, d, op = pair(stride), pair(padding), pair(dilation), pair(output_padding or 0)
        k = [static_int(v, "transposed convolution weight") for v in weight.shape[2:]]
        h, w = (static_int(v, "transposed convolution") for v in x.shape[2:])
        out_hw = (_transposed_out(h, k[0], s[0], p[0], d[0], op[0]), _transposed_out(w, k[1], s[1], p[1], d[1], op[1]))
        out = conv_transpose(ctx, x, weight, s, p, d, groups, out_hw)
        if bias is None:
            return out
        return binary("add", out, broadcast_to(unsqueeze_dims(unsqueeze_dims(bias, [0]), [2, 3]), out.shape))
    s, p, d = pair(stride), pair(padding), pair(dilation)
    n = x.shape[0]  # the batch may be a symbolic size; the rest is static
    cin, h, w = (static_int(v, "convolution") for v in x.shape[1:])
    cout, cg, kh, kw = (static_int(v, "convolution weight") for v in weight.shape)
    oh, ow = _out_size(h, kh, s[0], p[0], d[0]), _out_size(w, kw, s[1], p[1], d[1])
    if n == 0 or min(cout, oh, ow) <= 0:
        return ctx.constant(np.zeros((static_int(n, "empty convolution"), cout, max(oh, 0), max(ow, 0))), x.dtype)
    bias4 = None if bias is None else unsqueeze_dims(unsqueeze_dims(bias, [0]), [2, 3])
    xp = pad_spatial(ctx, x, (p[0], p[0], p[1], p[1]), 0.0)
    win = _window(xp, (oh, ow), (kh, kw), s, d)
    if x.dtype == "f64":  # the GEMM microkernels are float32: a float64 window reduction
        cog = cout // groups
        prod = TensorValue((n, sympy.Integer(cout), sympy.Integer(oh), sympy.Integer(ow), sympy.Integer(cg),
                            sympy.Integer(kh), sympy.Integer(kw)), "f64", lambda idx: ir.Op("mul", (
                                win.load((idx[0], (FloorDiv(idx[1], cog) * cg if groups > 1 else 0) + idx[4], idx[2],
                                          idx[3], idx[5], idx[6])), weight.load((idx[1], idx[4], idx[5], idx[6]))),
                                "f64"))
        out = ctx.reduce(prod, (4, 5, 6), "sum", False)
        return out if bias4 is None else binary("add", out, broadcast_to(bias4, out.shape))
    if cg == 1 and groups == cin == cout:  # depthwise: a window reduction per channel
        prod = TensorValue(win.shape, "f32", lambda idx: ir.Op(
            "mul", (win.load(idx), weight.load((idx[1], 0, idx[4], idx[5]))), "f32"))
        out = ctx.reduce(prod, (4, 5), "sum", False)
        return out if bias4 is None else binary("add", out, broadcast_to(bias4, out.shape))
    kk, cog, npix = cg * kh * kw, cout // groups, oh * ow
    if kh == kw == 1 and s == [1, 1] and not any(p):
        cols = reshape(x, (n * groups, kk, npix))  # 1x1: the input already is the B operand
    else:
        # im2col, innermost loop along the output width: stride-1 windows read contiguously;
        # rows of cols (one per tap) a padded ``ld`` apart (target.CACHE: no set aliasing)
        ld = npix + (CACHE.row_pad if npix % CACHE.alias_period == 0 else 0)
        shape = tuple(sympy.sympify(v) for v in (n, cin, kh, kw, oh, ow))
        col_buf = ctx.new_buffer("f32", buffer_numel(n * cin * kh * kw * ld))
        ctx.store_into(TensorValue(shape, "f32", lambda idx: win.load(
            (idx[0], idx[1], idx[4], idx[5], idx[2], idx[3]))), col_buf,
            (cin * kh * kw * ld, kh * kw * ld, kw * ld, ld, ow, 1))
        cols = stored(col_buf, (n * groups, kk, npix), "f32", (kk * ld, ld, 1))
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


def _direct_conv(ctx, x: TensorValue, weight: TensorValue, bias, s, p, d, groups: int) -> TensorValue:
    """An N-d convolution (used for 3-d) as one ``Reduce`` kernel: each output sums
    ``x[n, g * cg + ci, o * s + k * d - p] * w[co, ci, k]`` over ``ci`` and the window, the
    zero padding a select on the bounds (no padded copy)."""
    nsp = x.ndim - 2
    sizes = [static_int(v, "convolution") for v in x.shape[2:]]
    cout, cg = (static_int(v, "convolution weight") for v in weight.shape[:2])
    k = [static_int(v, "convolution weight") for v in weight.shape[2:]]
    out = [_out_size(sizes[j], k[j], s[j], p[j], d[j]) for j in range(nsp)]
    dt = x.dtype
    if min([cout] + out) <= 0 or x.shape[0] == 0:
        return ctx.constant(np.zeros((static_int(x.shape[0], "empty convolution"), cout, *[max(o, 0) for o in out])), dt)
    cog = cout // groups

    def tap(idx):
        n, co, o, ci, kk = idx[0], idx[1], idx[2:2 + nsp], idx[2 + nsp], idx[3 + nsp:]
        pos = [o[j] * s[j] + kk[j] * d[j] - p[j] for j in range(nsp)]
        inside = None
        for j in range(nsp):
            if p[j] == 0:  # never outside: the window fits
                continue
            ij = ir.Index(pos[j], "i32")
            ok = ir.Op("and", (ir.Op("ge", (ij, ir.Const(0, "i32")), "bool"),
                               ir.Op("lt", (ij, ir.Const(sizes[j], "i32")), "bool")), "bool")
            inside = ok if inside is None else ir.Op("and", (inside, ok), "bool")
        clamped = [sympy.Max(0, sympy.Min(pos[j], sizes[j] - 1)) if p[j] else pos[j] for j in range(nsp)]
        chan = (FloorDiv(co, cog) * cg if groups > 1 else 0) + ci
        v = ir.Op("mul", (x.load((n, chan, *clamped)), weight.load((co, ci, *kk))), dt)
        return v if inside is None else ir.Op("where", (inside, v, ir.Const(0.0, dt)), dt)

    shape = (x.shape[0], sympy.Integer(cout), *map(sympy.Integer, out), sympy.Integer(cg), *map(sympy.Integer, k))
    r = ctx.reduce(TensorValue(shape, dt, tap), tuple(range(2 + nsp, 3 + 2 * nsp)), "sum", False)
    if bias is None:
        return r
    return binary("add", r, TensorValue(r.shape, dt, lambda idx: bias.load((idx[1],))))


def pool_setup(x, kernel, stride, padding, dilation, ceil_mode, out_shape):
    k = pair(kernel)
    s = pair(stride) if stride else k
    p, d = pair(padding), pair(dilation)
    from .core import size_expr

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


def _max_indices(ctx, win: TensorValue, values: TensorValue, hw, k, s, p, d) -> TensorValue:
    """int64 flat indices (h*W + w per plane) of the window maxima, exactly as PyTorch's CPU
    kernel picks them: the first maximum; the last NaN if any (it keeps replacing on NaN);
    the first in-bounds position when the maximum is -inf (never a padding position)."""
    h, w = hw
    kh, kw = k
    n, c, oh, ow = win.shape[:4]

    def flat(r, idx):  # window position r (flat over KH*KW) -> input index, i32
        def op(name, a, b):
            return ir.Op(name, (a, b), "i32")

        r = ir.Op("cast", (r,), "i32") if r.dtype != "i32" else r
        rh, rw = op("floordiv", r, ir.Const(kw, "i32")), op("mod", r, ir.Const(kw, "i32"))
        row = op("add", ir.Index(idx[2] * s[0] - p[0], "i32"), op("mul", rh, ir.Const(d[0], "i32")))
        col = op("add", ir.Index(idx[3] * s[1] - p[1], "i32"), op("mul", rw, ir.Const(d[1], "i32")))
        return op("add", op("mul", row, ir.Const(w, "i32")), col)

    first = ctx.reduce(win, (4, 5), "argmax", False)
    # the last NaN: the largest window position holding one (-1: none)
    nan_pos = TensorValue(win.shape, "i32", lambda idx: ir.Op("where", (
        ir.Op("isnan", (win.load(idx),), "bool"), ir.Index(idx[4] * kw + idx[5], "i32"), ir.Const(-1, "i32")), "i32"))
    last_nan = ctx.reduce(nan_pos, (4, 5), "max", False)
    start = np.zeros((int(oh), int(ow)), dtype=np.int64)  # first in-bounds position per window
    for y in range(int(oh)):
        for x in range(int(ow)):
            y0, x0 = y * s[0] - p[0], x * s[1] - p[1]
            y0 += -(y0 // d[0]) * d[0] if y0 < 0 else 0
            x0 += -(x0 // d[1]) * d[1] if x0 < 0 else 0
            start[y, x] = y0 * w + x0
    start = ctx.constant(start, "i64")

    return pool_indices(win.shape[:4], values, first, last_nan, start, flat)


def pool_indices(shape, values: TensorValue, first: TensorValue, last_nan: TensorValue, start: TensorValue, flat):
    """Max pooling's indices by PyTorch's rules: the first maximum of each window; the last
    NaN where the window holds one; the window's first in-bounds position (``start``) where
    the maximum is -inf. ``first``/``last_nan`` are window positions, ``flat(pos, idx)`` turns
    one into the input's flat spatial index."""

    def loader(idx):
        v = values.load(idx)
        pick = ir.Op("where", (ir.Op("eq", (v, ir.Const(float("-inf"), v.dtype)), "bool"),
                               ir.Op("cast", (start.load(idx[2:]),), "i32"), flat(first.load(idx), idx)), "i32")
        pick = ir.Op("where", (ir.Op("isnan", (v,), "bool"), flat(last_nan.load(idx), idx), pick), "i32")
        return ir.Op("cast", (pick,), "i64")

    return TensorValue(shape, "i64", loader)


@lower(aten.max_pool2d_with_indices.default)
def max_pool2d(ctx, node, x, kernel, stride=(), padding=0, dilation=1, ceil_mode=False):
    squeeze = x.ndim == 3
    x4 = _as4d(x)
    k, s, p, d, ohw, pads = pool_setup(x4, kernel, stride, padding, dilation, ceil_mode, node.meta["val"][0].shape)
    xp = pad_spatial(ctx, x4, pads, float("-inf"))
    win = _window(xp, ohw, k, s, d)
    out = ctx.reduce(win, (4, 5), "max", False)
    indices = None
    if any(user.args[1] == 1 and user.users for user in node.users):
        hw = tuple(static_int(v, "max_pool2d indices") for v in x4.shape[2:])
        indices = _max_indices(ctx, win, out, hw, k, s, p, d)
    if squeeze:
        out = _drop_batch(out)
        indices = None if indices is None else _drop_batch(indices)
    return [out, indices]


def avg_divisor(h, w, k, s, p, ohw, ceil_mode, count_include_pad, divisor_override, dtype=np.float32):
    """The per-output divisor, exactly as PyTorch's avg_pool2d computes it."""
    if divisor_override:
        return np.full(ohw, float(divisor_override), dtype=dtype)
    div = np.zeros(ohw, dtype=dtype)
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
    k, s, p, d, ohw, pads = pool_setup(x4, kernel, stride, padding, 1, ceil_mode, node.meta["val"].shape)
    xp = pad_spatial(ctx, x4, pads, 0.0)
    total = ctx.reduce(_window(xp, ohw, k, s, d), (4, 5), "sum", False)
    div = ctx.constant(avg_divisor(static_int(x4.shape[2], "pooling"), static_int(x4.shape[3], "pooling"), k, s, p, ohw,
                                   ceil_mode, count_include_pad, divisor_override, ir.NUMPY_DTYPE[x.dtype]), x.dtype)
    out = binary("div", total, broadcast_to(div, total.shape))
    if squeeze:
        out = _drop_batch(out)
    return out


def adaptive_pool_matrix(h, w, oh, ow, dtype=np.float32) -> np.ndarray:
    """(H*W, OH*OW): adaptive average pooling as a matrix (PyTorch's window bounds)."""
    pool = np.zeros((h * w, oh * ow), dtype=dtype)
    for y in range(oh):
        hs, he = (y * h) // oh, -((-(y + 1) * h) // oh)
        for xx in range(ow):
            ws, we = (xx * w) // ow, -((-(xx + 1) * w) // ow)
            for yy in range(hs, he):
                pool[yy * w + ws: yy * w + we, y * ow + xx] = 1.0 / ((he - hs) * (we - ws))
    return pool


@lower(aten._adaptive_avg_pool2d.default)
def adaptive_avg_pool2d(ctx, node, x, output_size):
    x4 = _as4d(x)
    n, c = x4.shape[:2]
    h, w = (static_int(v, "adaptive pooling") for v in x4.shape[2:])
    oh, ow = pair(output_size)
    if h % oh == 0 and w % ow == 0:
        kh, kw = h // oh, w // ow
        total = ctx.reduce(_window(x4, (oh, ow), (kh, kw), (kh, kw), (1, 1)), (4, 5), "sum", False)
        out = binary("div", total, const_like(total, float(kh * kw)))
    else:
        pm = ctx.constant(adaptive_pool_matrix(h, w, oh, ow, ir.NUMPY_DTYPE[x.dtype]), x.dtype)
        flat = reshape(x4, (1, n * c, h * w))
        r = gemm(ctx, flat, unsqueeze_dims(pm, [0]))
        out = reshape(r, (n, c, oh, ow))
    return _drop_batch(out) if x.ndim == 3 else out


# checked for float64 (window reductions in float64; transposed convolution Unsupported)
float64_ops(aten.convolution.default, aten.max_pool2d_with_indices.default, aten.avg_pool2d.default,
            aten._adaptive_avg_pool2d.default)
