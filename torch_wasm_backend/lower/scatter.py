"""Scatters written as gathers: ``scatter``, ``scatter_add``, ``scatter_reduce``, ``index_add``,
``index_reduce``, ``index_put``.

The IR has no scattered store, so every output element looks for the input positions that
write to it: ``out[j] = self[j] + sum_r src[r] * (index[r] == j)`` becomes one ``Reduce``
over the index positions ``r`` (a ``where``, not a product, so NaN and Inf elsewhere do not
leak in). That is O(numel(out) * numel(index)) work instead of O(numel(index)): fine for
the small scatters of routing and of backward graphs (top-k gradients, embedding-style
gathers), not for a scatter into a large tensor. Plain writes (``scatter``,
``index_put`` without ``accumulate``) take the last matching position (a ``max``
reduction), which is what PyTorch's CPU kernels leave for duplicate indices, and copy that
element with an indirect load, so values are copied bit for bit.

An index out of range would simply match nothing here, while PyTorch raises: a small
checking kernel per index tensor traps first (``unreachable``, like an out-of-range gather).
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from ..indexing import FloorDiv, ModIndex, contiguous_strides, linear_index
from .core import TensorValue, Unsupported, static_int
from .gather import stored_table
from .masks import trap_unless
from .pointwise import binary, const_like
from .registry import broadcast_shapes, broadcast_to, cast, float64_ops, lower, scalar_value

aten = torch.ops.aten


def check_index(ctx, index: TensorValue, size, negative: bool = False) -> TensorValue:
    """Trap unless every index lies in ``[0, size)`` (``[-size, size)`` with ``negative``,
    wrapped as advanced indexing does); return the index as an in-range i32 value."""
    if index.dtype not in ("i32", "i64"):
        raise Unsupported(f"index of dtype {index.dtype}")
    size = static_int(size, "scatter")
    lo = const_like(index, -size if negative else 0)
    ok = binary("and", binary("ge", index, lo, "bool"), binary("lt", index, const_like(index, size), "bool"), "bool")
    trap_unless(ctx, ok)
    i = cast(index, "i32")  # exact once the range is checked
    if not negative:
        return i
    return TensorValue(i.shape, "i32", lambda idx: _wrap(i.load(idx), size))


def _wrap(e: ir.Expr, size: int) -> ir.Expr:
    neg = ir.Op("lt", (e, ir.Const(0, "i32")), "bool")
    return ir.Op("where", (neg, ir.Op("add", (e, ir.Const(size, "i32")), "i32"), e), "i32")


def _index_eq(i: ir.Expr, coord) -> ir.Expr:
    return ir.Op("eq", (i, ir.Index(coord, "i32")), "bool")


def _pairs(out_shape, red_shape, dtype, body) -> TensorValue:
    """The value ``body(j, r)`` over output positions ``j`` and reduction positions ``r``."""
    n = len(out_shape)
    return TensorValue(tuple(out_shape) + tuple(red_shape), dtype, lambda idx: body(idx[:n], idx[n:]))


def sum_matches(ctx, base: TensorValue, red_shape, match, value) -> TensorValue:
    """``base[j] + sum over r with match(j, r) of value(j, r)``."""
    zero = ir.Const(0.0 if base.dtype in ir.FLOATS else 0, base.dtype)
    v = _pairs(base.shape, red_shape, base.dtype,
               lambda j, r: ir.Op("where", (match(j, r), value(j, r), zero), base.dtype))
    n = base.ndim
    return binary("add", base, ctx.reduce(v, tuple(range(n, n + len(red_shape))), "sum", False))


_COMBINE = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min"}


def reduce_matches(ctx, base: TensorValue, red_shape, match, value, reduce: str, include_self: bool) -> TensorValue:
    """PyTorch's ``scatter_reduce``/``index_reduce``: ``reduce`` ("sum", "prod", "amax", "amin",
    "mean") of ``value(j, r)`` over the ``r`` with ``match(j, r)``, combined with ``base[j]``
    (``include_self``) or replacing it where anything matches. Non-matching positions take the
    reduction's identity (a ``where``), so NaN elsewhere does not leak in; ``amax``/``amin``
    propagate NaN as PyTorch's kernels do. Float sums and products may round differently from
    PyTorch's sequential order; max and min are exact."""
    dt = base.dtype
    if reduce not in (*_COMBINE, "mean"):
        raise Unsupported(f"scatter reduction {reduce!r}")
    if dt == "bool" or (reduce == "mean" and dt not in ir.FLOATS):
        raise Unsupported(f"scatter reduction {reduce!r} of a {dt} tensor")
    n = base.ndim
    dims = tuple(range(n, n + len(red_shape)))
    fl = dt in ir.FLOATS
    big = float("inf") if fl else (2**31 - 1 if dt == "i32" else 2**63 - 1)
    identity = {"sum": 0, "mean": 0, "prod": 1, "amax": -big if fl else -big - 1, "amin": big}[reduce]
    ident = ir.Const(float(identity) if fl else identity, dt)
    v = _pairs(base.shape, red_shape, dt, lambda j, r: ir.Op("where", (match(j, r), value(j, r), ident), dt))
    red = ctx.reduce(v, dims, {"sum": "sum", "mean": "sum", "prod": "prod", "amax": "max", "amin": "min"}[reduce],
                     False)
    ones = _pairs(base.shape, red_shape, "i32", lambda j, r: ir.Op(
        "where", (match(j, r), ir.Const(1, "i32"), ir.Const(0, "i32")), "i32"))
    count = ctx.reduce(ones, dims, "sum", False)
    if reduce == "mean":
        total = binary("add", base, red) if include_self else red
        n_in = binary("add", count, const_like(count, 1)) if include_self else count
        red = binary("div", total, cast(n_in, dt))
    elif include_self:
        return binary(_COMBINE[reduce], base, red)
    hit = binary("gt", count, const_like(count, 0), "bool")
    return TensorValue(base.shape, dt, lambda j: ir.Op("where", (hit.load(j), red.load(j), base.load(j)), dt))


