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
  kernel's 16-byte row reads; an int8 buffer that already is one, e.g. the previous
  layer's requantised result, is read in place), its row sums (only when a weight zero
  point may not be 0: not for ``quantize()``'s symmetric weights, whose zero points are
  None), the GEMM, and a lazy epilogue
  ``f32(acc[m, n] - z_x*wsum[n] + K*z_x*z_w[n] - z_w[n]*xsum[m]) * S[n] + bias[n]``.

When the layer's whole result goes to a static int8 quantize (through row-major views,
dropouts outside training, transposes of unit dims and at most one relu:
``_quantized_result``), the epilogue, the relu and the quantize run in the GEMM's store
instead (``$i8_gemm_q``, ``ir.QRequant``: the same float32 operations in the same order,
so the same bits as that pointwise chain), C is the int8 result, and the quantize's
lowering takes it (``ctx.requantized``).

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
from .quant import Dequantized, RuntimeQParam, identity_or_view, qconst, qop
from .registry import lower
from .views import reshape

aten = torch.ops.aten
qd = torch.ops.quantized_decomposed


# --------------------------------------------------------------------------- requantisation in the store
def _quantized_result(node) -> tuple | None:
    """(the quantize, relu) when ``node``'s (a linear or convolution layer's) whole result is
    read only by one static int8 ``quantize_per_tensor``, through row-major views
    (``quant.identity_or_view``) and at most one relu; else None."""
    relu, cur = False, node
    while True:
        users = list(cur.users)
        if len(users) != 1 or users[0].op != "call_function":
            return None
        cur = users[0]
        if cur.target == aten.relu.default and not relu:
            relu = True
        elif cur.target == qd.quantize_per_tensor.default:
            break
        elif not identity_or_view(cur):
            return None
    scale, zero_point, qmin, qmax, dtype = cur.args[1:6]
    if dtype != torch.int8 or not isinstance(scale, (int, float)) or not isinstance(zero_point, int) or \
            not -128 <= qmin <= qmax <= 127:
        return None
    return cur, relu


def _zero(ctx, zero_point) -> bool:
    """Whether a weight's zero point(s) are all 0 (symmetric weights: the quantizer's)."""
    if zero_point is None or isinstance(zero_point, int):
        return not zero_point
    s = ctx.strided(zero_point)
    values = ctx.constants.get(s.buffer) if s is not None else None
    return values is not None and not np.any(values)


def _padded(ctx, v: TensorValue, n: int, np4: int) -> str:
    """(n,) ``v`` stored as np4 values (column j < np4 holds v[j mod n]: the kernel reads
    whole panels, the padding's results are never stored); its buffer."""
    buf = ctx.new_buffer(v.dtype, np4)
    ctx.store_into(TensorValue((sympy.Integer(np4),), v.dtype, lambda idx: v.load((ModIndex(idx[0], n),))), buf)
    return buf


def _fused_result(q: TensorValue) -> TensorValue:
    """What a requantising GEMM's node gives its views and relu: never computed (the
    quantize they lead to takes ``q`` itself: ``ctx.requantized``), only inspected as views
    are, so its loads are well-formed but not q's values (an int8 cast, not a plain load)."""
    return TensorValue(q.shape, "f32", lambda idx: qop("cast", "f32", q.load(idx)))


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


def qlinear(ctx, node, a_node, b_node, bias: TensorValue | None, a_shape) -> TensorValue | None:
    """The int8 form of ``a @ b (+ bias)`` (``node``) when ``a`` is a per-tensor dequantized int8
    (M, K) value (or a view of one, as a linear layer on a 3-d input flattens it) and
    ``b`` the transpose of a dequantized int8 weight; else None (the float rules then
    compute the same graph from the dequantized values)."""
    viewed = isinstance(a_node, torch.fx.Node) and a_node.op == "call_function" and a_node.target in _VIEWS
    x = ctx.dequantized.get(a_node.args[0] if viewed else a_node) if isinstance(a_node, torch.fx.Node) else None
    w = _transposed_weight(ctx, b_node)
    if x is None or w is None or x.axis is not None or len(a_shape) != 2:
        return None
    quantized = _quantized_result(node)
    out = _qmatmul(ctx, x, reshape(x.q, a_shape) if viewed else x.q, w, w.q, bias, quantized=quantized)
    if out is None:
        return None
    y, q = out
    if q is None:
        return y
    ctx.requantized[quantized[0]] = q
    return _fused_result(q)


