"""int8 linear and conv2d layers as int8 GEMMs (``ir.QGemm``), read off the dequantize ops
that ``quant.py`` lowered. The patterns: ``addmm``/``mm`` of a per-tensor dequantized int8 activation
(M, K) (or a view of one: a linear layer on a 3-d input) and the transpose of a dequantized
int8 weight (N, K), and ``convolution`` (groups 1) of a dequantized int8 input and weight
(an int8 im2col, padded with the zero point, times the (Cout, Cin*KH*KW) weight) become
``$i8_gemm`` (``ir.QGemm``: exact int32 sums of int8 products) with, around it,

* in ``prepare`` (weights only): B packed into the GEMM's panels, zero padded (a
  pointwise kernel), the weight row sums, the folded zero-point correction and the
  combined scale ``S[n] = f32(s_x) * s_w[n]`` (in ``forward`` when ``s_x`` is dynamic);
* in ``forward``: the activation stored as int8 (with 16 bytes of slack for the
  kernel's 16-byte row reads), its row sums (only used when a weight zero point is not 0),
  the GEMM, and a lazy epilogue
  ``f32(acc[m, n] - z_x*wsum[n] + K*z_x*z_w[n] - z_w[n]*xsum[m]) * S[n] + bias[n]``,
  into which a following relu and quantize fuse (one pointwise kernel writes the next
  layer's int8 activation).

The integer part is exact; the float epilogue rounds twice (``S``, then the product and the
bias), where PyTorch's float GEMM rounds every product and partial sum. So outputs agree
with the reference graph run eagerly to within float rounding: exactly when the reference's
own float arithmetic is exact (power-of-two scales), otherwise a quantized output may
differ by one step where a value falls within rounding of a half.
"""

from __future__ import annotations

import numpy as np
import sympy
import torch

from .. import ir
from ..indexing import FloorDiv, ModIndex, contiguous_strides, index_vars
from . import conv, linalg
from .core import TensorValue, buffer_numel, stored
from .quant import Dequantized, RuntimeQParam, qconst, qop
from .registry import lower
from .views import reshape

aten = torch.ops.aten


# --------------------------------------------------------------------------- int8 linear
def _transposed_weight(ctx, node) -> Dequantized | None:
    """The dequantized (N, K) int8 weight that ``node`` (B of the product) transposes."""
    if not isinstance(node, torch.fx.Node) or node.op != "call_function":
        return None
    if node.target == aten.permute.default and list(node.args[1]) not in ([1, 0], [-1, -2], [1, -2], [-1, 0]):
        return None
    if node.target not in (aten.permute.default, aten.t.default):
        return None
    w = ctx.dequantized.get(node.args[0])
    if w is None or w.q.ndim != 2 or (w.axis is not None and w.axis != 0) or isinstance(w.scale, RuntimeQParam):
        return None
    return w


def _static(x) -> bool:
    return sympy.sympify(x).is_Integer


_VIEWS = (aten.view.default, aten._unsafe_view.default, aten.reshape.default)


def qlinear(ctx, a_node, b_node, bias: TensorValue | None, a_shape) -> TensorValue | None:
    """The int8 form of ``a @ b (+ bias)`` when ``a`` is a per-tensor dequantized int8
    (M, K) value (or a view of one, as a linear layer on a 3-d input flattens it) and
    ``b`` the transpose of a dequantized int8 weight; else None (the float rules then
    compute the same graph from the dequantized values)."""
    viewed = isinstance(a_node, torch.fx.Node) and a_node.op == "call_function" and a_node.target in _VIEWS
    x = ctx.dequantized.get(a_node.args[0] if viewed else a_node) if isinstance(a_node, torch.fx.Node) else None
    w = _transposed_weight(ctx, b_node)
    if x is None or w is None or x.axis is not None or len(a_shape) != 2:
        return None
    return _qmatmul(ctx, x, reshape(x.q, a_shape) if viewed else x.q, w, w.q, bias)