def last_match(ctx, out_shape, red_shape, match) -> TensorValue:
    """The last (row-major) reduction position ``r`` with ``match(j, r)``, or -1 (i32)."""
    strides = contiguous_strides(red_shape)
    v = _pairs(out_shape, red_shape, "i32", lambda j, r: ir.Op(
        "where", (match(j, r), ir.Index(linear_index(r, strides), "i32"), ir.Const(-1, "i32")), "i32"))
    n = len(out_shape)
    return ctx.reduce(v, tuple(range(n, n + len(red_shape))), "max", False)


def write_last(ctx, base: TensorValue, last: TensorValue, table_at) -> TensorValue:
    """``table_at(j, e)`` (an indirect load at flat position ``e``) where ``last[j] >= 0``,
    else ``base[j]``. The position is clamped at 0 first: ``where`` evaluates both sides."""
    def loader(j):
        p = last.load(j)
        hit = ir.Op("ge", (p, ir.Const(0, "i32")), "bool")
        e = ir.Op("max", (p, ir.Const(0, "i32")), "i32")
        return ir.Op("where", (hit, table_at(j, e), base.load(j)), base.dtype)

    return TensorValue(base.shape, base.dtype, loader)


def indirect_at(ctx, table: TensorValue, full_idx, sym, e: ir.Expr, bound) -> ir.Expr:
    """``table`` loaded at ``full_idx`` (which uses ``sym``), ``sym`` bound to ``e``."""
    base = table.load(tuple(full_idx))
    if not isinstance(base, ir.Load) or base.indirect:
        raise Unsupported("scatter source is not a plain view of a buffer")
    return ir.Load(base.buffer, base.index, base.dtype, ((sym, e, static_int(bound, "scatter")),))


# --------------------------------------------------------------------------- scatter
def _scatter_args(x, dim, index):
    """The scatter dim and the other dims where the index is shorter than self (PyTorch
    allows it: positions beyond the index's extent are not written)."""
    if x.ndim == 0 or index.ndim != x.ndim:
        raise Unsupported(f"scatter of a {x.ndim}-d tensor with a {index.ndim}-d index")
    dim %= x.ndim
    short = []
    for d in range(x.ndim):
        if d != dim and sympy.sympify(index.shape[d] - x.shape[d]) != 0:
            if not (sympy.sympify(index.shape[d]).is_Integer and sympy.sympify(x.shape[d]).is_Integer):
                raise Unsupported("scatter with an index shorter than self (symbolic sizes) outside the scatter dim")
            short.append(d)
    return dim, short