def _qmatmul(ctx, x: Dequantized, a_value: TensorValue, w: Dequantized, w2d: TensorValue,
             bias: TensorValue | None, write_a=None, quantized=None) -> tuple | None:
    """``a @ w2d^T (+ bias)`` as the int8 GEMM: ``a_value`` (M, K) int8 holds values
    quantized as ``x``, ``w2d`` (N, K) int8 weights quantized as ``w`` (per channel along N,
    or per tensor). Returns (the (M, N) float32 result, lazy: the epilogue; the int8 (M, N)
    value the GEMM stored, or None), or None if unsupported.
    ``write_a(buffer)``, when given, stores A row-major into the buffer instead of
    ``a_value`` (an im2col with simpler loops). ``quantized``: (quantize node, relu) of
    ``_quantized_result``: the kernel then requantises in its store (``ir.QRequant``), and
    the float result is None."""
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
    symmetric = _zero(ctx, w.zero_point)
    scale = ctx.realize(scale)
    if symmetric:  # z_w = 0 (nothing stored: a kernel reading no buffer would run in forward)
        corr = TensorValue((n,), "i32", lambda idx: qop("mul", "i32", zx, wsum.load(idx)))
    else:
        zw = ctx.realize(zw)
        corr = TensorValue((n,), "i32", lambda idx: qop(
            "sub", "i32", qop("mul", "i32", zx, wsum.load(idx)), qop("mul", "i32", kzx, zw.load(idx))))

    # forward: the int8 activation (16 bytes of slack; or the int8 buffer it already is, as
    # an int8 GEMM's store leaves it), its row sums (asymmetric weights only), the GEMM
    a_buf, lda = _stored_a(ctx, a_value, m, k_) if write_a is None else (None, k)
    if a_buf is None:
        a_buf, lda = ctx.new_buffer("i8", buffer_numel(m * k + 16)), k
        if write_a is not None:
            write_a(a_buf)
        else:
            ctx.store_into(a_value, a_buf)
    a = stored(a_buf, (m, k), "i8", strides=(lda, 1))
    xsum = None if symmetric else ctx.reduce(
        TensorValue((m, k), "i32", lambda idx: qop("cast", "i32", a.load(idx))), (1,), "sum", keepdim=False)
    if quantized is not None:
        qnode, relu = quantized
        out_scale, out_zp, qmin, qmax = qnode.args[1:5]
        rq = ctx.constant(np.repeat(np.array([np.float32(1.0 / out_scale), out_zp, qmin, qmax,
                                              0.0 if relu else -np.inf], np.float32), 4), "f32")
        zeros = TensorValue((n,), "f32", lambda idx: qconst(0.0, "f32"))
        zw_xsum = () if symmetric else (_padded(ctx, zw, n_, np_), _buffer_of(ctx, xsum))
        requant = ir.QRequant(ctx.strided(rq).buffer, _padded(ctx, corr, n_, np_), _padded(ctx, scale, n_, np_),
                              _padded(ctx, zeros if bias is None else bias, n_, np_), *zw_xsum)
        c_buf = ctx.new_buffer("i8", buffer_numel(ir.qgemm_q_work_offset(m, n) + 4 * ir.qgemm_workspace(k_)))
        ctx.kernels.append(ir.QGemm(ctx.name("qgemm"), a_buf, packed, c_buf, m, n, k, lda, n, requant))
        return None, stored(c_buf, (m, n), "i8")
    corr = ctx.realize(corr)
    c_buf = ctx.new_buffer("i32", buffer_numel(m * np_ + ir.qgemm_workspace(k_)))  # + the kernel's workspace
    ctx.kernels.append(ir.QGemm(ctx.name("qgemm"), a_buf, packed, c_buf, m, n, k, lda, np_))
    acc = stored(c_buf, (m, n), "i32", strides=(np_, 1))

    def epilogue(idx):
        col = (idx[1],)
        v = qop("sub", "i32", acc.load(idx), corr.load(col))
        if xsum is not None:
            v = qop("sub", "i32", v, qop("mul", "i32", zw.load(col), xsum.load((idx[0],))))
        y = qop("mul", "f32", qop("cast", "f32", v), scale.load(col))
        return y if bias is None else qop("add", "f32", y, bias.load(col))

    return TensorValue((m, n), "f32", epilogue), None