def _qmatmul(ctx, x: Dequantized, a_value: TensorValue, w: Dequantized, w2d: TensorValue,
             bias: TensorValue | None, write_a=None) -> TensorValue | None:
    """``a @ w2d^T (+ bias)`` as the int8 GEMM: ``a_value`` (M, K) int8 holds values
    quantized as ``x``, ``w2d`` (N, K) int8 weights quantized as ``w`` (per channel along N,
    or per tensor). The (M, N) float32 result is lazy (the epilogue); None if unsupported.
    ``write_a(buffer)``, when given, stores A row-major into the buffer instead of
    ``a_value`` (an im2col with simpler loops)."""
    (m, k), n = a_value.shape, w2d.shape[0]
    if w2d.shape[1] != k or not (_static(k) and _static(n)) or int(k) == 0 or int(n) == 0 or sympy.sympify(m) == 0:
        return None
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != n or bias.dtype != "f32"):
        return None
    k_, n_ = int(k), int(n)
    kp, np_ = -(-k_ // 16) * 16, -(-n_ // 4) * 4
    if isinstance(x.scale, RuntimeQParam):  # dynamic: chosen in forward (the terms below move there)
        sx, zx, kzx = x.scale.value, x.zero_point.value, qop("mul", "i32", qconst(k_, "i32"), x.zero_point.value)
    else:
        sx, zx, kzx = qconst(np.float32(x.scale), "f32"), qconst(x.zero_point, "i32"), qconst(k_ * x.zero_point, "i32")

    # prepare (weights only): packed B, weight row sums, zero-point terms, combined scale
    packed = ctx.new_buffer("i8", ir.qpacked_size(k_, n_))
    i0, i1, i2, i3 = index_vars(4)
    j, p = 4 * i0 + i2, 16 * i1 + i3
    inside = qop("and", "bool", qop("lt", "bool", ir.Index(j, "i32"), qconst(n_, "i32")),
                 qop("lt", "bool", ir.Index(p, "i32"), qconst(k_, "i32")))
    value = qop("cast", "i32", w2d.load((ModIndex(j, n_), ModIndex(p, k_))))
    body = qop("cast", "i8", qop("where", "i32", inside, value, qconst(0, "i32")))
    ctx.kernels.append(ir.Pointwise(ctx.name("qpack"), packed, i0 * 4 * kp + i1 * 64 + i2 * 16 + i3,
                                    (np_ // 4, kp // 16, 4, 16), body))
    w32 = TensorValue(w2d.shape, "i32", lambda idx: qop("cast", "i32", w2d.load(idx)))
    wsum = ctx.reduce(w32, (1,), "sum", keepdim=False)
    if w.axis is None:  # per-tensor weight: Python scale and zero point
        zw = TensorValue((n,), "i32", lambda idx: qconst(w.zero_point, "i32"))
        scale = TensorValue((n,), "f32", lambda idx: qop("mul", "f32", sx, qconst(np.float32(w.scale), "f32")))
    else:
        zp = w.zero_point
        zw = TensorValue((n,), "i32", lambda idx: qconst(0, "i32") if zp is None else qop("cast", "i32", zp.load(idx)))
        scale = TensorValue((n,), "f32", lambda idx: qop("mul", "f32", sx, w.scale.load(idx)))
    zw = ctx.realize(zw)
    scale = ctx.realize(scale)
    corr = ctx.realize(TensorValue((n,), "i32", lambda idx: qop(
        "sub", "i32", qop("mul", "i32", zx, wsum.load(idx)), qop("mul", "i32", kzx, zw.load(idx)))))

    # forward: the int8 activation (16 bytes of slack), its row sums, the GEMM
    a_buf = ctx.new_buffer("i8", buffer_numel(m * k + 16))
    if write_a is not None:
        write_a(a_buf)
    else:
        ctx.store_into(a_value, a_buf)
    a = stored(a_buf, (m, k), "i8")
    xsum = ctx.reduce(TensorValue((m, k), "i32", lambda idx: qop("cast", "i32", a.load(idx))), (1,), "sum",
                      keepdim=False)
    c_buf = ctx.new_buffer("i32", buffer_numel(m * np_ + ir.qgemm_workspace(k_)))  # + the kernel's workspace
    ctx.kernels.append(ir.QGemm(ctx.name("qgemm"), a_buf, packed, c_buf, m, n, k, k, np_))
    acc = stored(c_buf, (m, n), "i32", strides=(np_, 1))

    def epilogue(idx):
        col = (idx[1],)
        v = qop("sub", "i32", acc.load(idx), corr.load(col))
        v = qop("sub", "i32", v, qop("mul", "i32", zw.load(col), xsum.load((idx[0],))))
        y = qop("mul", "f32", qop("cast", "f32", v), scale.load(col))
        return y if bias is None else qop("add", "f32", y, bias.load(col))

    return TensorValue((m, n), "f32", epilogue)


_float_addmm, _float_mm = linalg.addmm, linalg.mm


@lower(aten.addmm.default)
def addmm(ctx, node, bias, a, b, beta=1, alpha=1):
    """``linalg.addmm``, or the int8 linear layer when its operands are dequantized int8."""
    if beta == 1 and alpha == 1:
        out = qlinear(ctx, node.args[1], node.args[2], bias, a.shape)
        if out is not None:
            return out
    return _float_addmm(ctx, node, bias, a, b, beta, alpha)


@lower(aten.mm.default)
def mm(ctx, node, a, b):
    """``linalg.mm``, or the int8 linear layer when its operands are dequantized int8."""
    out = qlinear(ctx, node.args[0], node.args[1], None, a.shape)
    return out if out is not None else _float_mm(ctx, node, a, b)


# --------------------------------------------------------------------------- int8 convolution
def _padded_nhwc(ctx, q: TensorValue, pad: tuple, fill) -> TensorValue:
    """(N, C, H, W) int8 as an (N, H + 2*pad[0], W + 2*pad[1], C) buffer: channels last, so
    that an im2col row reads runs of (kw, c) contiguously; the border is ``fill`` (the zero
    point: it dequantizes to the reference's zero padding)."""
    n, c, h, w = q.shape
    shape = (n, h + 2 * pad[0], w + 2 * pad[1], c)
    buf = ctx.new_buffer("i8", buffer_numel(sympy.Mul(*shape)))
    if any(pad):
        ctx.store_into(TensorValue(shape, "i8", lambda idx: qop("cast", "i8", fill)), buf)
    st = contiguous_strides(shape)
    # loops in the buffer's order (channels innermost): a previous int8 layer's epilogue,
    # fused in here, then reads its GEMM rows contiguously and vectorises
    nhwc = TensorValue((n, h, w, c), "i8", lambda i: q.load((i[0], i[3], i[1], i[2])))
    ctx.store_into(nhwc, buf, st, pad[0] * st[1] + pad[1] * st[2])
    return stored(buf, shape, "i8")


def qconv2d(ctx, node, bias, stride, padding, dilation, transposed, groups) -> TensorValue | None:
    """The int8 form of a 2-d convolution of a per-tensor dequantized int8 input with a
    dequantized int8 weight (groups 1): the input channels last and padded with the zero
    point, an int8 im2col (columns ordered (kh, kw, c)) times the weight reordered to
    (Cout, KH*KW*Cin) through the int8 GEMM, the (N*OH*OW, Cout) result read back as
    (N, Cout, OH, OW). None when the pattern does not apply."""
    x = ctx.dequantized.get(node.args[0])
    w = ctx.dequantized.get(node.args[1])
    if x is None or w is None or x.axis is not None or transposed or groups != 1 or x.q.ndim != 4 or \
            w.q.ndim != 4 or (w.axis is not None and w.axis != 0) or isinstance(w.scale, RuntimeQParam) or \
            isinstance(padding, str):
        return None
    s, p, d = (list(v) * 2 if len(v) == 1 else list(v) for v in (stride, padding, dilation))
    n, c, h, wd = x.q.shape
    cout, cin, kh, kw = (int(v) for v in w.q.shape)
    if cin != c or not all(_static(v) for v in (c, h, wd)):
        return None
    oh = (int(h) + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (int(wd) + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    if oh <= 0 or ow <= 0:
        return None
    fill = x.zero_point.value if isinstance(x.zero_point, RuntimeQParam) else qconst(x.zero_point, "i32")
    xp = _padded_nhwc(ctx, x.q, (p[0], p[1]), fill)
    kc = kw * cin

    def im2col(idx):  # row (n, oh, ow), column (kh, kw, c)
        r, col = idx
        b, pix = FloorDiv(r, oh * ow), ModIndex(r, oh * ow)
        tap, ch = FloorDiv(col, cin), ModIndex(col, cin)
        return xp.load((b, FloorDiv(pix, ow) * s[0] + FloorDiv(tap, kw) * d[0],
                        ModIndex(pix, ow) * s[1] + ModIndex(tap, kw) * d[1], ch))

    a = TensorValue((n * oh * ow, sympy.Integer(kh * kc)), "i8", im2col)

    def write_im2col(buf):  # the same values as an (N, OH, OW, KH, KW, C) loop nest: affine, (kw, c) contiguous
        win = TensorValue((n, sympy.Integer(oh), sympy.Integer(ow), sympy.Integer(kh), sympy.Integer(kw), c), "i8",
                          lambda i: xp.load((i[0], i[1] * s[0] + i[3] * d[0], i[2] * s[1] + i[4] * d[1], i[5])))
        ctx.store_into(win, buf)

    w2d = TensorValue((sympy.Integer(cout), sympy.Integer(kh * kc)), "i8", lambda idx: w.q.load(
        (idx[0], ModIndex(idx[1], cin), FloorDiv(idx[1], kc), ModIndex(FloorDiv(idx[1], cin), kw))))
    y = _qmatmul(ctx, x, a, w, w2d, bias, write_im2col)
    if y is None:
        return None
    return TensorValue((n, sympy.Integer(cout), sympy.Integer(oh), sympy.Integer(ow)), "f32",
                       lambda idx: y.load(((idx[0] * oh + idx[2]) * ow + idx[3], idx[1])))


_float_convolution = conv.convolution


@lower(aten.convolution.default)
def convolution(ctx, node, x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """``conv.convolution``, or the int8 convolution when its operands are dequantized int8."""
    out = qconv2d(ctx, node, bias, stride, padding, dilation, transposed, groups)
    if out is not None:
        return out
    return _float_convolution(ctx, node, x, weight, bias, stride, padding, dilation, transposed, output_padding,
                              groups)
