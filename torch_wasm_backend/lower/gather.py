"""Data-dependent indexing: embedding, index_select, gather and advanced indexing, as
bounds-checked indirect loads (an index out of range traps, as PyTorch raises); ``indirect``
and ``stored_table`` are the helpers other rules (scatter, reductions) build on."""

from __future__ import annotations

import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported, static_int
from .registry import broadcast_to, float64_ops, lower

aten = torch.ops.aten


def _as_i32_index(v: ir.Expr, size: int, lowest: int) -> ir.Expr:
    """``v`` as i32. An i64 value outside [lowest, size) becomes ``size`` first, so that
    the bounds check traps on it instead of the cast wrapping it into range (2**32 + 1
    would become 1)."""
    if v.dtype == "i32":
        return v
    if v.dtype == "i64":
        bad = ir.Op("or", (ir.Op("ge", (v, ir.Const(size, "i64")), "bool"),
                           ir.Op("lt", (v, ir.Const(lowest, "i64")), "bool")), "bool")
        v = ir.Op("where", (bad, ir.Const(size, "i64"), v), "i64")
    return ir.Op("cast", (v,), "i32")


def _gather_index(idx_value: ir.Expr, size: int) -> ir.Expr:
    """An i32 index, with negative values wrapped as PyTorch's advanced indexing does."""
    i = _as_i32_index(idx_value, size, -size)
    neg = ir.Op("lt", (i, ir.Const(0, "i32")), "bool")
    return ir.Op("where", (neg, ir.Op("add", (i, ir.Const(size, "i32")), "i32"), i), "i32")


def indirect(table: TensorValue, dim: int, index_expr: ir.Expr, idx_rest: tuple, sym_name: str, wrap: bool):
    """Load ``table`` at ``index_expr`` along ``dim`` and ``idx_rest`` elsewhere."""
    size = static_int(table.shape[dim], "indexing")
    sym = sympy.Symbol(sym_name, integer=True, nonnegative=True)
    full = list(idx_rest)
    full.insert(dim, sym)
    base = table.load(tuple(full))
    if not isinstance(base, ir.Load):
        raise Unsupported("indexing into a computed (non-stored) tensor")
    e = _gather_index(index_expr, size) if wrap else _as_i32_index(index_expr, size, 0)
    return ir.Load(base.buffer, base.index, base.dtype, base.indirect + ((sym, e, size),))


def stored_table(ctx, t: TensorValue) -> TensorValue:
    """``t`` if it is a view of a buffer (indexable by an indirect load), else realised."""
    return t if ctx.strided(t) is not None else ctx.realize(t)


@lower(aten.embedding.default)
def embedding(ctx, node, weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    weight = stored_table(ctx, weight)
    shape = tuple(indices.shape) + (weight.shape[1],)
    k = indices.ndim
    sym = ctx.name("e")
    return TensorValue(shape, weight.dtype, lambda idx: indirect(
        weight, 0, indices.load(idx[:k]), (idx[k],), sym, wrap=False))


@lower(aten.index_select.default)
def index_select(ctx, node, x, dim, index):
    if x.ndim == 0:  # a 0-d input is a one-element table; the result is 0-d again
        from .views import reshape

        out = index_select(ctx, node, reshape(x, [1]), 0, index)
        return reshape(out, list(node.meta["val"].shape))
    x = stored_table(ctx, x)
    dim %= max(x.ndim, 1)
    shape = tuple(x.shape[:dim]) + (index.shape[0] if index.ndim else sympy.Integer(1),) + tuple(x.shape[dim + 1:])
    sym = ctx.name("s")
    return TensorValue(shape, x.dtype, lambda idx: indirect(
        x, dim, index.load((idx[dim],) if index.ndim else ()), idx[:dim] + idx[dim + 1:], sym, wrap=False))


@lower(aten.gather.default)
def gather(ctx, node, x, dim, index, sparse_grad=False):
    x = stored_table(ctx, x)
    dim %= max(x.ndim, 1)
    sym = ctx.name("g")
    return TensorValue(index.shape, x.dtype, lambda idx: indirect(
        x, dim, index.load(idx), idx[:dim] + idx[dim + 1:], sym, wrap=False))


@lower(aten.index.Tensor)
def index(ctx, node, x, indices):
    """``x[i0, i1, ...]`` with index tensors on leading dims (``None`` skips a dim)."""
    x = stored_table(ctx, x)
    if any(i is not None and i.dtype in ("bool", "u8") for i in indices):  # PyTorch reads uint8 as a mask
        raise Unsupported("boolean mask indexing (data-dependent output shape)")
    dims = [d for d, i in enumerate(indices) if i is not None]
    if dims != list(range(dims[0], dims[0] + len(dims))):
        raise Unsupported("non-adjacent advanced indices")
    from .registry import broadcast_shapes

    tensors = [indices[d] for d in dims]
    bshape = broadcast_shapes(*[t.shape for t in tensors])
    tensors = [broadcast_to(t, bshape) for t in tensors]
    first, nb = dims[0], len(bshape)
    out_shape = tuple(x.shape[:first]) + tuple(bshape) + tuple(x.shape[first + len(dims):])
    syms = [sympy.Symbol(ctx.name("x"), integer=True, nonnegative=True) for _ in dims]

    def loader(idx):
        bidx = idx[first:first + nb]
        full = list(idx[:first]) + list(syms) + list(idx[first + nb:])
        base = x.load(tuple(full))
        ind = tuple((s, _gather_index(t.load(bidx), static_int(x.shape[d], "indexing")),
                     static_int(x.shape[d], "indexing"))
                    for s, t, d in zip(syms, tensors, dims))
        return ir.Load(base.buffer, base.index, base.dtype, base.indirect + ind)

    return TensorValue(out_shape, x.dtype, loader)


# checked for float64 (data movement: no arithmetic on the values)
float64_ops(aten.embedding.default, aten.gather.default, aten.index.Tensor, aten.index_select.default)