def _scatter(ctx, node, x, dim, index, src, mode):
    dim, short = _scatter_args(x, dim, index)
    m = index.shape[dim]
    if m == 0 or any(index.shape[d] == 0 for d in short):
        return x
    i = check_index(ctx, index, x.shape[dim])

    def at(j, r):  # index (and src) coordinates of output position j, clamped where the index is shorter
        c = [sympy.Min(j[d], int(index.shape[d]) - 1) if d in short else j[d] for d in range(x.ndim)]
        return tuple(c[:dim]) + (r[0],) + tuple(c[dim + 1:])

    def match(j, r):
        eq = _index_eq(i.load(at(j, r)), j[dim])
        for d in short:
            inside = ir.Op("lt", (ir.Index(j[d], "i32"), ir.Const(int(index.shape[d]), "i32")), "bool")
            eq = ir.Op("and", (eq, inside), "bool")
        return eq

    if mode == "add":
        return sum_matches(ctx, x, (m,), match, lambda j, r: src.load(at(j, r)))
    if isinstance(mode, tuple):  # ("reduce", reduction, include_self)
        return reduce_matches(ctx, x, (m,), match, lambda j, r: src.load(at(j, r)), mode[1], mode[2])
    last = last_match(ctx, x.shape, (m,), match)
    if mode == "value":
        return write_last(ctx, x, last, lambda j, e: src.load(()))
    table = stored_table(ctx, src)
    sym = sympy.Symbol(ctx.name("sc"), integer=True, nonnegative=True)
    return write_last(ctx, x, last, lambda j, e: indirect_at(ctx, table, at(j, (sym,)), sym, e, m))


@lower(aten.scatter.src)
def scatter_src(ctx, node, x, dim, index, src):
    return _scatter(ctx, node, x, dim, index, cast(src, x.dtype), "src")


@lower(aten.scatter.value)
def scatter_value(ctx, node, x, dim, index, value):
    return _scatter(ctx, node, x, dim, index, scalar_value(value, x.dtype), "value")


@lower(aten.scatter_add.default)
def scatter_add(ctx, node, x, dim, index, src):
    if x.dtype == "bool":
        raise Unsupported("scatter_add of a bool tensor")
    return _scatter(ctx, node, x, dim, index, cast(src, x.dtype), "add")


@lower(aten.scatter_reduce.two)
def scatter_reduce(ctx, node, x, dim, index, src, reduce, include_self=True):
    return _scatter(ctx, node, x, dim, index, cast(src, x.dtype), ("reduce", reduce, bool(include_self)))


_SCATTER_REDUCE = {"add": "sum", "multiply": "prod"}  # scatter(..., reduce=) names


@lower(aten.scatter.reduce, aten.scatter.value_reduce)
def scatter_with_reduce(ctx, node, x, dim, index, src, reduce):
    if reduce not in _SCATTER_REDUCE:
        raise Unsupported(f"scatter(reduce={reduce!r})")
    src = cast(src, x.dtype) if isinstance(src, TensorValue) else \
        broadcast_to(scalar_value(src, x.dtype), index.shape)  # scatter.value_reduce: a scalar
    return _scatter(ctx, node, x, dim, index, src, ("reduce", _SCATTER_REDUCE[reduce], True))


def _index_along(ctx, what: str, x, dim, index, source):
    """index_add / index_reduce: (dim, len(index), the checked index, source in x's dtype), or
    None when the index is empty (x unchanged)."""
    if x.ndim == 0 or index.ndim != 1:
        raise Unsupported(f"{what} of a {x.ndim}-d {x.dtype} tensor with a {index.ndim}-d index")
    dim %= x.ndim
    m = index.shape[0]
    if m == 0:
        return None
    return dim, m, check_index(ctx, index, x.shape[dim]), cast(source, x.dtype)


