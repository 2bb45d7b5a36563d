"""Views that are index arithmetic on their input: ``diagonal``, ``unfold``, ``repeat``.

* ``diagonal(offset, d1, d2)``: the kept dims, then one dim ``k`` reading
  ``(k + max(-offset, 0), k + max(offset, 0))`` at (d1, d2): on a buffer, a strided view
  with stride ``stride[d1] + stride[d2]``, as in PyTorch.
* ``unfold(dim, size, step)``: dim ``dim`` counts windows, a new last dim walks one:
  index ``window * step + j``, again a strided view.
* ``repeat(reps)``: new leading dims for the extra repeats, then each dim reads its input
  index modulo the input size. Not a view in PyTorch (a copy), and not affine: fused into
  its consumer, or realised where one needs strides.
"""

from __future__ import annotations

import sympy
import torch

from ..indexing import ModIndex
from .core import Unsupported, static_int
from .registry import float64_ops, lower
from .view_scatter import diagonal_geometry
from .views import norm_dim, remap

aten = torch.ops.aten


@lower(aten.diagonal.default)
def diagonal(ctx, node, x, offset=0, dim1=0, dim2=1):
    d1, d2 = norm_dim(dim1, x.ndim), norm_dim(dim2, x.ndim)
    if d1 == d2:
        raise Unsupported("diagonal with dim1 == dim2 (PyTorch raises)")
    length, keep, s1, s2 = diagonal_geometry(x.shape, offset, d1, d2)

    def fn(idx):
        full = [None] * x.ndim
        for d, i in zip(keep, idx[:-1]):
            full[d] = i
        full[d1], full[d2] = idx[-1] + s1, idx[-1] + s2
        return tuple(full)

    return remap(x, [x.shape[d] for d in keep] + [length], fn)


@lower(aten.unfold.default)
def unfold(ctx, node, x, dim, size, step):
    if x.ndim == 0:  # a 0-d tensor unfolds into a 1-d one of `size` (1) elements
        return remap(x, [size], lambda idx: ())
    dim = norm_dim(dim, x.ndim)
    n = static_int(x.shape[dim], "unfold")
    if size > n or step <= 0:
        raise Unsupported(f"unfold of a dim of {n} into windows of {size} with step {step} (PyTorch raises)")
    shape = list(x.shape)
    shape[dim] = (n - size) // step + 1
    return remap(x, shape + [size], lambda idx: tuple(
        idx[d] * step + idx[-1] if d == dim else idx[d] for d in range(x.ndim)))


@lower(aten.repeat.default)
def repeat(ctx, node, x, repeats):
    if len(repeats) < x.ndim:
        raise Unsupported(f"repeat with {len(repeats)} repeats for a {x.ndim}-d tensor (PyTorch raises)")
    lead = len(repeats) - x.ndim
    sizes = [sympy.sympify(s) for s in x.shape]
    shape = list(repeats[:lead]) + [r * s for r, s in zip(repeats[lead:], sizes)]

    def fn(idx):
        # (a size-0 or size-1 dim is only ever read at 0, if at all)
        return tuple(i if r == 1 else (sympy.Integer(0) if s in (0, 1) else ModIndex(i, s))
                     for i, r, s in zip(idx[lead:], repeats[lead:], sizes))

    return remap(x, shape, fn)


# checked for float64 (data movement: no arithmetic)
float64_ops(aten.diagonal.default, aten.repeat.default, aten.unfold.default)
