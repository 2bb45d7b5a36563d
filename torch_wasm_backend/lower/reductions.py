"""Reductions: each becomes a ``Reduce`` kernel whose body inlines the lazy input."""

from __future__ import annotations

import torch

from .. import ir
from ..target import WIDENED
from .core import TensorValue, Unsupported, static_int
from .gather import indirect, stored_table
from .pointwise import binary, const_like, count_like, unary
from .registry import cast, float64_ops, ir_dtype, lower
from .views import permute

aten = torch.ops.aten


def reduce_dims(x: TensorValue, dim) -> tuple:
    if dim is None or dim == [] or dim == ():
        return tuple(range(x.ndim))
    if isinstance(dim, int):
        dim = [dim]
    n = max(x.ndim, 1)
    return tuple(sorted({d % n for d in dim})) if x.ndim else ()


def reduced_count(x: TensorValue, dims):
    """Number of elements reduced: an int, or a sympy expression for symbolic sizes."""
    import sympy

    n = sympy.Mul(*[x.shape[d] for d in dims])
    return int(n) if n.is_Integer else n


def _check_nonempty(x, dims, what):
    if reduced_count(x, dims) == 0:
        raise Unsupported(f"{what} of an empty dimension (PyTorch raises)")


def _accumulator(node) -> str:
    """The dtype a sum or product accumulates in: its result's, but float32 for a float16
    result (rounded once at the end, as PyTorch's CPU kernel; int32 for uint8/int16)."""
    out = ir_dtype(node.meta["val"].dtype)
    return WIDENED.get(out, out)


@lower(aten.sum.dim_IntList, aten.sum.default)
def sum_(ctx, node, x, dim=None, keepdim=False, dtype=None):
    out = _accumulator(node)
    return ctx.reduce(cast(x, out), reduce_dims(x, dim), "sum", keepdim)


@lower(aten.prod.default, aten.prod.dim_int)
def prod(ctx, node, x, dim=None, keepdim=False, dtype=None):
    out = _accumulator(node)
    return ctx.reduce(cast(x, out), reduce_dims(x, dim), "prod", keepdim)


@lower(aten.mean.dim, aten.mean.default)
def mean(ctx, node, x, dim=None, keepdim=False, dtype=None):
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"mean of {x.dtype}")
    dims = reduce_dims(x, dim)
    s = ctx.reduce(x, dims, "sum", keepdim)
    n = reduced_count(x, dims)
    return binary("div", s, count_like(s, n)) if n != 0 else binary("mul", s, const_like(s, float("nan")))


def _minmax(op):
    def rule(ctx, node, x, dim=None, keepdim=False):
        dims = reduce_dims(x, dim)
        _check_nonempty(x, dims, op)
        v = cast(x, "i32") if x.dtype == "bool" else x
        r = ctx.reduce(v, dims, op, keepdim)
        return cast(r, x.dtype)

    return rule


lower(aten.amax.default)(_minmax("max"))
lower(aten.amin.default)(_minmax("min"))
lower(aten.max.default)(_minmax("max"))
lower(aten.min.default)(_minmax("min"))


def _arg(op):
    def rule(ctx, node, x, dim=None, keepdim=False):
        if x.dtype == "bool":
            raise Unsupported(f"{op} of a bool tensor (PyTorch raises)")
        if dim is None:
            from .views import reshape

            x = reshape(x, [-1])
            dim, keepdim_shape = 0, keepdim
        else:
            keepdim_shape = keepdim
        dims = reduce_dims(x, dim)
        _check_nonempty(x, dims, op)
        v = cast(x, "i32") if x.dtype == "bool" else x
        r = ctx.reduce(v, dims, op, keepdim_shape)
        if node.args[1:2] in ((), (None,)) and keepdim:
            from .views import reshape

            r = reshape(r, [1] * len(node.args[0].meta["val"].shape))
        return r

    return rule


lower(aten.argmax.default)(_arg("argmax"))
lower(aten.argmin.default)(_arg("argmin"))


def _minmax_dim(op):
    def rule(ctx, node, x, dim, keepdim=False):
        dims = reduce_dims(x, dim)
        _check_nonempty(x, dims, op)
        v = cast(x, "i32") if x.dtype == "bool" else x
        values = cast(ctx.reduce(v, dims, op, keepdim), x.dtype)
        indices = ctx.reduce(v, dims, "arg" + op, keepdim)
        return [values, indices]

    return rule


lower(aten.max.dim)(_minmax_dim("max"))
lower(aten.min.dim)(_minmax_dim("min"))


@lower(aten.var.correction, aten.var.dim)
def var(ctx, node, x, dim=None, unbiased=None, keepdim=False, correction=None):
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"var of {x.dtype}")
    if isinstance(unbiased, bool) and correction is None:
        correction = 1 if unbiased else 0
    correction = 1 if correction is None else correction
    dims = reduce_dims(x, dim)
    n = reduced_count(x, dims)
    m = binary("div", ctx.reduce(x, dims, "sum", True), count_like(x, max(n, 1) if isinstance(n, int) else n))
    from .registry import broadcast_to

    d = binary("sub", x, broadcast_to(m, x.shape))
    ss = ctx.reduce(binary("mul", d, d), dims, "sum", keepdim)
    denom = max(n - correction, 0) if isinstance(n, int) else n - correction
    return binary("div", ss, count_like(ss, denom))


