"""Elementwise operators: each becomes one ``ir.Op`` node in a lazy loader.

The registry has already promoted and broadcast the operands, so most rules are one line.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import ir
from ..target import FLOAT64_MATH
from .core import TensorValue, Unsupported
from .registry import ALWAYS_BOOL, DEFAULT, INT_TO_FLOAT, NO_OPMATH, cast, float64_ops, lower, scalar_value

aten = torch.ops.aten


def unary(name: str, x: TensorValue, dtype: str | None = None) -> TensorValue:
    dtype = dtype or x.dtype
    return TensorValue(x.shape, dtype, lambda idx: ir.Op(name, (x.load(idx),), dtype))


def binary(name: str, a: TensorValue, b: TensorValue, dtype: str | None = None) -> TensorValue:
    dtype = dtype or a.dtype
    return TensorValue(a.shape, dtype, lambda idx: ir.Op(name, (a.load(idx), b.load(idx)), dtype))


def const_like(x: TensorValue, value) -> TensorValue:
    from .registry import broadcast_to

    return broadcast_to(scalar_value(value, x.dtype), x.shape)


def count_like(x: TensorValue, n) -> TensorValue:
    """An element count (int or symbolic size) as a float value broadcast like ``x`` (in
    ``x``'s dtype if that is a float, else f32)."""
    import sympy

    dt = x.dtype if x.dtype in ir.FLOATS else "f32"
    n = sympy.sympify(n)
    if n.is_number:
        return const_like(TensorValue(x.shape, dt, x.loader), float(n))
    if not n.is_integer:  # e.g. a symbolic count minus a fractional correction
        raise Unsupported(f"element count {n} is not an integer expression")
    return TensorValue(x.shape, dt, lambda idx: ir.Op("cast", (ir.Index(n, "i32"),), dt))


def float_only(name, x, dtypes=("f32",)):
    if x.dtype not in dtypes:
        raise Unsupported(f"{name} on {x.dtype}" + (" (float32 only)" if x.dtype == "f64" else ""))


def reject_bool(node, what: str) -> None:
    """PyTorch raises for ``what`` on a bool tensor; so must we (Dynamo's fake tensors let
    some of these through), rather than return a made-up value."""
    for a in node.args:
        val = getattr(a, "meta", {}).get("val") if hasattr(a, "meta") else None
        if getattr(val, "dtype", None) == torch.bool:
            raise Unsupported(f"{what} of a bool tensor (PyTorch raises)")


def _simple_binary(op_name, *ops, promote=DEFAULT):
    @lower(*ops, promote=promote)
    def rule(ctx, node, a, b, **kw):
        return binary(op_name, a, b)


_simple_binary("max", aten.maximum.default)
_simple_binary("min", aten.minimum.default)


@lower(aten.add.Tensor, aten.add.Scalar, aten.sub.Tensor, aten.sub.Scalar, promote=DEFAULT)
def add_sub(ctx, node, a, b, alpha=1):
    if alpha != 1:
        b = binary("mul", b, const_like(b, alpha))
    name = "add" if node.target in (aten.add.Tensor, aten.add.Scalar) else "sub"
    if name == "sub":
        reject_bool(node, "subtraction")
    if a.dtype == "bool":
        return binary("or", a, b) if name == "add" else binary("xor", a, b)
    return binary(name, a, b)


@lower(aten.rsub.Scalar, aten.rsub.Tensor, promote=DEFAULT)
def rsub(ctx, node, a, b, alpha=1):
    reject_bool(node, "subtraction")
    if alpha != 1:
        a = binary("mul", a, const_like(a, alpha))
    if a.dtype == "bool":
        raise Unsupported("rsub of bool")
    return binary("sub", b, a)


@lower(aten.mul.Tensor, aten.mul.Scalar, promote=DEFAULT)
def mul(ctx, node, a, b):
    return binary("and" if a.dtype == "bool" else "mul", a, b)


@lower(aten.div.Tensor, aten.div.Scalar, promote=INT_TO_FLOAT)
def div(ctx, node, a, b):
    return binary("div", a, b)


def select(c: TensorValue, a: TensorValue, b: TensorValue) -> TensorValue:
    """``where(c, a, b)`` of same-shaped values (no promotion or broadcasting)."""
    return TensorValue(a.shape, a.dtype, lambda idx: ir.Op("where", (c.load(idx), a.load(idx), b.load(idx)), a.dtype))


def _float_fmod(a: TensorValue, b: TensorValue) -> TensorValue:
    """C ``fmod`` (sign of ``a``), exact: the IR's ``mod`` of the magnitudes (for
    non-negative operands floored and truncated remainders agree) with ``a``'s sign."""
    m = binary("mod", unary("abs", a), unary("abs", b))
    return select(binary("lt", a, const_like(a, 0.0), "bool"), unary("neg", m), m)


def _float_floordiv(ctx, a: TensorValue, b: TensorValue) -> TensorValue:
    """PyTorch's ``div_floor_floating``: ``floor(a / b)`` rounds the quotient first and can
    be off by one (``1.0 // 0.1`` is 9, not 10), so go through the exact ``fmod``."""
    mod = ctx.realize(_float_fmod(a, b))  # used three times below
    zero = const_like(a, 0.0)
    div = binary("div", binary("sub", a, mod), b)
    signs_differ = binary("ne", binary("lt", b, zero, "bool"), binary("lt", mod, zero, "bool"), "bool")
    fix = binary("and", binary("ne", mod, zero, "bool"), signs_differ, "bool")
    div = select(fix, binary("sub", div, const_like(a, 1.0)), div)
    fl = unary("floor", div)
    fl = select(binary("gt", binary("sub", div, fl), const_like(a, 0.5), "bool"),
                binary("add", fl, const_like(a, 1.0)), fl)
    q = binary("div", a, b)
    signed_zero = select(binary("lt", q, zero, "bool"), const_like(a, -0.0), zero)
    fl = select(binary("eq", div, zero, "bool"), signed_zero, fl)
    return select(binary("eq", b, zero, "bool"), q, fl)


@lower(aten.div.Tensor_mode, aten.div.Scalar_mode, promote=DEFAULT)
def div_mode(ctx, node, a, b, rounding_mode=None):
    if rounding_mode is None:
        if a.dtype not in ir.FLOATS:
            a, b = cast(a, "f32"), cast(b, "f32")
        return binary("div", a, b)
    if rounding_mode == "floor":
        return _float_floordiv(ctx, a, b) if a.dtype in ir.FLOATS else binary("floordiv", a, b)
    if a.dtype in ir.FLOATS:
        return unary("trunc", binary("div", a, b))
    return binary("div", a, b)  # integer "div" truncates


@lower(aten.floor_divide.default, aten.floor_divide.Scalar, promote=DEFAULT)
def floor_divide(ctx, node, a, b):
    return _float_floordiv(ctx, a, b) if a.dtype in ir.FLOATS else binary("floordiv", a, b)


@lower(aten.remainder.Tensor, aten.remainder.Scalar, aten.remainder.Scalar_Tensor, promote=DEFAULT)
def remainder(ctx, node, a, b):
    reject_bool(node, "remainder")
    return binary("mod", a, b)


@lower(aten.fmod.Tensor, aten.fmod.Scalar, promote=DEFAULT)
def fmod(ctx, node, a, b):
    if a.dtype not in ir.FLOATS:
        # a - trunc(a / b) * b with C-style integer division
        return binary("sub", a, binary("mul", binary("div", a, b), b))
    return _float_fmod(a, b)


def _compare(op_name, *ops):
    @lower(*ops, promote=ALWAYS_BOOL)
    def rule(ctx, node, a, b):
        return binary(op_name, a, b, "bool")


_compare("lt", aten.lt.Tensor, aten.lt.Scalar)
_compare("le", aten.le.Tensor, aten.le.Scalar)
_compare("gt", aten.gt.Tensor, aten.gt.Scalar)
_compare("ge", aten.ge.Tensor, aten.ge.Scalar)
_compare("eq", aten.eq.Tensor, aten.eq.Scalar)
_compare("ne", aten.ne.Tensor, aten.ne.Scalar)


def _logical(op_name, *ops):
    @lower(*ops, promote=ALWAYS_BOOL)
    def rule(ctx, node, a, b):
        return binary(op_name, cast(a, "bool"), cast(b, "bool"), "bool")


_logical("and", aten.logical_and.default)
_logical("or", aten.logical_or.default)
_logical("xor", aten.logical_xor.default)


@lower(aten.logical_not.default, promote=ALWAYS_BOOL)
def logical_not(ctx, node, a):
    return unary("not", cast(a, "bool"), "bool")


@lower(aten.bitwise_not.default, promote=DEFAULT)
def bitwise_not(ctx, node, a):
    if a.dtype in ir.FLOATS:
        raise Unsupported(f"bitwise_not of {a.dtype} (PyTorch raises)")
    if a.dtype != "bool":
        return binary("xor", a, const_like(a, -1))
    return unary("not", a, "bool")


@lower(aten.bitwise_xor.Tensor, aten.bitwise_xor.Scalar, promote=DEFAULT)
def bitwise_xor(ctx, node, a, b):
    return binary("xor", a, b)


@lower(aten.bitwise_and.Tensor, aten.bitwise_and.Scalar, promote=DEFAULT)
def bitwise_and(ctx, node, a, b):
    return binary("and", a, b)


@lower(aten.bitwise_or.Tensor, aten.bitwise_or.Scalar, promote=DEFAULT)
def bitwise_or(ctx, node, a, b):
    return binary("or", a, b)


def float_unary(op_name, *ops):
    @lower(*ops, promote=INT_TO_FLOAT)
    def rule(ctx, node, x):
        # sqrt, 1 / sqrt and 1 / x are single IEEE operations in float64 too; the functions of
        # target.FLOAT64_MATH have float64 routines (csrc/wat/math_f64.wat)
        float_only(op_name, x, ir.FLOATS if op_name in ("sqrt", "rsqrt", "recip", *FLOAT64_MATH) else ("f32",))
        return unary(op_name, x)


for _name, _op in [("exp", aten.exp.default), ("log", aten.log.default), ("tanh", aten.tanh.default),
                   ("erf", aten.erf.default), ("sigmoid", aten.sigmoid.default), ("sqrt", aten.sqrt.default),
                   ("rsqrt", aten.rsqrt.default), ("recip", aten.reciprocal.default)]:
    float_unary(_name, _op)

@lower(aten.copysign.Tensor, aten.copysign.Scalar, promote=INT_TO_FLOAT)
def copysign(ctx, node, a, b):
    float_only("copysign", a, ir.FLOATS)
    return binary("copysign", a, b)


def _ignoring_nan(name):
    @lower(getattr(aten, "f" + name).default, promote=DEFAULT)
    def rule(ctx, node, a, b):
        """fmax/fmin: a NaN operand is ignored (NaN only if both are)."""
        dt = a.dtype
        if dt not in ir.FLOATS:
            return binary(name, a, b)
        return TensorValue(a.shape, dt, lambda idx: ir.Op("where", (
            ir.Op("isnan", (b.load(idx),), "bool"), a.load(idx),
            ir.Op("where", (ir.Op("isnan", (a.load(idx),), "bool"), b.load(idx),
                            ir.Op(name, (a.load(idx), b.load(idx)), dt)), dt)), dt))


_ignoring_nan("max")
_ignoring_nan("min")


def _same_unary(op_name, *ops):
    @lower(*ops, promote=DEFAULT)
    def rule(ctx, node, x):
        if op_name != "sign":
            reject_bool(node, op_name)
        if op_name in ("floor", "ceil", "round", "trunc") and x.dtype not in ir.FLOATS:
            return x
        return unary(op_name, x)


_same_unary("neg", aten.neg.default)
_same_unary("abs", aten.abs.default)
_same_unary("floor", aten.floor.default)
_same_unary("ceil", aten.ceil.default)
_same_unary("round", aten.round.default)
_same_unary("trunc", aten.trunc.default)


@lower(aten.round.decimals, promote=DEFAULT)
def round_decimals(ctx, node, x, decimals=0):
    """As PyTorch's CPU kernel, in the dtype: nearbyint(x * 10^d) / 10^d, or for d < 0
    nearbyint(x / 10^-d) * 10^-d (10^|d| rounded to the dtype once)."""
    reject_bool(node, "round")
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"round(decimals=) of {x.dtype} (PyTorch rounds floating tensors only)")
    p = 10.0 ** abs(decimals)  # std::pow(10, d) in the dtype
    scale = const_like(x, float(np.float32(p)) if x.dtype == "f32" else p)
    if decimals < 0:
        return binary("mul", unary("round", binary("div", x, scale)), scale)
    return binary("div", unary("round", binary("mul", x, scale)), scale)


