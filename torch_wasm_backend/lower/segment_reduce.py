"""``segment_reduce``: a reduction over consecutive segments of ``data`` along dim 0, the
segments given by their ``lengths`` or ``offsets`` (1-d).

Each output row ``s`` reduces the rows ``r`` with ``offsets[s] <= r < offsets[s + 1]`` (a
``where`` over every row, so other rows' NaN and Inf do not leak in), starting from
``initial`` (else the reduction's identity): ``max``/``min`` propagate NaN as PyTorch's kernel,
``mean`` divides by the segment's length (an empty segment gives ``initial``, or NaN without
one). Offsets come from lengths by a prefix sum (a reduction over the earlier segments).
O(segments * rows) work: fine for the segment tables this op sees.
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported, static_int
from .pointwise import binary, const_like
from .registry import cast, lower

aten = torch.ops.aten

_REDUCE = {"sum": "sum", "mean": "sum", "prod": "prod", "max": "max", "min": "min"}


def _offsets(ctx, lengths: TensorValue) -> TensorValue:
    """offsets[s] = sum of lengths[t], t < s, for s in 0..S (S + 1 entries), as i32."""
    n = static_int(lengths.shape[0], "segment_reduce")
    lens = cast(lengths, "i32")
    pairs = TensorValue((sympy.Integer(n + 1), sympy.Integer(n)), "i32", lambda idx: ir.Op("where", (
        ir.Op("lt", (ir.Index(idx[1], "i32"), ir.Index(idx[0], "i32")), "bool"), lens.load((idx[1],)),
        ir.Const(0, "i32")), "i32"))
    return ctx.reduce(pairs, (1,), "sum", False)


@lower(aten.segment_reduce.default)
def segment_reduce(ctx, node, data, reduce, lengths=None, indices=None, offsets=None, axis=0, unsafe=False,
                   initial=None):
    if reduce not in _REDUCE:
        raise Unsupported(f"segment_reduce({reduce!r})")
    if indices is not None:
        raise Unsupported("segment_reduce with indices (PyTorch does not support them either)")
    if data.dtype != "f32":
        raise Unsupported(f"segment_reduce of {data.dtype}")
    if axis % max(data.ndim, 1) != 0 or data.ndim == 0:
        raise Unsupported("segment_reduce along a dim other than 0")
    if (lengths is None) == (offsets is None):
        raise Unsupported("segment_reduce needs exactly one of lengths and offsets")
    seg = lengths if lengths is not None else offsets
    if seg.ndim != 1:
        raise Unsupported("segment_reduce with batched (multi-dimensional) lengths or offsets")
    offs = _offsets(ctx, lengths) if lengths is not None else cast(offsets, "i32")
    n_seg = static_int(offs.shape[0], "segment_reduce") - 1
    rows = data.shape[0]
    rest = tuple(data.shape[1:])
    out_shape = (sympy.Integer(n_seg),) + rest
    big = float("inf")
    identity = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "max": -big, "min": big}[reduce]
    init = identity if initial is None else float(initial)

    def inside(s, r):
        r_i = ir.Index(r, "i32")
        return ir.Op("and", (ir.Op("ge", (r_i, offs.load((s,))), "bool"),
                             ir.Op("lt", (r_i, offs.load((s + 1,))), "bool")), "bool")

    k = len(out_shape)
    vals = TensorValue(out_shape + (rows,), "f32", lambda idx: ir.Op("where", (
        inside(idx[0], idx[k]), data.load((idx[k],) + tuple(idx[1:k])), ir.Const(identity, "f32")), "f32"))
    red = ctx.reduce(vals, (k,), _REDUCE[reduce], False)
    start = const_like(red, init)
    if reduce == "mean":
        ones = TensorValue(out_shape + (rows,), "i32", lambda idx: ir.Op("where", (
            inside(idx[0], idx[k]), ir.Const(1, "i32"), ir.Const(0, "i32")), "i32"))
        count = cast(ctx.reduce(ones, (k,), "sum", False), "f32")
        mean = binary("div", binary("add", start, red), count)
        if initial is None:
            return mean  # an empty segment: 0 / 0 = NaN, as PyTorch
        empty = binary("eq", count, const_like(count, 0.0), "bool")
        return TensorValue(out_shape, "f32", lambda idx: ir.Op("where", (empty.load(idx), start.load(idx),
                                                                          mean.load(idx)), "f32"))
    combine = {"sum": "add", "prod": "mul", "max": "max", "min": "min"}[reduce]
    return binary(combine, red, start)  # a NaN in the segment comes first: max/min keep it