@lower(aten.var_mean.correction, aten.var_mean.dim)
def var_mean(ctx, node, x, dim=None, unbiased=None, keepdim=False, correction=None):
    v = var(ctx, node, x, dim, unbiased, keepdim, correction)
    return [v, mean(ctx, node, x, reduce_dims(x, dim), keepdim)]


@lower(aten.any.default, aten.any.dim, aten.any.dims)
def any_(ctx, node, x, dim=None, keepdim=False):
    r = ctx.reduce(cast(cast(x, "bool"), "i32"), reduce_dims(x, dim), "sum", keepdim)
    return binary("ne", r, const_like(r, 0), "bool")


@lower(aten.all.default, aten.all.dim, aten.all.dims)
def all_(ctx, node, x, dim=None, keepdim=False):
    nb = unary("not", cast(x, "bool"), "bool")
    r = ctx.reduce(cast(nb, "i32"), reduce_dims(x, dim), "sum", keepdim)
    return binary("eq", r, const_like(r, 0), "bool")


TOPK_MAX = 2048  # the rank formulation below is O(n^2) per row


def _beats(a: ir.Expr, b: ir.Expr, largest: bool) -> ir.Expr:
    """``a`` comes before ``b`` in top-k order; NaN counts as larger than everything."""
    def op(name, *args):
        return ir.Op(name, args, "bool")

    out = op("gt" if largest else "lt", a, b)
    if a.dtype not in ir.FLOATS:
        return out
    nan_a, nan_b = op("isnan", a), op("isnan", b)
    nan_first = op("and", nan_a, op("not", nan_b)) if largest else op("and", op("not", nan_a), nan_b)
    return op("or", out, nan_first)


@lower(aten.topk.default)
def topk(ctx, node, x, k, dim=-1, largest=True, sorted=True):
    """Rank each element by how many elements come before it (larger, or equal with a
    lower index; NaN largest), then pick for output slot p the element of rank p: two
    ``Reduce`` kernels, O(n^2) and O(n*k) per row, and a gather of the values.

    Among equal values the lower index comes first (a stable order). PyTorch's CPU kernel
    uses std::nth_element/partial_sort, whose order among equal values is unspecified (it
    is this one for rows of at most 3 elements); the values always agree. ``sorted=False``
    gets the sorted result, which is one of the orders it allows."""
    if x.dtype == "bool":
        raise Unsupported("topk of a bool tensor (PyTorch raises)")
    if x.ndim == 0:
        if k != 1:
            raise Unsupported(f"topk k={k} of a 0-d tensor")
        return [x, const_like(cast(x, "i64"), 0)]
    dim %= x.ndim
    n = static_int(x.shape[dim], "topk")
    if n > TOPK_MAX:
        raise Unsupported(f"topk over {n} > {TOPK_MAX} elements (the O(n^2) rank formulation is too slow)")
    if not 0 <= k <= n:
        raise Unsupported(f"topk k={k} out of range for a dimension of {n} (PyTorch raises)")
    order = [d for d in range(x.ndim) if d != dim] + [dim]
    xt = stored_table(ctx, permute(ctx, node, x, order))  # the top-k dim last
    lead = tuple(xt.shape[:-1])
    nl = len(lead)

    def before(idx):  # element r comes before element i
        p, i, r = idx[:nl], idx[nl], idx[nl + 1]
        a, b = xt.load(p + (r,)), xt.load(p + (i,))
        lower_index = ir.Op("lt", (ir.Index(r, "i32"), ir.Index(i, "i32")), "bool")
        tie_first = ir.Op("and", (lower_index, ir.Op("not", (_beats(b, a, largest),), "bool")), "bool")
        return ir.Op("cast", (ir.Op("or", (_beats(a, b, largest), tie_first), "bool"),), "i32")

    rank = ctx.reduce(TensorValue(lead + (n, n), "i32", before), (nl + 1,), "sum", False)

    def pick(idx):  # the position r whose rank is the output slot
        p, slot, r = idx[:nl], idx[nl], idx[nl + 1]
        hit = ir.Op("eq", (rank.load(p + (r,)), ir.Index(slot, "i32")), "bool")
        return ir.Op("where", (hit, ir.Index(r, "i32"), ir.Const(0, "i32")), "i32")

    pos = ctx.reduce(TensorValue(lead + (k, n), "i32", pick), (nl + 1,), "sum", False)
    sym = ctx.name("tk")
    values = TensorValue(pos.shape, x.dtype, lambda idx: indirect(xt, nl, pos.load(idx), idx[:nl], sym, wrap=False))
    back = [order.index(d) for d in range(x.ndim)]
    return [permute(ctx, node, values, back), permute(ctx, node, cast(pos, "i64"), back)]


# checked for float64: sums and products accumulate in float64, as PyTorch's
float64_ops(aten.sum.dim_IntList, aten.sum.default, aten.prod.default, aten.prod.dim_int, aten.mean.dim,
            aten.mean.default, aten.amax.default, aten.amin.default, aten.max.default, aten.min.default,
            aten.argmax.default, aten.argmin.default, aten.max.dim, aten.min.dim, aten.var.correction,
            aten.var.dim, aten.var_mean.correction, aten.var_mean.dim, aten.any.default, aten.any.dim,
            aten.any.dims, aten.all.default, aten.all.dim, aten.all.dims, aten.topk.default)
