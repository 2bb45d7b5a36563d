"""int8: PyTorch's quantize/dequantize ops (the int8 GEMM layers: quant_gemm.py).

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
``q`` itself (exactly: ``_requantized``).

The int8 GEMM patterns (linear and convolution layers) are ``quant_gemm.py``'s; when such a
layer's whole result is quantized (through views and a relu), the GEMM's store does it and
the quantize takes its int8 value (``ctx.requantized``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.ao.quantization.fx._decomposed  # registers the quantized_decomposed ops

from .. import ir
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


def qconst(value, dtype: str) -> ir.Const:
    return ir.Const(float(value) if dtype == "f32" else int(value), dtype)


def qop(name: str, dtype: str, *args) -> ir.Op:
    return ir.Op(name, tuple(args), dtype)


def quantize_value(x: TensorValue, scale: float, zero_point: int, qmin: int, qmax: int) -> TensorValue:
    """PyTorch's ``quantize_per_tensor`` in float32: the multiplier is ``1/scale``
    computed in double and rounded to float32, as a float32 tensor times a Python float is."""
    if x.dtype != "f32":
        raise Unsupported(f"quantize of a {x.dtype} tensor (float32 only)")
    inv = float(np.float32(1.0 / scale))

    def load(idx):
        v = qop("round", "f32", qop("mul", "f32", x.load(idx), qconst(inv, "f32")))
        v = qop("add", "f32", v, qconst(zero_point, "f32"))
        v = qop("min", "f32", qop("max", "f32", v, qconst(qmin, "f32")), qconst(qmax, "f32"))
        return qop("cast", "i8", v)

    return TensorValue(x.shape, "i8", load)


def _requantized(ctx, node, x: TensorValue, scale, zero_point, qmin: int, qmax: int) -> TensorValue | None:
    """``quantize(dequantize(q, s, z), s, z)`` (PT2E puts one pair around every op whose
    input and output share quantization parameters): ``clamp(q, qmin, qmax)``, exactly.
    (q - z) * s * f32(1/s) is within 3 * 2^-24 * 255 < 0.5 of the integer q - z, so
    rounding gives it back, in the reference's float32 arithmetic as in ours.) None if the
    input is not such a dequantize (seen through reshapes, clones and dropouts outside
    training: ``x``, the quantize's input, has the shape to give it)."""
    src = node.args[0]
    while isinstance(src, torch.fx.Node) and src not in ctx.dequantized and identity_or_view(src):
        src = src.args[0]
    d = ctx.dequantized.get(src) if isinstance(src, torch.fx.Node) else None
    if d is None or d.axis is not None or isinstance(d.scale, RuntimeQParam) or \
            float(np.float32(d.scale)) != float(np.float32(scale)) or d.zero_point != zero_point:
        return None
    q = d.q if tuple(d.q.shape) == tuple(x.shape) else reshape(d.q, x.shape)
    if qmin <= -128 and qmax >= 127:
        return q
    return TensorValue(q.shape, "i8", lambda idx: qop("cast", "i8", qop("min", "i32", qop(
        "max", "i32", qop("cast", "i32", q.load(idx)), qconst(qmin, "i32")), qconst(qmax, "i32"))))


def identity_or_view(node) -> bool:
    """A node that passes its first argument's values on unchanged, in row-major order:
    a reshape, a clone, a dropout outside training, or a transpose/permute that moves
    only dimensions of size 1 past the others ((S, 1, D) -> (1, S, D))."""
    if node.op != "call_function":
        return False
    if node.target == aten.dropout.default:
        return len(node.args) > 2 and node.args[2] is False
    if node.target in (aten.transpose.int, aten.permute.default):
        return _moves_only_unit_dims(node)
    return node.target in (aten.view.default, aten._unsafe_view.default, aten.reshape.default, aten.clone.default,
                           aten.alias.default)


def _moves_only_unit_dims(node) -> bool:
    val = node.args[0].meta.get("val") if isinstance(node.args[0], torch.fx.Node) else None
    if not isinstance(val, torch.Tensor):
        return False
    nd = val.dim()
    perm = list(range(nd))
    if node.target == aten.transpose.int:
        a, b = node.args[1] % nd, node.args[2] % nd
        perm[a], perm[b] = perm[b], perm[a]
    else:
        perm = [p % nd for p in node.args[1]]
    kept = [p for p in perm if not (isinstance(val.shape[p], int) and val.shape[p] == 1)]
    return kept == sorted(kept)


def _source(node):
    """The node whose values ``node`` passes on (through ``identity_or_view``)."""
    while isinstance(node, torch.fx.Node) and identity_or_view(node):
        node = node.args[0]
    return node


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
    # an int8 GEMM's store computed it (quant_gemm.py), or another quantize of the same
    # values with the same parameters did (a layer norm's output, read through a transpose)
    key = ("quantize", _source(node.args[0]), float(np.float32(scale)), zero_point, qmin, qmax)
    fused = ctx.requantized.get(node, ctx.requantized.get(key))
    if fused is not None:
        return fused if tuple(fused.shape) == tuple(x.shape) else reshape(fused, x.shape)
    same = _requantized(ctx, node, x, scale, zero_point, qmin, qmax)
    if same is not None:
        return same
    q = quantize_value(x, scale, zero_point, qmin, qmax)
    if not _only_int8_kernels_read(node):
        # stored once, with the 16 bytes of slack an int8 GEMM reading it as A needs
        # (quant_gemm._stored_a: no copy then)
        buf = ctx.new_buffer("i8", buffer_numel(q.numel() + 16))
        ctx.store_into(q, buf)
        q = stored(buf, q.shape, "i8")
        ctx.requantized[key] = q  # (a lazy one is not shared: its readers would each recompute it)
    return q


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
    zero = qconst(0.0, "f32")
    lo = qop("min", "f32", lo, zero)
    span = qop("sub", "f32", qop("max", "f32", hi, zero), lo)
    scale = qop("max", "f32", qop("div", "f32", span, qconst(float(qmax - qmin), "f32")),
                qconst(float(np.float32(eps)), "f32"))
    s = _scalar_load(ctx, ctx.realize(TensorValue((), "f32", lambda idx: scale)))
    zp = qop("sub", "i32", qconst(qmin, "i32"), qop("cast", "i32", qop("round", "f32", qop("div", "f32", lo, s))))
    zp = qop("min", "i32", qop("max", "i32", zp, qconst(qmin, "i32")), qconst(qmax, "i32"))
    z = _scalar_load(ctx, ctx.realize(TensorValue((), "i32", lambda idx: zp)))
    inv = _scalar_load(ctx, ctx.realize(TensorValue((), "f32", lambda idx: qop("div", "f32", qconst(1.0, "f32"), s))))
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
        v = qop("round", "f32", qop("mul", "f32", x.load(idx), scale.inverse))
        v = qop("add", "f32", v, qop("cast", "f32", zero_point.value))
        v = qop("min", "f32", qop("max", "f32", v, qconst(qmin, "f32")), qconst(qmax, "f32"))
        return qop("cast", "i8", v)

    return TensorValue(x.shape, "i8", load)


@lower(qd.dequantize_per_tensor.tensor)
def dequantize_per_tensor_tensor(ctx, node, q, scale, zero_point, qmin, qmax, dtype, out_dtype=None):
    _int8(dtype, "dequantize_per_tensor")
    _runtime(scale, zero_point, "dequantize_per_tensor")
    if q.dtype != "i8" or out_dtype not in (None, torch.float32):
        raise Unsupported(f"dequantize_per_tensor of {q.dtype} to {out_dtype}")
    ctx.dequantized[node] = Dequantized(q, scale, zero_point)
    return TensorValue(q.shape, "f32", lambda idx: qop("mul", "f32", qop(
        "sub", "f32", qop("cast", "f32", q.load(idx)), qop("cast", "f32", zero_point.value)), scale.value))


@lower(qd.dequantize_per_tensor.default)
def dequantize_per_tensor(ctx, node, q, scale, zero_point, qmin, qmax, dtype, out_dtype=None):
    _int8(dtype, "dequantize_per_tensor")
    if q.dtype != "i8" or out_dtype not in (None, torch.float32):
        raise Unsupported(f"dequantize_per_tensor of {q.dtype} to {out_dtype}")
    if not isinstance(scale, (int, float)) or not isinstance(zero_point, int):
        raise Unsupported("dequantize_per_tensor with a tensor scale")
    ctx.dequantized[node] = Dequantized(q, float(scale), int(zero_point))
    s, z = float(np.float32(scale)), float(zero_point)
    return TensorValue(q.shape, "f32", lambda idx: qop("mul", "f32", qop("sub", "f32", qop("cast", "f32", q.load(idx)),
                                                                           qconst(z, "f32")), qconst(s, "f32")))


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
        v = qop("cast", "i64", q.load(idx))
        if zero_points is not None:
            zp = zero_points.load(c)
            v = qop("sub", "i64", v, zp if zp.dtype == "i64" else qop("cast", "i64", zp))
        return qop("mul", "f32", qop("cast", "f32", v), scales.load(c))

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
