"""Matrix products: ``mm``, ``bmm``, ``addmm``, ``baddbmm`` become ``Gemm`` kernels.

The microkernels want A and C with unit column stride. B may also be a transposed view
(unit row stride, e.g. a linear layer's weight or attention's K^T): the scheduler packs it
with ``$f32_gemm_pack_bt`` for the packed microkernel, reading the view directly (in
``prepare`` when B is a weight), or copies it when it cannot pack. Other operands are
copied into a contiguous buffer first.
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported, buffer_numel, stored
from .pointwise import binary, const_like
from .registry import broadcast_to, float64_ops, lower
from .views import unsqueeze_dims

aten = torch.ops.aten


def _operand(ctx, v: TensorValue, transposed_ok: bool = False) -> ir.Operand:
    """``v`` is (batch, rows, cols) with unit column stride (or, if ``transposed_ok``,
    unit row stride); otherwise it is copied first."""
    s = ctx.strided(v)
    if s is not None and transposed_ok and s.strides[2] != 1 and v.shape[2] != 1 and (
            s.strides[1] == 1 or v.shape[1] == 1):
        return ir.Operand(s.buffer, s.offset, s.strides[0], sympy.Integer(1), s.strides[2])
    if s is None or (s.strides[2] != 1 and v.shape[2] != 1):
        v = ctx.realize(v)
        s = ctx.strided(v)
    return ir.Operand(s.buffer, s.offset, s.strides[0], s.strides[1], sympy.Integer(1))


def gemm(ctx, a: TensorValue, b: TensorValue, bias: TensorValue | None = None, bias_axis: int = 1,
         out: tuple | None = None) -> TensorValue:
    """(B, M, K) @ (B, K, N) (+ bias along columns or rows) -> (B, M, N), contiguous, in a
    new buffer or at ``out = (buffer, element offset)``."""
    if a.dtype == b.dtype == "f64" and out is None:
        return _gemm_f64(ctx, a, b, bias, bias_axis)
    if a.dtype != "f32" or b.dtype != "f32":
        raise Unsupported(f"matrix product of {a.dtype} and {b.dtype} (only float32)")
    batch, m, k = (sympy.sympify(s) for s in a.shape)
    n = sympy.sympify(b.shape[2])
    if batch * m * n == 0 and out is None:  # an empty result: nothing to compute or store
        return TensorValue((batch, m, n), "f32", lambda idx: ir.Const(0.0, "f32"))
    out, offset = out or (ctx.new_buffer("f32", buffer_numel(batch * m * n)), 0)
    c = ir.Operand(out, offset, m * n, n, 1)
    bias_buf = None
    if bias is not None:
        s = ctx.strided(bias)
        if s is None or (s.strides[0] != 1 and bias.shape[0] != 1) or s.offset != 0:
            bias = ctx.realize(bias)
            s = ctx.strided(bias)
        bias_buf = s.buffer
    if batch * m * n != 0:
        ctx.kernels.append(ir.Gemm(ctx.name("gemm"), _operand(ctx, a), _operand(ctx, b, True), c, batch, m, n, k,
                                   bias_buf, bias_axis))
    return stored(out, (batch, m, n), "f32", offset=offset)


def _gemm_f64(ctx, a: TensorValue, b: TensorValue, bias: TensorValue | None, bias_axis: int) -> TensorValue:
    """A float64 product as a ``Reduce`` kernel (the GEMM microkernels are float32): each
    result is the sum over k of a[i, k] * b[k, j] in float64, plus the bias after it."""
    batch, m, k = a.shape
    n = b.shape[2]
    prod = TensorValue((batch, m, n, k), "f64", lambda idx: ir.Op(
        "mul", (a.load((idx[0], idx[1], idx[3])), b.load((idx[0], idx[3], idx[2]))), "f64"))
    out = ctx.reduce(prod, (3,), "sum", False)
    if bias is None:
        return out
    along = (lambda idx: bias.load((idx[2],))) if bias_axis == 1 else (lambda idx: bias.load((idx[1],)))
    return binary("add", out, TensorValue(out.shape, bias.dtype, along))


def _squeeze0(v: TensorValue) -> TensorValue:
    return TensorValue(v.shape[1:], v.dtype, lambda idx: v.load((0,) + tuple(idx)))


@lower(aten.mm.default)
def mm(ctx, node, a, b):
    return _squeeze0(gemm(ctx, unsqueeze_dims(a, [0]), unsqueeze_dims(b, [0])))


@lower(aten.bmm.default)
def bmm(ctx, node, a, b):
    return gemm(ctx, a, b)


@lower(aten.addmm.default)
def addmm(ctx, node, bias, a, b, beta=1, alpha=1):
    n = b.shape[1]
    vector_bias = bias.ndim == 1 or (bias.ndim == 2 and bias.shape[0] == 1)
    if beta == 1 and alpha == 1 and vector_bias and bias.shape[-1] == n:
        vec = bias if bias.ndim == 1 else _squeeze0(bias)
        return _squeeze0(gemm(ctx, unsqueeze_dims(a, [0]), unsqueeze_dims(b, [0]), vec, 1))
    prod = _squeeze0(gemm(ctx, unsqueeze_dims(a, [0]), unsqueeze_dims(b, [0])))
    if alpha != 1:
        prod = binary("mul", prod, const_like(prod, float(alpha)))
    if beta == 0:
        return prod
    bias = broadcast_to(bias, prod.shape)
    if beta != 1:
        bias = binary("mul", bias, const_like(bias, float(beta)))
    return binary("add", bias, prod)


@lower(aten.baddbmm.default)
def baddbmm(ctx, node, bias, a, b, beta=1, alpha=1):
    prod = gemm(ctx, a, b)
    if alpha != 1:
        prod = binary("mul", prod, const_like(prod, float(alpha)))
    if beta == 0:
        return prod
    bias = broadcast_to(bias, prod.shape)
    if beta != 1:
        bias = binary("mul", bias, const_like(bias, float(beta)))
    return binary("add", bias, prod)


# checked for float64 (a Reduce kernel in float64: gemm above)
float64_ops(aten.mm.default, aten.bmm.default, aten.addmm.default, aten.baddbmm.default)