@lower(aten.index_reduce.default)
def index_reduce(ctx, node, x, dim, index, source, reduce, include_self=True):
    if x.ndim == 0 and index.ndim == 1 and source.ndim == 0:  # a scalar self is a 1-element vector
        from .views import reshape

        out = index_reduce(ctx, node, reshape(x, (1,)), 0, index, reshape(source, (1,)), reduce, include_self)
        return reshape(out, ())
    setup = _index_along(ctx, "index_reduce", x, dim, index, source)
    if setup is None:
        return x
    dim, m, i, source = setup
    return reduce_matches(ctx, x, (m,), lambda j, r: _index_eq(i.load((r[0],)), j[dim]),
                          lambda j, r: source.load(tuple(j[:dim]) + (r[0],) + tuple(j[dim + 1:])),
                          reduce, bool(include_self))


@lower(aten.index_add.default)
def index_add(ctx, node, x, dim, index, source, alpha=1):
    if x.dtype == "bool":
        raise Unsupported(f"index_add of a {x.ndim}-d {x.dtype} tensor with a {index.ndim}-d index")
    setup = _index_along(ctx, "index_add", x, dim, index, source)
    if setup is None:
        return x
    dim, m, i, source = setup
    if alpha != 1:
        source = binary("mul", source, const_like(source, alpha))
    return sum_matches(ctx, x, (m,), lambda j, r: _index_eq(i.load((r[0],)), j[dim]),
                      lambda j, r: source.load(tuple(j[:dim]) + (r[0],) + tuple(j[dim + 1:])))


@lower(aten.index_put.default)
def index_put(ctx, node, x, indices, values, accumulate=False):
    """``x[i0, i1, ...] = values`` (``+=`` with accumulate) for index tensors on adjacent
    dims (``None`` skips a dim), negative indices wrapped."""
    if any(t is not None and t.dtype in ("bool", "u8") for t in indices):  # PyTorch reads uint8 as a mask
        raise Unsupported("index_put with a boolean mask (data-dependent positions)")
    dims = [d for d, t in enumerate(indices) if t is not None]
    if not dims or dims != list(range(dims[0], dims[0] + len(dims))):
        raise Unsupported("index_put with non-adjacent (or no) index tensors")
    if accumulate and x.dtype == "bool":
        raise Unsupported("index_put accumulate into a bool tensor")
    first, k = dims[0], len(dims)
    bshape = broadcast_shapes(*[indices[d].shape for d in dims])
    if sympy.Mul(*bshape) == 0:
        return x
    checked = [broadcast_to(check_index(ctx, indices[d], x.shape[d], negative=True), bshape) for d in dims]
    nb = len(bshape)
    res_shape = tuple(x.shape[:first]) + tuple(bshape) + tuple(x.shape[first + k:])
    values = broadcast_to(cast(values, x.dtype), res_shape)

    def at(j, b):
        return tuple(j[:first]) + tuple(b) + tuple(j[first + k:])

    def match(j, b):
        conds = [_index_eq(t.load(tuple(b)), j[d]) for t, d in zip(checked, dims)]
        out = conds[0]
        for c in conds[1:]:
            out = ir.Op("and", (out, c), "bool")
        return out

    if accumulate:
        return sum_matches(ctx, x, bshape, match, lambda j, b: values.load(at(j, b)))
    last = last_match(ctx, x.shape, bshape, match)
    table = stored_table(ctx, values)
    sym = sympy.Symbol(ctx.name("ip"), integer=True, nonnegative=True)
    strides = contiguous_strides(bshape)
    # the flat position back to coordinates of the broadcast index shape
    b = [sym] if nb == 1 else [ModIndex(FloorDiv(sym, s), n) for s, n in zip(strides, bshape)]
    return write_last(ctx, x, last, lambda j, e: indirect_at(ctx, table, at(j, b), sym, e, sympy.Mul(*bshape)))


# checked for float64 (sums, products, extremes and selections in the values' dtype)
float64_ops(aten.scatter.src, aten.scatter.value, aten.scatter_add.default, aten.scatter_reduce.two,
            aten.scatter.reduce, aten.scatter.value_reduce, aten.index_reduce.default, aten.index_add.default,
            aten.index_put.default)