@lower(aten.sign.default, promote=DEFAULT)
def sign(ctx, node, x):
    if x.dtype == "bool":
        return x
    # PyTorch's sign is (0 < x) - (x < 0): sign(NaN) == 0 and sign(-0.0) == +0.0
    pos = cast(binary("gt", x, const_like(x, 0), "bool"), x.dtype)
    neg = cast(binary("lt", x, const_like(x, 0), "bool"), x.dtype)
    return binary("sub", pos, neg)


@lower(aten.relu.default, promote=DEFAULT)
def relu(ctx, node, x):
    reject_bool(node, "relu")
    fused = _fuse_into_gemm(ctx, node, x)
    return fused if fused is not None else unary("relu", x)


def _fuse_into_gemm(ctx, node, x):
    """relu of a GEMM's whole result, its only use: apply it in the GEMM's epilogue while
    the tile is in registers (saves a pass over memory)."""
    import dataclasses

    src = node.args[0]
    k = ctx.kernels[-1] if ctx.kernels else None
    if not isinstance(k, ir.Gemm) or k.relu or len(getattr(src, "users", ())) != 1 or x.dtype != "f32":
        return None
    s = ctx.strided(x)
    buf = next((b for b in ctx.buffers if b.name == k.c.buffer), None)
    if s is None or buf is None or s.buffer != k.c.buffer or s.offset != 0 or buf.numel != x.numel():
        return None
    if sum(1 for kk in ctx.kernels if isinstance(kk, ir.Gemm) and kk.c.buffer == k.c.buffer) != 1:
        return None  # the buffer is written by several GEMMs (grouped convolution)
    ctx.kernels[-1] = dataclasses.replace(k, relu=True)
    return x


