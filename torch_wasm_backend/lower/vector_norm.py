"""``linalg_vector_norm`` (``torch.linalg.vector_norm``, ``Tensor.norm``, ``F.normalize``)
as the reductions it is made of:

* ord 2: ``sqrt(sum(x * x))``; ord 1: ``sum(|x|)``; ord 0: the count of non-zeros;
* ord inf / -inf: ``amax`` / ``amin`` of ``|x|`` (NaN propagates, as in PyTorch);
* other ord p: ``sum(|x|**p) ** (1/p)``, with ``|x|**p`` a product for integer p up to 8
  and ``exp(p * log|x|)`` otherwise (0 stays 0), the root as ``exp(log(s) / p)``.

Summation order differs from PyTorch's (as for ``sum``), and ``exp``/``log`` have the
error bounds of ``csrc/wat/math_f32x4.wat``: the results agree to float32 rounding, not
bit for bit. The backward of the norm is arithmetic AOTAutograd writes out itself.
"""

from __future__ import annotations

import math

import torch

from .. import ir
from .core import TensorValue, Unsupported
from .pointwise import binary, const_like, unary
from .reductions import reduce_dims, reduced_count
from .registry import cast, float64_ops, ir_dtype, lower

aten = torch.ops.aten


def _power(x, p: float):
    """``x ** p`` for ``x >= 0``."""
    if float(p).is_integer() and 1 <= p <= 8:
        y = x
        for _ in range(int(p) - 1):
            y = binary("mul", y, x)
        return y
    zero = binary("eq", x, const_like(x, 0.0), "bool")
    y = unary("exp", binary("mul", unary("log", x), const_like(x, float(p))))
    if p > 0:
        dt = x.dtype
        return TensorValue(x.shape, dt, lambda idx: ir.Op("where", (zero.load(idx), ir.Const(0.0, dt), y.load(idx)), dt))
    return y  # 0 ** negative p is inf: exp(p * log 0) = exp(+inf) already is


@lower(aten.linalg_vector_norm.default)
def linalg_vector_norm(ctx, node, x, ord=2, dim=None, keepdim=False, dtype=None):
    out_dtype = ir_dtype(node.meta["val"].dtype)
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"linalg_vector_norm of {x.dtype} (PyTorch takes floating point tensors)")
    if out_dtype != x.dtype and not (x.dtype, out_dtype) == ("f32", "f16"):  # float16: computed in float32
        raise Unsupported(f"linalg_vector_norm of {x.dtype} to {node.meta['val'].dtype}")
    dims = reduce_dims(x, dim)
    a = unary("abs", x)
    ord = float(ord)
    if math.isinf(ord):
        if reduced_count(x, dims) == 0:
            raise Unsupported("linalg_vector_norm with ord=inf of an empty dimension (PyTorch raises)")
        return ctx.reduce(a, dims, "max" if ord > 0 else "min", keepdim)
    if ord == 0:
        return ctx.reduce(cast(binary("ne", x, const_like(x, 0.0), "bool"), x.dtype), dims, "sum", keepdim)
    if ord == 1:
        return ctx.reduce(a, dims, "sum", keepdim)
    if ord == 2:
        return unary("sqrt", ctx.reduce(binary("mul", x, x), dims, "sum", keepdim))
    if ord < 0 and reduced_count(x, dims) == 0:
        raise Unsupported(f"linalg_vector_norm with ord={ord} of an empty dimension")
    s = ctx.reduce(_power(a, ord), dims, "sum", keepdim)
    return _power(s, 1.0 / ord)


# checked for float64 (exp and log of float64: csrc/wat/math_f64.wat)
float64_ops(aten.linalg_vector_norm.default)