def _buffer_of(ctx, v: TensorValue) -> str:
    """The buffer holding 1-d ``v`` contiguously (stored there if it is not)."""
    s = ctx.strided(v)
    if s is None or s.offset != 0 or (v.shape[0] != 1 and s.strides[0] != 1):
        v = ctx.realize(v)
        s = ctx.strided(v)
    return s.buffer


def _stored_a(ctx, a_value: TensorValue, m, k: int) -> tuple:
    """(buffer, row stride) when ``a_value`` already is an int8 buffer's rows, unit column
    stride, with the kernel's 15 bytes of slack after the last row (an int8 GEMM's
    requantised result); else (None, None)."""
    s = ctx.strided(a_value)
    if s is None or s.offset != 0 or s.strides[1] != 1 or not sympy.sympify(s.strides[0]).is_Integer or \
            int(s.strides[0]) < k:
        return None, None
    buf = next((b for b in ctx.buffers if b.name == s.buffer), None)
    if buf is None or buf.dtype != "i8" or buf.kind != "temp":
        return None, None
    slack = sympy.simplify(buf.numel - ((m - 1) * s.strides[0] + k + 15))
    return (s.buffer, s.strides[0]) if slack.is_nonnegative else (None, None)


_float_addmm, _float_mm = linalg.addmm, linalg.mm


@lower(aten.addmm.default)
def addmm(ctx, node, bias, a, b, beta=1, alpha=1):
    """``linalg.addmm``, or the int8 linear layer when its operands are dequantized int8."""
    if beta == 1 and alpha == 1:
        out = qlinear(ctx, node, node.args[1], node.args[2], bias, a.shape)
        if out is not None:
            return out
    return _float_addmm(ctx, node, bias, a, b, beta, alpha)


@lower(aten.mm.default)
def mm(ctx, node, a, b):
    """``linalg.mm``, or the int8 linear layer when its operands are dequantized int8."""
    out = qlinear(ctx, node, node.args[0], node.args[1], None, a.shape)
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
    quantized = _quantized_result(node)
    out = _qmatmul(ctx, x, a, w, w2d, bias, write_im2col, quantized)
    if out is None:
        return None
    y, q = out
    shape = (n, sympy.Integer(cout), sympy.Integer(oh), sympy.Integer(ow))
    if q is not None:  # the int8 (N*OH*OW, Cout) rows read as (N, Cout, OH, OW)
        ctx.requantized[quantized[0]] = TensorValue(shape, "i8", lambda idx: q.load(
            ((idx[0] * oh + idx[2]) * ow + idx[3], idx[1])))
        return _fused_result(ctx.requantized[quantized[0]])
    return TensorValue(shape, "f32", lambda idx: y.load(((idx[0] * oh + idx[2]) * ow + idx[3], idx[1])))


_float_convolution = conv.convolution


@lower(aten.convolution.default)
def convolution(ctx, node, x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """``conv.convolution``, or the int8 convolution when its operands are dequantized int8."""
    out = qconv2d(ctx, node, bias, stride, padding, dilation, transposed, groups)
    if out is not None:
        return out
    return _float_convolution(ctx, node, x, weight, bias, stride, padding, dilation, transposed, output_padding,
                              groups)
