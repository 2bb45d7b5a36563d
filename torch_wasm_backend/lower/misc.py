"""Tensor factories and data-dependent indexing (embedding, index_select, gather)."""

from __future__ import annotations

import numpy as np
import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported, static_int
from .registry import cast, ir_dtype, lower, scalar_value
from .registry import broadcast_to

aten = torch.ops.aten


def _factory_dtype(node) -> str:
    return ir_dtype(node.meta["val"].dtype)


@lower(aten.full.default, aten.scalar_tensor.default)
def full(ctx, node, size, value=None, **kwargs):
    if value is None:  # scalar_tensor(value)
        size, value = [], size
    dtype = _factory_dtype(node)
    return broadcast_to(scalar_value(value, dtype), tuple(sympy.sympify(s) for s in size))


@lower(aten.zeros.default)
def zeros(ctx, node, size, **kwargs):
    return full(ctx, node, size, 0)


@lower(aten.empty.memory_format)
def empty(ctx, node, size, **kwargs):
    return full(ctx, node, size, 0)  # uninitialised in PyTorch: zeros are as good as anything


@lower(aten.empty_like.default)
def empty_like(ctx, node, x, **kwargs):
    return full(ctx, node, list(x.shape), 0)


@lower(aten.ones.default)
def ones(ctx, node, size, **kwargs):
    return full(ctx, node, size, 1)


@lower(aten.full_like.default)
def full_like(ctx, node, x, value, **kwargs):
    return full(ctx, node, list(x.shape), value)


@lower(aten.zeros_like.default)
def zeros_like(ctx, node, x, **kwargs):
    return full(ctx, node, list(x.shape), 0)


@lower(aten.ones_like.default)
def ones_like(ctx, node, x, **kwargs):
    return full(ctx, node, list(x.shape), 1)


@lower(aten.arange.start_step, aten.arange.default, aten.arange.start)
def arange(ctx, node, *args, **kwargs):
    dtype = _factory_dtype(node)
    from . import size_expr

    n = size_expr(node.meta["val"].shape[0])
    pos = [a for a in args if isinstance(a, (int, float))]
    start, step = (0, 1) if len(pos) <= 1 else (pos[0], pos[2] if len(pos) > 2 else 1)
    if dtype == "f32":
        return TensorValue((n,), "f32", lambda idx: ir.Op("add", (
            ir.Const(float(start), "f32"),
            ir.Op("mul", (ir.Op("cast", (ir.Index(idx[0], "i32"),), "f32"), ir.Const(float(step), "f32")), "f32")),
            "f32"))
    if not (isinstance(start, int) and isinstance(step, int)):
        raise Unsupported("integer arange with float bounds")
    return TensorValue((n,), dtype, lambda idx: ir.Index(start + step * idx[0], dtype))


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


def _indirect(table: TensorValue, dim: int, index_expr: ir.Expr, idx_rest: tuple, sym_name: str, wrap: bool):
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


def _stored_table(ctx, t: TensorValue) -> TensorValue:
    return t if ctx.strided(t) is not None else ctx.realize(t)


@lower(aten.embedding.default)
def embedding(ctx, node, weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    weight = _stored_table(ctx, weight)
    shape = tuple(indices.shape) + (weight.shape[1],)
    k = indices.ndim
    sym = ctx.name("e")
    return TensorValue(shape, weight.dtype, lambda idx: _indirect(
        weight, 0, indices.load(idx[:k]), (idx[k],), sym, wrap=False))


@lower(aten.index_select.default)
def index_select(ctx, node, x, dim, index):
    if x.ndim == 0:  # a 0-d input is a one-element table; the result is 0-d again
        from .views import reshape

        out = index_select(ctx, node, reshape(x, [1]), 0, index)
        return reshape(out, list(node.meta["val"].shape))
    x = _stored_table(ctx, x)
    dim %= max(x.ndim, 1)
    shape = tuple(x.shape[:dim]) + (index.shape[0] if index.ndim else sympy.Integer(1),) + tuple(x.shape[dim + 1:])
    sym = ctx.name("s")
    return TensorValue(shape, x.dtype, lambda idx: _indirect(
        x, dim, index.load((idx[dim],) if index.ndim else ()), idx[:dim] + idx[dim + 1:], sym, wrap=False))


@lower(aten.gather.default)
def gather(ctx, node, x, dim, index, sparse_grad=False):
    x = _stored_table(ctx, x)
    dim %= max(x.ndim, 1)
    sym = ctx.name("g")
    return TensorValue(index.shape, x.dtype, lambda idx: _indirect(
        x, dim, index.load(idx), idx[:dim] + idx[dim + 1:], sym, wrap=False))


@lower(aten.index.Tensor)
def index(ctx, node, x, indices):
    """``x[i0, i1, ...]`` with index tensors on leading dims (``None`` skips a dim)."""
    x = _stored_table(ctx, x)
    if any(i is not None and i.dtype == "bool" for i in indices):
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


@lower(aten.masked_fill.Scalar, aten.masked_fill.Tensor)
def masked_fill(ctx, node, x, mask, value):
    from .registry import broadcast_shapes

    shape = broadcast_shapes(x.shape, mask.shape)
    v = value if isinstance(value, TensorValue) else scalar_value(value, x.dtype)
    v, m, xx = broadcast_to(cast(v, x.dtype), shape), broadcast_to(mask, shape), broadcast_to(x, shape)
    return TensorValue(shape, x.dtype, lambda idx: ir.Op("where", (m.load(idx), v.load(idx), xx.load(idx)), x.dtype))


def trap_unless(ctx, ok: TensorValue) -> TensorValue:
    """A kernel that traps wherever the bool value ``ok`` is false (PyTorch raises there).
    It loads a one-element table through an indirect index that is 0 when ``ok`` holds and
    out of range (1) otherwise; the emitted bounds check does the trapping. Returns the
    (all false) buffer it writes, which nothing needs to read."""
    if ok.numel() == 0:
        return ok
    table = ctx.constant(np.zeros((), np.bool_), "bool").load(()).buffer
    sym = sympy.Symbol(ctx.name("ok"), integer=True, nonnegative=True)

    def loader(idx):
        flag = ir.Op("where", (ok.load(idx), ir.Const(0, "i32"), ir.Const(1, "i32")), "i32")
        return ir.Load(table, sym, "bool", ((sym, flag, 1),))

    return ctx.realize(TensorValue(ok.shape, "bool", loader))


@lower(aten._assert_async.msg, aten._assert_async.default)
def assert_async(ctx, node, cond, assert_msg=None):
    """A run-time check (e.g. ``one_hot``'s class range): a kernel that traps unless
    ``cond`` holds, as PyTorch raises. The op returns nothing; the check's buffer is
    returned anyway, so that the one-node graphs of ``partition.py`` have an output."""
    return trap_unless(ctx, cast(cond, "bool"))