@lower(aten.isnan.default, promote=None)
def isnan(ctx, node, x):
    if x.dtype not in ir.FLOATS:
        return const_like(TensorValue(x.shape, "bool", x.loader), False)
    return unary("isnan", x, "bool")


@lower(aten.isinf.default, aten.isposinf.default, aten.isneginf.default, promote=None)
def isinf(ctx, node, x):
    if x.dtype not in ir.FLOATS:
        return const_like(TensorValue(x.shape, "bool", x.loader), False)
    if node.target is aten.isinf.default:
        return binary("eq", unary("abs", x), const_like(x, math.inf), "bool")
    return binary("eq", x, const_like(x, math.inf if node.target is aten.isposinf.default else -math.inf), "bool")


@lower(aten.clamp.default, aten.clamp.Tensor, promote=DEFAULT)
def clamp(ctx, node, x, lo=None, hi=None):
    # the bounds take part in type promotion (an int64 tensor clamped to 0.5 is float32)
    for bound, op in ((lo, "max"), (hi, "min")):
        if bound is not None:
            x = binary(op, x, bound)
    return x


@lower(aten.clamp_min.default, aten.clamp_min.Tensor, promote=DEFAULT)
def clamp_min(ctx, node, x, lo):
    return binary("max", x, lo)


@lower(aten.clamp_max.default, aten.clamp_max.Tensor, promote=DEFAULT)
def clamp_max(ctx, node, x, hi):
    return binary("min", x, hi)


