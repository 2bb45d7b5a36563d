"""Counting rules: ``bucketize``, ``searchsorted`` and ``histc`` as reductions of comparisons.

A binary search over sorted boundaries finds the number of boundaries a value passes, so
``bucketize(x, b)`` is ``sum_i not(b[i] >= x)`` (``right=True``: ``not(b[i] > x)``), written
as PyTorch's search compares: a NaN value passes every boundary and lands at the end, as
it does there. That is O(len(b)) per value instead of O(log len(b)): fine for the bucket
tables these ops see. ``histc`` counts, for each bin, the values whose bin index
(``trunc((x - lo) * bins / (hi - lo))`` in float32, the top edge in the last bin, as
PyTorch's CPU kernel computes it) is that bin: O(bins * numel).
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported
from .registry import lower, scalar_value

aten = torch.ops.aten


def _passes(boundary: ir.Expr, value: ir.Expr, right: bool) -> ir.Expr:
    """1 (i32) if the search moves past ``boundary`` for ``value``."""
    stop = ir.Op("gt" if right else "ge", (boundary, value), "bool")
    return ir.Op("where", (stop, ir.Const(0, "i32"), ir.Const(1, "i32")), "i32")


def _count(ctx, values: TensorValue, seq: TensorValue, right: bool, out_int32: bool, batched: bool) -> TensorValue:
    """For each value, how many entries of its row of ``seq`` (the last dim) it passes; a 1-d
    ``seq`` serves every value, a batched one the values of the same leading index."""
    if values.dtype == "bool" or seq.dtype == "bool":
        raise Unsupported("searchsorted/bucketize of bool tensors")
    dtype = "f32" if "f32" in (values.dtype, seq.dtype) else values.dtype
    n = values.ndim

    def cast(e):
        return e if e.dtype == dtype else ir.Op("cast", (e,), dtype)

    def pair(idx):
        j, r = idx[:n], idx[n]
        row = tuple(j[:-1]) if batched else ()
        return _passes(cast(seq.load(row + (r,))), cast(values.load(tuple(j))), right)

    pairs = TensorValue(tuple(values.shape) + (seq.shape[-1],), "i32", pair)
    counts = ctx.reduce(pairs, (n,), "sum", False)
    if out_int32:
        return counts
    return TensorValue(counts.shape, "i64", lambda idx: ir.Op("cast", (counts.load(idx),), "i64"))


def _right(right, side):
    if side is not None:
        if side not in ("left", "right"):
            raise Unsupported(f"searchsorted side={side!r}")
        return side == "right"
    return bool(right)


@lower(aten.bucketize.Tensor)
def bucketize(ctx, node, x, boundaries, out_int32=False, right=False):
    if boundaries.ndim != 1:
        raise Unsupported("bucketize with boundaries that are not 1-d (PyTorch raises)")
    return _count(ctx, x, boundaries, bool(right), bool(out_int32), batched=False)


@lower(aten.searchsorted.Tensor)
def searchsorted(ctx, node, seq, x, out_int32=False, right=False, side=None, sorter=None):
    if seq.ndim == 0:
        raise Unsupported("searchsorted in a 0-d sequence")
    if sorter is not None:  # the sequence read in sorter's order (a bounds-checked gather)
        from .gather import indirect, stored_table

        table, last, sym = stored_table(ctx, seq), seq.ndim - 1, ctx.name("so")
        seq = TensorValue(seq.shape, seq.dtype, lambda idx: indirect(
            table, last, sorter.load(idx), tuple(idx[:-1]), sym, wrap=False))
    batched = seq.ndim > 1
    if batched and (x.ndim != seq.ndim or any(str(a) != str(b) for a, b in zip(x.shape[:-1], seq.shape[:-1]))):
        raise Unsupported("searchsorted with leading dims of the sequence and the values that differ")
    return _count(ctx, x, seq, _right(right, side), bool(out_int32), batched)


@lower(aten.searchsorted.Scalar)
def searchsorted_scalar(ctx, node, seq, value, out_int32=False, right=False, side=None, sorter=None):
    if seq.ndim != 1:
        raise Unsupported("searchsorted of a scalar in a sequence that is not 1-d")
    dtype = "f32" if isinstance(value, float) or seq.dtype == "f32" else seq.dtype
    return searchsorted(ctx, node, seq, scalar_value(value, dtype), out_int32, right, side, sorter)


@lower(aten.histc.default)
def histc(ctx, node, x, bins=100, min=0, max=0):
    if x.dtype != "f32":
        raise Unsupported(f"histc of {x.dtype} (floating point only, as PyTorch)")
    bins = int(bins)
    if bins <= 0:
        raise Unsupported("histc with bins <= 0 (PyTorch raises)")
    lo_v, hi_v = float(min), float(max)
    if lo_v > hi_v:
        raise Unsupported("histc with min > max (PyTorch raises)")
    if x.ndim == 0:
        from .views import reshape

        x = reshape(x, (1,))
    flat = x.ndim
    dims = tuple(range(flat))
    if lo_v == hi_v:  # the data's own range (PyTorch: min()/max() of the input), widened by 1 if empty
        lo_t, hi_t = ctx.reduce(x, dims, "min", False), ctx.reduce(x, dims, "max", False)

        def edges():
            lo, hi = lo_t.load(()), hi_t.load(())
            same = ir.Op("eq", (lo, hi), "bool")
            return (ir.Op("where", (same, ir.Op("sub", (lo, ir.Const(1.0, "f32")), "f32"), lo), "f32"),
                    ir.Op("where", (same, ir.Op("add", (hi, ir.Const(1.0, "f32")), "f32"), hi), "f32"))
        if x.shape and any(str(s) == "0" for s in x.shape):
            raise Unsupported("histc of an empty tensor without min/max")
    else:
        def edges():
            return ir.Const(lo_v, "f32"), ir.Const(hi_v, "f32")

    def hit(idx):
        k, j = idx[0], idx[1:]
        v = x.load(tuple(j))
        lo, hi = edges()
        inside = ir.Op("and", (ir.Op("ge", (v, lo), "bool"), ir.Op("le", (v, hi), "bool")), "bool")
        scaled = ir.Op("div", (ir.Op("mul", (ir.Op("sub", (v, lo), "f32"), ir.Const(float(bins), "f32")), "f32"),
                               ir.Op("sub", (hi, lo), "f32")), "f32")
        pos = ir.Op("cast", (scaled,), "i32")  # truncation, as static_cast<int64_t>
        pos = ir.Op("min", (pos, ir.Const(bins - 1, "i32")), "i32")  # the top edge joins the last bin
        match = ir.Op("and", (inside, ir.Op("eq", (pos, ir.Index(k, "i32")), "bool")), "bool")
        return ir.Op("where", (match, ir.Const(1.0, "f32"), ir.Const(0.0, "f32")), "f32")

    pairs = TensorValue((sympy.Integer(bins),) + tuple(x.shape), "f32", hit)
    return ctx.reduce(pairs, tuple(range(1, flat + 1)), "sum", False)
