"""``sort`` (and ``argsort``/``msort``, which decompose to it) as a top-k of every element:
the rank formulation of ``reductions.topk`` (each element's rank = how many come before it,
then a gather by rank), O(n^2) per row, for rows of at most ``TOPK_MAX`` elements.

The order is PyTorch's CPU order for ``stable=True`` and, as measured, for the default
``stable=False`` too (its CPU kernel sorts stably): ascending or descending by value, NaN
after every number ascending and before descending, equal values (0.0 and -0.0 included) in
their original order.
"""

from __future__ import annotations

import torch

from .core import static_int
from .reductions import topk
from .registry import float64_ops, lower

aten = torch.ops.aten


@lower(aten.sort.default)
def sort(ctx, node, x, dim=-1, descending=False):
    n = static_int(x.shape[dim % x.ndim], "sort") if x.ndim else 1
    return topk(ctx, node, x, n, dim, largest=descending, sorted=True)


@lower(aten.sort.stable)
def sort_stable(ctx, node, x, *, stable=None, dim=-1, descending=False):
    return sort(ctx, node, x, dim, descending)


# checked for float64 (comparisons only)
float64_ops(aten.sort.default, aten.sort.stable)