@lower(aten.hardtanh.default, promote=None)
def hardtanh(ctx, node, x, lo=-1.0, hi=1.0):
    # the bounds are Python scalars (not operands): no promotion, like PyTorch's kernel
    return binary("min", binary("max", x, const_like(x, lo)), const_like(x, hi))


@lower(aten.where.self, aten.where.ScalarSelf, aten.where.ScalarOther, aten.where.Scalar, promote=NO_OPMATH,
       operands=(1, 2))
def where(ctx, node, cond, a, b):
    return select(cast(cond, "bool"), a, b)


@lower(aten._to_copy.default, aten.clone.default, aten.alias.default, aten.detach.default, aten.lift_fresh_copy.default,
       promote=None)
def to_copy(ctx, node, x, **kwargs):
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    if device is not None and torch.device(device).type != "cpu":
        raise Unsupported(f"copy to device {device}")
    if dtype is not None:
        from .registry import ir_dtype

        return cast(x, ir_dtype(dtype))
    return x


@lower(aten.copy.default, promote=None)
def copy(ctx, node, dst, src, non_blocking=False):
    """The functional form of ``dst.copy_(src)``: ``src`` broadcast to ``dst``'s shape, in
    ``dst``'s dtype."""
    from .registry import broadcast_to

    return broadcast_to(cast(src, dst.dtype), dst.shape)


