"""int8: PyTorch's quantize/dequantize ops, and linear and conv2d layers as int8 GEMMs.

A model converted by PT2E (``quantize.py``) holds ``quantized_decomposed`` ops around float
ops. Each op lowers to exactly what PyTorch's reference implementation
(``torch/ao/quantization/fx/_decomposed.py``) computes, in float32:

* ``quantize_per_tensor(x, s, z, lo, hi)``: ``clamp(round(x * f32(1/s)) + z, lo, hi)``
  to int8 (``round``: half to even, as ``torch.round``);
* ``dequantize_per_tensor(q, s, z)``: ``(f32(q) - z) * f32(s)``;
* ``dequantize_per_channel(q, s[c], z[c], axis)``: ``f32(q - z[c]) * s[c]``.

* ``choose_qparams.tensor`` (dynamic quantization): min/max reductions and the scale and
  zero point as ``determine_qparams`` computes them; the ``.tensor`` quantize/dequantize
  overloads read them (``RuntimeQParam``).

These are lazy values like any pointwise op (they fuse), so a graph runs correctly whatever
its pattern; a quantize is stored as int8, though, unless only int8 kernels read it (a lazy
one would be recomputed by every consumer), and ``quantize(dequantize(q, s, z), s, z)`` is
``q`` itself (exactly: ``_requantized``). The int8 patterns: ``addmm``/``mm`` of a per-tensor dequantized int8 activation
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

from dataclasses import dataclass

import numpy as np
import sympy
import torch
import torch.ao.quantization.fx._decomposed  # registers the quantized_decomposed ops

from .. import ir
from ..indexing import FloorDiv, ModIndex, contiguous_strides, index_vars
from . import conv, linalg
from .core import TensorValue, Unsupported, buffer_numel, stored
from .registry import INT8_OPS, float64_ops, lower
from .views import reshape

aten = torch.ops.aten
qd = torch.ops.quantized_decomposed


@dataclass(frozen=True)
class RuntimeQParam:
    """A scale or zero point chosen at run time (``choose_qparams``, dynamic quantization):
    a one-element buffer, as an IR expression (``value``); a scale also carries its
    reciprocal (``inverse``). Not a TensorValue: PyTorch's float64 scale is an exact
    float32 here, and only the quantize/dequantize rules take it."""

    value: ir.Expr
    inverse: ir.Expr | None = None


@dataclass(frozen=True)
class Dequantized:
    """What a dequantize op read: the int8 value, its scale(s) and zero point(s). Per
    tensor: Python numbers, or ``RuntimeQParam``s; per channel: (C,) values along ``axis``."""

    q: TensorValue
    scale: object
    zero_point: object
    axis: int | None = None


def _int8(dtype, what: str) -> None:
    if dtype != torch.int8:
        raise Unsupported(f"{what} to {dtype} (only int8 quantization is supported)")


def _const(value, dtype: str) -> ir.Const:
    return ir.Const(float(value) if dtype == "f32" else int(value), dtype)


def _op(name: str, dtype: str, *args) -> ir.Op:
    return ir.Op(name, tuple(args), dtype)


def quantize_value(x: TensorValue, scale: float, zero_point: int, qmin: int, qmax: int) -> TensorValue:
    """PyTorch's ``quantize_per_tensor`` in float32: the multiplier is ``1/scale``
    computed in double and rounded to float32, as a float32 tensor times a Python float is."""
    if x.dtype != "f32":
        raise Unsupported(f"quantize of a {x.dtype} tensor (float32 only)")
    inv = float(np.float32(1.0 / scale))

    def load(idx):
        v = _op("round", "f32", _op("mul", "f32", x.load(idx), _const(inv, "f32")))
        v = _op("add", "f32", v, _const(zero_point, "f32"))
        v = _op("min", "f32", _op("max", "f32", v, _const(qmin, "f32")), _const(qmax, "f32"))
        return _op("cast", "i8", v)

    return TensorValue(x.shape, "i8", load)


def _requantized(ctx, node, x: TensorValue, scale, zero_point, qmin: int, qmax: int) -> TensorValue | None:
    """``quantize(dequantize(q, s, z), s, z)`` (PT2E puts one pair around every op whose
    input and output share quantization parameters): ``clamp(q, qmin, qmax)``, exactly.
    (q - z) * s * f32(1/s) is within 3 * 2^-24 * 255 < 0.5 of the integer q - z, so
    rounding gives it back, in the reference's float32 arithmetic as in ours.) None if the
    input is not such a dequantize (seen through reshapes, clones and dropouts outside
    training: ``x``, the quantize's input, has the shape to give it)."""
    src = node.args[0]
    while isinstance(src, torch.fx.Node) and src not in ctx.dequantized and _identity_or_view(src):
        src = src.args[0]
    d = ctx.dequantized.get(src) if isinstance(src, torch.fx.Node) else None
    if d is None or d.axis is not None or isinstance(d.scale, RuntimeQParam) or \
            float(np.float32(d.scale)) != float(np.float32(scale)) or d.zero_point != zero_point:
        return None
    q = d.q if tuple(d.q.shape) == tuple(x.shape) else reshape(d.q, x.shape)
    if qmin <= -128 and qmax >= 127:
        return q
    return TensorValue(q.shape, "i8", lambda idx: _op("cast", "i8", _op("min", "i32", _op(
        "max", "i32", _op("cast", "i32", q.load(idx)), _const(qmin, "i32")), _const(qmax, "i32"))))


def _identity_or_view(node) -> bool:
    """A node that passes its first argument's values on unchanged, in row-major order:
    a reshape, a clone, or a dropout outside training."""
    if node.op != "call_function":
        return False
    if node.target == aten.dropout.default:
        return len(node.args) > 2 and node.args[2] is False
    return node.target in (aten.view.default, aten._unsafe_view.default, aten.reshape.default, aten.clone.default,
                           aten.alias.default)


_INT8_KERNEL_USERS = {aten.addmm.default, aten.mm.default, aten.convolution.default}
_PASS_THROUGH = {aten.view.default, aten._unsafe_view.default, aten.reshape.default, aten.permute.default,
                 aten.t.default}


def _only_int8_kernels_read(node) -> bool:
    """Whether every use of a quantize's result is a dequantize read (through views) only by
    matrix products and convolutions, the int8 kernels' operands, which store it once."""
    for dq in node.users:
        if dq.target != qd.dequantize_per_tensor.default:
            return False
        todo = list(dq.users)
        while todo:
            user = todo.pop()
            if user.target in _PASS_THROUGH:
                todo.extend(user.users)
            elif user.target not in _INT8_KERNEL_USERS:
                return False
    return True


@lower(qd.quantize_per_tensor.default)
def quantize_per_tensor(ctx, node, x, scale, zero_point, qmin, qmax, dtype):
    """PyTorch's quantize (``quantize_value``). Stored as int8 unless only int8 kernels read
    it (they store their operand themselves): a lazy quantize would be recomputed, rounding,
    clamping and all, by every consumer of the dequantized value, e.g. the two reductions
    and the normalisation of a layer norm after a residual add."""
    _int8(dtype, "quantize_per_tensor")
    if not isinstance(scale, (int, float)) or not isinstance(zero_point, int):
        raise Unsupported("quantize_per_tensor with a tensor scale")
    same = _requantized(ctx, node, x, scale, zero_point, qmin, qmax)
    if same is not None:
        return same
    q = quantize_value(x, scale, zero_point, qmin, qmax)
    return q if _only_int8_kernels_read(node) else ctx.realize(q)


def _scalar_load(ctx, v: TensorValue) -> ir.Expr:
    s = ctx.strided(v) if v.shape == () else None
    return ir.Load(s.buffer, s.offset, v.dtype) if s is not None else ctx.realize(v).load(())


@lower(qd.choose_qparams.tensor)
def choose_qparams(ctx, node, x, qmin, qmax, eps, dtype):
    """PyTorch's ``choose_qparams.tensor`` (``determine_qparams``, per-tensor affine), in
    float32 as it computes: ``s = max((max(x_max, 0) - min(x_min, 0)) / f32(qmax - qmin),
    f32(eps))``, ``z = clamp(qmin - int(round(min(x_min, 0) / s)), qmin, qmax)``; and the
    quantize multiplier ``1/s`` (PyTorch: in double, then float32; the same value, since
    double rounding of a quotient to float32 is exact)."""
    _int8(dtype, "choose_qparams")
    if x.dtype != "f32":
        raise Unsupported(f"choose_qparams of a {x.dtype} tensor")
    dims = tuple(range(x.ndim))
    lo = _scalar_load(ctx, ctx.reduce(x, dims, "min", keepdim=False))
    hi = _scalar_load(ctx, ctx.reduce(x, dims, "max", keepdim=False))
    zero = _const(0.0, "f32")
    lo = _op("min", "f32", lo, zero)
    span = _op("sub", "f32", _op("max", "f32", hi, zero), lo)
    scale = _op("max", "f32", _op("div", "f32", span, _const(float(qmax - qmin), "f32")),
                _const(float(np.float32(eps)), "f32"))
    s = _scalar_load(ctx, ctx.realize(TensorValue((), "f32", lambda idx: scale)))
    zp = _op("sub", "i32", _const(qmin, "i32"), _op("cast", "i32", _op("round", "f32", _op("div", "f32", lo, s))))
    zp = _op("min", "i32", _op("max", "i32", zp, _const(qmin, "i32")), _const(qmax, "i32"))
    z = _scalar_load(ctx, ctx.realize(TensorValue((), "i32", lambda idx: zp)))
    inv = _scalar_load(ctx, ctx.realize(TensorValue((), "f32", lambda idx: _op("div", "f32", _const(1.0, "f32"), s))))
    return RuntimeQParam(s, inv), RuntimeQParam(z)


def _runtime(scale, zero_point, what: str) -> None:
    if not (isinstance(scale, RuntimeQParam) and isinstance(zero_point, RuntimeQParam)):
        raise Unsupported(f"{what} with a scale that is not from choose_qparams")


@lower(qd.quantize_per_tensor.tensor)
def quantize_per_tensor_tensor(ctx, node, x, scale, zero_point, qmin, qmax, dtype):
    _int8(dtype, "quantize_per_tensor")
    _runtime(scale, zero_point, "quantize_per_tensor")
    if x.dtype != "f32":
        raise Unsupported(f"quantize of a {x.dtype} tensor (float32 only)")

    def load(idx):
        v = _op("round", "f32", _op("mul", "f32", x.load(idx), scale.inverse))
        v = _op("add", "f32", v, _op("cast", "f32", zero_point.value))
        v = _op("min", "f32", _op("max", "f32", v, _const(qmin, "f32")), _const(qmax, "f32"))
        return _op("cast", "i8", v)

    return TensorValue(x.shape, "i8", load)


@lower(qd.dequantize_per_tensor.tensor)
def dequantize_per_tensor_tensor(ctx, node, q, scale, zero_point, qmin, qmax, dtype, out_dtype=None):
    _int8(dtype, "dequantize_per_tensor")
    _runtime(scale, zero_point, "dequantize_per_tensor")
    if q.dtype != "i8" or out_dtype not in (None, torch.float32):
        raise Unsupported(f"dequantize_per_tensor of {q.dtype} to {out_dtype}")
    ctx.dequantized[node] = Dequantized(q, scale, zero_point)
    return TensorValue(q.shape, "f32", lambda idx: _op("mul", "f32", _op(
        "sub", "f32", _op("cast", "f32", q.load(idx)), _op("cast", "f32", zero_point.value)), scale.value))


@lower(qd.dequantize_per_tensor.default)
def dequantize_per_tensor(ctx, node, q, scale, zero_point, qmin, qmax, dtype, out_dtype=None):
    _int8(dtype, "dequantize_per_tensor")
    if q.dtype != "i8" or out_dtype not in (None, torch.float32):
        raise Unsupported(f"dequantize_per_tensor of {q.dtype} to {out_dtype}")
    if not isinstance(scale, (int, float)) or not isinstance(zero_point, int):
        raise Unsupported("dequantize_per_tensor with a tensor scale")
    ctx.dequantized[node] = Dequantized(q, float(scale), int(zero_point))
    s, z = float(np.float32(scale)), float(zero_point)
    return TensorValue(q.shape, "f32", lambda idx: _op("mul", "f32", _op("sub", "f32", _op("cast", "f32", q.load(idx)),
                                                                           _const(z, "f32")), _const(s, "f32")))


@lower(qd.dequantize_per_channel.default)
def dequantize_per_channel(ctx, node, q, scales, zero_points, axis, qmin, qmax, dtype, out_dtype=None):
    _int8(dtype, "dequantize_per_channel")
    if q.dtype != "i8" or out_dtype not in (None, torch.float32) or scales.dtype != "f32":
        raise Unsupported(f"dequantize_per_channel of {q.dtype} with {scales.dtype} scales to {out_dtype}")
    if zero_points is not None and zero_points.dtype not in ("i64", "i32"):
        raise Unsupported(f"dequantize_per_channel with {zero_points.dtype} zero points")
    axis = axis % q.ndim
    ctx.dequantized[node] = Dequantized(q, scales, zero_points, axis)

    def load(idx):
        c = (idx[axis],)
        v = _op("cast", "i64", q.load(idx))
        if zero_points is not None:
            zp = zero_points.load(c)
            v = _op("sub", "i64", v, zp if zp.dtype == "i64" else _op("cast", "i64", zp))
        return _op("mul", "f32", _op("cast", "f32", v), scales.load(c))

    return TensorValue(q.shape, "f32", load)


# PyTorch's scales are float64 metadata: these rules read them as exact float32 (RuntimeQParam)
float64_ops(qd.quantize_per_tensor.default, qd.quantize_per_tensor.tensor, qd.choose_qparams.tensor,
            qd.dequantize_per_tensor.tensor, qd.dequantize_per_tensor.default, qd.dequantize_per_channel.default)
INT8_OPS.update({qd.quantize_per_tensor.default, qd.dequantize_per_tensor.default, qd.dequantize_per_channel.default,
                 qd.quantize_per_tensor.tensor, qd.dequantize_per_tensor.tensor})
INT8_OPS.update({aten.view.default, aten.reshape.default, aten._unsafe_view.default, aten.permute.default,
                 aten.t.default, aten.transpose.int, aten.expand.default, aten.unsqueeze.default, aten.squeeze.default,
                 aten.squeeze.dim, aten.squeeze.dims, aten.slice.Tensor, aten.select.int, aten.clone.default,
                 aten.alias.default})


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
        sx, zx, kzx = x.scale.value, x.zero_point.value, _op("mul", "i32", _const(k_, "i32"), x.zero_point.value)
    else:
        sx, zx, kzx = _const(np.float32(x.scale), "f32"), _const(x.zero_point, "i32"), _const(k_ * x.zero_point, "i32")

    # prepare (weights only): packed B, weight row sums, zero-point terms, combined scale
    packed = ctx.new_buffer("i8", ir.qpacked_size(k_, n_))
    i0, i1, i2, i3 = index_vars(4)
    j, p = 4 * i0 + i2, 16 * i1 + i3
    inside = _op("and", "bool", _op("lt", "bool", ir.Index(j, "i32"), _const(n_, "i32")),
                 _op("lt", "bool", ir.Index(p, "i32"), _const(k_, "i32")))
    value = _op("cast", "i32", w2d.load((ModIndex(j, n_), ModIndex(p, k_))))
    body = _op("cast", "i8", _op("where", "i32", inside, value, _const(0, "i32")))
    ctx.kernels.append(ir.Pointwise(ctx.name("qpack"), packed, i0 * 4 * kp + i1 * 64 + i2 * 16 + i3,
                                    (np_ // 4, kp // 16, 4, 16), body))
    w32 = TensorValue(w2d.shape, "i32", lambda idx: _op("cast", "i32", w2d.load(idx)))
    wsum = ctx.reduce(w32, (1,), "sum", keepdim=False)
    if w.axis is None:  # per-tensor weight: Python scale and zero point
        zw = TensorValue((n,), "i32", lambda idx: _const(w.zero_point, "i32"))
        scale = TensorValue((n,), "f32", lambda idx: _op("mul", "f32", sx, _const(np.float32(w.scale), "f32")))
    else:
        zp = w.zero_point
        zw = TensorValue((n,), "i32", lambda idx: _const(0, "i32") if zp is None else _op("cast", "i32", zp.load(idx)))
        scale = TensorValue((n,), "f32", lambda idx: _op("mul", "f32", sx, w.scale.load(idx)))
    zw = ctx.realize(zw)
    scale = ctx.realize(scale)
    corr = ctx.realize(TensorValue((n,), "i32", lambda idx: _op(
        "sub", "i32", _op("mul", "i32", zx, wsum.load(idx)), _op("mul", "i32", kzx, zw.load(idx)))))

    # forward: the int8 activation (16 bytes of slack), its row sums, the GEMM
    a_buf = ctx.new_buffer("i8", buffer_numel(m * k + 16))
    if write_a is not None:
        write_a(a_buf)
    else:
        ctx.store_into(a_value, a_buf)
    a = stored(a_buf, (m, k), "i8")
    xsum = ctx.reduce(TensorValue((m, k), "i32", lambda idx: _op("cast", "i32", a.load(idx))), (1,), "sum",
                      keepdim=False)
    c_buf = ctx.new_buffer("i32", buffer_numel(m * np_ + ir.qgemm_workspace(k_)))  # + the kernel's workspace
    ctx.kernels.append(ir.QGemm(ctx.name("qgemm"), a_buf, packed, c_buf, m, n, k, k, np_))
    acc = stored(c_buf, (m, n), "i32", strides=(np_, 1))

    def epilogue(idx):
        col = (idx[1],)
        v = _op("sub", "i32", acc.load(idx), corr.load(col))
        v = _op("sub", "i32", v, _op("mul", "i32", zw.load(col), xsum.load((idx[0],))))
        y = _op("mul", "f32", _op("cast", "f32", v), scale.load(col))
        return y if bias is None else _op("add", "f32", y, bias.load(col))

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
        ctx.store_into(TensorValue(shape, "i8", lambda idx: _op("cast", "i8", fill)), buf)
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
    fill = x.zero_point.value if isinstance(x.zero_point, RuntimeQParam) else _const(x.zero_point, "i32")
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
