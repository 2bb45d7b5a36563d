"""Special functions: the float64-evaluated routines of csrc/wat/math_f32x4_f64.wat (sin, cos,
..., erfinv, the Bessel functions, digamma, lgamma, polygamma, atan2, hypot; correctly rounded
float32 results), spherical_bessel_j0 as PyTorch's float32 kernel, and the orthogonal
polynomials of csrc/wat/poly_f32.wat (PyTorch's float32 recurrences)."""

from __future__ import annotations

import numpy as np
import torch

from .. import ir
from .core import TensorValue, Unsupported
from .pointwise import binary, const_like, float_only, float_unary, unary
from .registry import DEFAULT, INT_TO_FLOAT, float64_ops, lower

aten = torch.ops.aten

# float64-evaluated routines of csrc/wat/math_f32x4_f64.wat (correctly rounded float32 results)
for _name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
              "log1p", "expm1", "log2", "log10", "exp2", "erfc", "erfinv"):
    float_unary(_name, getattr(aten, _name).default)
float_unary("erfcx", aten.special_erfcx.default)
float_unary("i0", aten.i0.default)
float_unary("i0e", aten.special_i0e.default)
float_unary("i1e", aten.special_i1e.default)
float_unary("digamma", aten.digamma.default)
float_unary("lgamma", aten.lgamma.default)
# PyTorch evaluates these with Cephes' float Chebyshev series; ours are the float64-evaluated i0/i1
float_unary("i0", aten.special_modified_bessel_i0.default)
float_unary("i1", aten.special_i1.default, aten.special_modified_bessel_i1.default)


@lower(aten.special_spherical_bessel_j0.default, promote=INT_TO_FLOAT)
def spherical_bessel_j0(ctx, node, x):
    """sin(x)/x as PyTorch computes it in float32: its Taylor polynomial below |x| = 0.5, 0 at
    +-inf."""
    float_only("spherical_bessel_j0", x)

    def loader(idx):
        v = x.load(idx)
        xx = ir.Op("mul", (v, v), "f32")
        f32 = np.float32  # PyTorch's coefficients are float divisions: T(1.0) / T(6227020800.0), ...
        poly = ir.Const(float(f32(1) / f32(6227020800.0)), "f32")
        for a, b in ((-1, 39916800.0), (1, 362880.0), (-1, 5040.0), (1, 120.0), (-1, 6.0)):
            poly = ir.Op("add", (ir.Const(float(f32(a) / f32(b)), "f32"), ir.Op("mul", (xx, poly), "f32")), "f32")
        small = ir.Op("add", (ir.Const(1.0, "f32"), ir.Op("mul", (xx, poly), "f32")), "f32")
        ratio = ir.Op("div", (ir.Op("sin", (v,), "f32"), v), "f32")
        absv = ir.Op("abs", (v,), "f32")
        out = ir.Op("where", (ir.Op("lt", (absv, ir.Const(0.5, "f32")), "bool"), small, ratio), "f32")
        return ir.Op("where", (ir.Op("eq", (absv, ir.Const(float("inf"), "f32")), "bool"), ir.Const(0.0, "f32"),
                               out), "f32")

    return TensorValue(x.shape, "f32", loader)


@lower(aten.polygamma.default, promote=INT_TO_FLOAT)
def polygamma(ctx, node, n, x):
    order = node.args[0]  # the Python int (the registry made ``n`` a value)
    float_only("polygamma", x)
    if not isinstance(order, int) or order < 0:
        raise Unsupported(f"polygamma of order {order!r} (a non-negative integer is needed)")
    if order == 0:
        return unary("digamma", x)
    if order > 30:  # n! and the direct terms' powers leave float64 long before float32 results do
        raise Unsupported(f"polygamma of order {order} (orders up to 30 are lowered)")
    return binary("polygamma", const_like(x, float(order)), x)


@lower(aten.atan2.default, promote=INT_TO_FLOAT)
def atan2(ctx, node, a, b):
    float_only("atan2", a)
    return binary("atan2", a, b)


@lower(aten.hypot.default, promote=DEFAULT)
def hypot(ctx, node, a, b):
    float_only("hypot", a)
    return binary("hypot", a, b)


# PyTorch's orthogonal polynomials p(x, n): IR op name -> ATen name (float32 recurrences of
# csrc/wat/poly_f32.wat, operation for operation as PyTorch's CPU kernels)
POLYNOMIALS = {
    "chebyshev_t": "chebyshev_polynomial_t", "chebyshev_u": "chebyshev_polynomial_u",
    "chebyshev_v": "chebyshev_polynomial_v", "chebyshev_w": "chebyshev_polynomial_w",
    "shifted_chebyshev_t": "shifted_chebyshev_polynomial_t", "shifted_chebyshev_u": "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_v": "shifted_chebyshev_polynomial_v", "shifted_chebyshev_w": "shifted_chebyshev_polynomial_w",
    "hermite_h": "hermite_polynomial_h", "hermite_he": "hermite_polynomial_he",
    "laguerre_l": "laguerre_polynomial_l", "legendre_p": "legendre_polynomial_p",
}


def _polynomial(name, packet):
    @lower(packet.default, packet.n_scalar, packet.x_scalar, promote=INT_TO_FLOAT)
    def rule(ctx, node, x, n):
        float_only(name, x)
        return binary(name, x, n)


for _name, _aten in POLYNOMIALS.items():
    _polynomial(_name, getattr(aten, "special_" + _aten))


# float64 routines of csrc/wat/math_f64.wat (float_unary takes float64 for these)
float64_ops(aten.log1p.default, aten.expm1.default, aten.log2.default, aten.log10.default)
