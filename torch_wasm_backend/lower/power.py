"""``pow``: small integer exponents as exact repeated multiplication (integers wrap as in
PyTorch), +-0.5 and -1 as square roots and reciprocals, anything else (float32) as the
``pow`` math routine (exp(e * log|x|) in float64 with C's special cases)."""

from __future__ import annotations

import torch

from .core import Unsupported
from .pointwise import binary, const_like, unary
from .registry import DEFAULT, float64_ops, lower

aten = torch.ops.aten


@lower(aten.pow.Tensor_Scalar, promote=DEFAULT)
def pow_scalar(ctx, node, x, e):
    ex = node.args[1]
    if x.dtype in ("f32", "f64") and isinstance(ex, (int, float)):
        if ex == 2:
            return binary("mul", x, x)
        if ex == 1:
            return x
        if ex == 0.5:
            return unary("sqrt", x)
        if ex == -1:
            return unary("recip", x)
        if ex == -0.5:
            return unary("rsqrt", x)
        if isinstance(ex, int) or float(ex).is_integer():
            k = int(ex)
            if 0 <= abs(k) <= 8:
                y = const_like(x, 1.0)
                for _ in range(abs(k)):
                    y = binary("mul", y, x)
                return y if k >= 0 else unary("recip", y)
        return binary("pow", x, const_like(x, float(ex)))  # exp(ex * log|x|) in float64, C's special cases
    if x.dtype in ("i32", "i64") and isinstance(ex, int) and not isinstance(ex, bool) and 0 <= ex <= 8:
        y = const_like(x, 1)  # integer powers: exact repeated multiplication (wraps like PyTorch)
        for _ in range(ex):
            y = binary("mul", y, x)
        return y
    raise Unsupported(f"pow of {x.dtype} with exponent {ex!r} (float32 with any exponent and integer tensors "
                      f"with integer exponents 0 <= k <= 8 are supported)")


@lower(aten.pow.Tensor_Tensor, promote=DEFAULT)
def pow_tensor(ctx, node, x, e):
    if x.dtype not in ("f32", "f64"):
        raise Unsupported(f"pow of two {x.dtype} tensors (float32 and float64 are supported)")
    return binary("pow", x, e)


@lower(aten.pow.Scalar, promote=DEFAULT)
def pow_scalar_base(ctx, node, base, e):
    if e.dtype not in ("f32", "f64"):
        raise Unsupported(f"pow of a scalar base and a {e.dtype} exponent tensor (float32 and float64 are supported)")
    return binary("pow", base, e)


# checked for float64 (small integer exponents, square roots; others csrc/wat/math_f64.wat's pow)
float64_ops(aten.pow.Tensor_Scalar, aten.pow.Tensor_Tensor, aten.pow.Scalar)