# checked for float64 (computed as float64, or Unsupported where only float32 is lowered)
float64_ops(aten.maximum.default, aten.minimum.default, aten.add.Tensor, aten.add.Scalar, aten.sub.Tensor,
            aten.sub.Scalar, aten.rsub.Scalar, aten.rsub.Tensor, aten.mul.Tensor, aten.mul.Scalar, aten.div.Tensor,
            aten.div.Scalar, aten.div.Tensor_mode, aten.div.Scalar_mode, aten.floor_divide.default,
            aten.floor_divide.Scalar, aten.remainder.Tensor, aten.remainder.Scalar, aten.remainder.Scalar_Tensor,
            aten.fmod.Tensor, aten.fmod.Scalar, aten.lt.Tensor, aten.lt.Scalar, aten.le.Tensor, aten.le.Scalar,
            aten.gt.Tensor, aten.gt.Scalar, aten.ge.Tensor, aten.ge.Scalar, aten.eq.Tensor, aten.eq.Scalar,
            aten.ne.Tensor, aten.ne.Scalar, aten.logical_and.default, aten.logical_or.default,
            aten.logical_xor.default, aten.logical_not.default, aten.bitwise_not.default, aten.exp.default,
            aten.log.default, aten.tanh.default, aten.erf.default, aten.sigmoid.default, aten.sqrt.default,
            aten.rsqrt.default, aten.reciprocal.default, aten.copysign.Tensor, aten.copysign.Scalar,
            aten.fmax.default, aten.fmin.default, aten.neg.default, aten.abs.default, aten.floor.default,
            aten.ceil.default, aten.round.default, aten.trunc.default, aten.round.decimals, aten.sign.default,
            aten.relu.default, aten.isnan.default, aten.isinf.default, aten.isposinf.default,
            aten.isneginf.default, aten.clamp.default, aten.clamp.Tensor, aten.clamp_min.default,
            aten.clamp_min.Tensor, aten.clamp_max.default, aten.clamp_max.Tensor, aten.hardtanh.default,
            aten.where.self, aten.where.ScalarSelf, aten.where.ScalarOther, aten.where.Scalar,
            aten._to_copy.default, aten.clone.default, aten.alias.default, aten.detach.default,
            aten.lift_fresh_copy.default, aten.copy.default)
