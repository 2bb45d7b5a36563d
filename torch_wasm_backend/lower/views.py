"""View operators: new loaders that remap indices, never a copy.

A reshape of a contiguous buffer simplifies back to plain strides (see
``indexing.simplify``); a reshape that truly needs a copy is realised only where a
consumer needs strides (matmul operands, graph outputs).
"""

from __future__ import annotations

import operator

import numpy as np
import sympy
import torch

from ..indexing import FloorDiv, ModIndex, contiguous_strides
from .core import TensorValue, Unsupported, buffer_numel, size_expr, static_int, stored, strided
from .registry import broadcast_to, float64_ops, lower

aten = torch.ops.aten


def remap(v: TensorValue, shape, fn) -> TensorValue:
    return TensorValue(tuple(sympy.sympify(s) for s in shape), v.dtype, lambda idx: v.load(fn(idx)))


def unsqueeze_dims(v: TensorValue, dims) -> TensorValue:
    shape = list(v.shape)
    for d in sorted(dims):
        shape.insert(d, sympy.Integer(1))
    dims = set(dims)
    return remap(v, shape, lambda idx: tuple(i for d, i in enumerate(idx) if d not in dims))


def norm_dim(d: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= d < n:
        raise Unsupported(f"dim {d} out of range for {ndim}-d tensor")
    return d % n


def _infer_shape(shape, numel) -> list:
    """Sizes as sympy expressions, with a -1 replaced by what the element count implies."""
    shape = [sympy.sympify(s) for s in shape]
    if -1 in shape:
        known = sympy.Mul(*[s for s in shape if s != -1])
        shape[shape.index(-1)] = sympy.cancel(numel / known) if known != 0 else sympy.Integer(0)
    return shape


def reshape(v: TensorValue, shape) -> TensorValue:
    shape = _infer_shape(shape, v.numel())
    s = strided(v)
    if s is not None:
        view_strides = _view_strides(list(v.shape), list(s.strides), shape)
        if view_strides is not None:
            return stored(s.buffer, shape, v.dtype, view_strides, s.offset)
    old_strides = contiguous_strides(v.shape)
    new_strides = contiguous_strides(shape)

    def fn(idx):
        flat = sum((sympy.sympify(i) * s for i, s in zip(idx, new_strides)), sympy.Integer(0))
        return tuple(ModIndex(FloorDiv(flat, st), sz) if sz != 1 else sympy.Integer(0)
                     for st, sz in zip(old_strides, v.shape))

    return remap(v, shape, fn)


def _less(a, b) -> bool:
    """``a < b`` for element counts; symbolic counts only ever grow towards equality."""
    diff = sympy.expand(sympy.sympify(b) - a)
    return bool(diff > 0) if diff.is_number else diff != 0


def _view_strides(old_shape, old_strides, new_shape):
    """Strides for viewing (old_shape, old_strides) as new_shape without a copy, or None
    (PyTorch's ``computeStride``; sizes may be sympy expressions)."""
    old_shape = [sympy.sympify(x) for x in old_shape]
    old_strides = [sympy.sympify(x) for x in old_strides]
    new_shape = [sympy.sympify(x) for x in new_shape]
    numel = sympy.Mul(*old_shape)
    if numel == 0 or not old_shape:  # empty, or 0-d (one element): any shape of that size
        return contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = old_strides[-1] if old_strides else 1
    tensor_numel, view_numel = 1, 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and sympy.expand(old_strides[d - 1] - tensor_numel * chunk_base) != 0):
            while view_d >= 0 and (_less(view_numel, tensor_numel) or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if sympy.expand(view_numel - tensor_numel) != 0:
                return None
            if d > 0:
                chunk_base = old_strides[d - 1]
                tensor_numel, view_numel = 1, 1
    if view_d != -1:
        return None
    return tuple(new_strides)


@lower(aten.view.default, aten.reshape.default, aten._unsafe_view.default)
def view(ctx, node, x, shape):
    if node.target is aten.view.default:
        _check_viewable(node, shape)
    return reshape(x, shape)


def _check_viewable(node, shape) -> None:
    """``view`` of a tensor whose strides do not allow it raises in PyTorch (Dynamo's fake
    tensors let some through, and our copied-in inputs are contiguous anyway): raise too."""
    val = getattr(node.args[0], "meta", {}).get("val")
    if not isinstance(val, torch.Tensor):
        return

    old_shape, old_strides = [size_expr(s) for s in val.shape], [size_expr(s) for s in val.stride()]
    if any(not x.is_Integer for x in old_shape + old_strides):
        return  # symbolic: PyTorch already checked it while tracing; reshape copies if it must
    new_shape = _infer_shape(shape, sympy.Mul(*old_shape))
    if _view_strides(old_shape, old_strides, new_shape) is None:
        raise Unsupported(f"view of a tensor with shape {old_shape} and strides {old_strides} as {new_shape}: "
                          f"not viewable (PyTorch raises; use reshape)")


@lower(aten.permute.default)
def permute(ctx, node, x, dims):
    dims = [norm_dim(d, x.ndim) for d in dims]
    inv = [dims.index(d) for d in range(x.ndim)]
    return remap(x, [x.shape[d] for d in dims], lambda idx: tuple(idx[inv[d]] for d in range(x.ndim)))


@lower(aten.t.default)
def t(ctx, node, x):
    if x.ndim < 2:
        return x
    return permute(ctx, node, x, [1, 0])


@lower(aten.transpose.int)
def transpose(ctx, node, x, d0, d1):
    if x.ndim == 0:
        return x
    dims = list(range(x.ndim))
    d0, d1 = norm_dim(d0, x.ndim), norm_dim(d1, x.ndim)
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(ctx, node, x, dims)


@lower(aten.flip.default)
def flip(ctx, node, x, dims):
    """A reversed view: index ``size - 1 - i`` along each flipped dim (the emitter keeps
    such negative-coefficient indices out of the unsigned ``offset=`` immediate)."""
    flipped = {norm_dim(d, x.ndim) for d in dims}
    return remap(x, list(x.shape), lambda idx: tuple(x.shape[d] - 1 - i if d in flipped else i
                                                      for d, i in enumerate(idx)))


@lower(aten.expand.default)
def expand(ctx, node, x, shape, implicit=False):
    lead = len(shape) - x.ndim
    full = [x.shape[d - lead] if s == -1 else s for d, s in enumerate(shape)]
    return broadcast_to(x, tuple(sympy.sympify(s) for s in full))


@lower(aten.unsqueeze.default)
def unsqueeze(ctx, node, x, dim):
    return unsqueeze_dims(x, [dim % (x.ndim + 1)])


@lower(aten.squeeze.default, aten.squeeze.dim, aten.squeeze.dims)
def squeeze(ctx, node, x, dims=None):
    if dims is None:
        dims = list(range(x.ndim))
    elif isinstance(dims, int):
        dims = [dims]
    dims = {norm_dim(d, x.ndim) for d in dims if x.ndim}
    drop = {d for d in dims if x.shape[d] == 1}
    keep = [d for d in range(x.ndim) if d not in drop]

    def fn(idx):
        full = [sympy.Integer(0)] * x.ndim
        for d, i in zip(keep, idx):
            full[d] = i
        return tuple(full)

    return remap(x, [x.shape[d] for d in keep], fn)


@lower(aten.slice.Tensor)
def slice_(ctx, node, x, dim=0, start=None, end=None, step=1):
    dim = norm_dim(dim, x.ndim)
    size = sympy.sympify(x.shape[dim])
    if step <= 0:
        raise Unsupported("slice with non-positive step")
    if size.is_Integer and all(v is None or isinstance(v, int) for v in (start, end)):
        start, end, step = slice(start, end, step).indices(int(size))
        n = max(0, (end - start + step - 1) // step)
    else:  # symbolic: Dynamo computed the result size; normalise a negative start
    
        start = sympy.sympify(start or 0)
        if start.is_Integer and start < 0:
            start = size + start
        n = size_expr(node.meta["val"].shape[dim])
    shape = list(x.shape)
    shape[dim] = n
    return remap(x, shape, lambda idx: tuple(start + step * i if d == dim else i for d, i in enumerate(idx)))


@lower(aten.select.int)
def select(ctx, node, x, dim, index):
    dim = norm_dim(dim, x.ndim)
    size = sympy.sympify(x.shape[dim])
    if size.is_Integer:
        if not -int(size) <= index < int(size):
            raise Unsupported(f"select index {index} out of range for size {size}")
        index %= int(size)
    elif index < 0:
        index = size + index
    shape = [s for d, s in enumerate(x.shape) if d != dim]
    return remap(x, shape, lambda idx: tuple(idx[:dim]) + (index,) + tuple(idx[dim:]))


@lower(aten.split_with_sizes.default, aten.split.Tensor)
def split(ctx, node, x, sizes, dim=0):
    dim = norm_dim(dim, x.ndim)
    total = static_int(x.shape[dim], "split")
    if isinstance(sizes, int):
        sizes = [min(sizes, total - s) for s in range(0, total, sizes)] or [0]
    outs, start = [], 0
    for s in sizes:
        outs.append(slice_(ctx, node, x, dim, start, start + s, 1))
        start += s
    return outs


@lower(aten.unbind.int)
def unbind(ctx, node, x, dim=0):
    dim = norm_dim(dim, x.ndim)
    return [select(ctx, node, x, dim, i) for i in range(static_int(x.shape[dim], "unbind"))]


@lower(operator.getitem)
def getitem(ctx, node, seq, i):
    return seq[i]


@lower(aten.cat.default)
def cat(ctx, node, tensors, dim=0):
    from .registry import cast, ir_dtype


    want = ir_dtype(node.meta["val"].dtype)
    tensors = [cast(t, want) for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    out_shape = [size_expr(s) for s in node.meta["val"].shape]
    if not tensors or any(s == 0 for s in out_shape):
        return ctx.constant(np.zeros([static_int(s, "empty cat") for s in out_shape]), want)
    dim = norm_dim(dim, tensors[0].ndim)
    offsets, total = [], sympy.Integer(0)
    for t_ in tensors:
        offsets.append(total)
        total += t_.shape[dim]
    shape = list(tensors[0].shape)
    shape[dim] = total
    # Each input is stored into its slice of one buffer: one vectorisable kernel each.
    buf = ctx.new_buffer(want, buffer_numel(sympy.Mul(*shape)))
    strides = contiguous_strides(shape)
    for t_, off in zip(tensors, offsets):
        if t_.numel() != 0:
            ctx.store_into(t_, buf, strides, off * strides[dim])
    return stored(buf, shape, want)


# checked for float64 (data movement: no arithmetic)
float64_ops(operator.getitem, aten._unsafe_view.default, aten.cat.default, aten.expand.default, aten.flip.default,
            aten.permute.default, aten.reshape.default, aten.select.int, aten.slice.Tensor, aten.split.Tensor,
            aten.split_with_sizes.default, aten.squeeze.default, aten.squeeze.dim, aten.squeeze.dims,
            aten.t.default, aten.transpose.int, aten.unbind.int, aten.unsqueeze.default, aten.view.default)
