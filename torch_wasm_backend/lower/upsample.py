"""Linear and cubic interpolation: ``upsample_linear1d``, ``upsample_bilinear2d``,
``upsample_trilinear3d``, ``upsample_bicubic2d``.

Sizes are static, so the source indices and weights of every output position are computed
here, once, exactly as PyTorch's CPU kernel computes them (``area_pixel_compute_scale``
and ``compute_source_index_and_lambda`` of aten/src/ATen/native/UpSample.h, in float32:
the scale, ``scale * (i + 0.5) - 0.5`` rounded once (the kernel is built with FMA
contraction), clamped at 0, ``floor``, the index clamped to the last pixel, ``lambda``
clamped to [0, 1]) and baked in as constant tables. The kernel gathers the 2**d
neighbours (4**2 for bicubic, whose taps are clamped into the input and weighted by the
cubic convolution with A = -0.75) through those tables (indirect loads) and combines them
dim by dim, innermost first, as the kernel's ``Interpolate`` recursion does:
``t0 * w0 + t1 * w1 (+ ...)``.

Values: the indices and weights are PyTorch's bit for bit, so positions and copies agree
exactly; the combination differs from PyTorch's by rounding, because its compiled kernel
fuses one multiply-add per dim (``fma(t0, w0, t1 * w1)``; WebAssembly has no
deterministic fused multiply-add) and, for small outputs (output height + width <= 128),
takes another kernel that sums the four weighted corners with products of the weights.
Measured: at most 0.92 * eps * max|input| from PyTorch's value (on the cases of
``tests/e2e/test_ops_coverage.py``, which allow 2 * eps * max|input|); 50-100% of the
elements are bit-identical. (PyTorch's own decomposition of these ops is no closer.)
Bicubic: the weights are PyTorch's (its cubic polynomials evaluated with the multiply-adds
fused, as its compiler contracts them), the 16-tap sums are not fused: measured within
2.1 * eps * max|input| (tests allow 4).
Antialiasing has no rule yet (it falls back).

Nearest and nearest-exact modes need no rule here: PyTorch's decompositions turn them
into index arithmetic and a gather, which the backend runs exactly.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported, static_int
from .gather import stored_table
from .registry import lower

aten = torch.ops.aten
F32 = np.float32


def _scale(in_size: int, out_size: int, align_corners: bool, scale) -> np.float32:
    """``area_pixel_compute_scale<float>``."""
    if align_corners:
        return F32(in_size - 1) / F32(out_size - 1) if out_size > 1 else F32(0)
    if scale is not None and scale > 0:
        return F32(1.0 / scale)
    return F32(in_size) / F32(out_size)


def linear_table(in_size: int, out_size: int, align_corners: bool, scale=None):
    """(index0, index1, lambda0, lambda1) per output position, as PyTorch's CPU kernel
    computes them (see the module docstring)."""
    s = _scale(in_size, out_size, align_corners, scale)
    i0 = np.zeros(out_size, np.int32)
    i1 = np.zeros(out_size, np.int32)
    l0 = np.ones(out_size, F32)
    l1 = np.zeros(out_size, F32)
    for i in range(out_size):
        if out_size == in_size:
            i0[i] = i1[i] = i
            continue
        if align_corners:
            r = F32(s * F32(i))
        else:  # fma(scale, i + 0.5, -0.5): the product of two floats is exact in float64
            r = F32(np.float64(s) * np.float64(F32(i) + F32(0.5)) - 0.5)
            r = F32(0) if r < 0 else r
        idx = min(math.floor(r), in_size - 1)
        lam = min(max(F32(r - F32(idx)), F32(0)), F32(1))
        i0[i], i1[i] = idx, idx + (1 if idx < in_size - 1 else 0)
        l1[i], l0[i] = lam, F32(1) - lam
    return i0, i1, l0, l1


def cubic_table(in_size: int, out_size: int, align_corners: bool, scale=None):
    """(4 index arrays, 4 weight arrays) per output position for bicubic interpolation, as
    PyTorch's CPU kernel computes them: the source position without the clamp at 0,
    ``floor``, the taps ``index - 1 .. index + 2`` clamped into the input, the weights of
    its cubic convolution with A = -0.75 (``get_cubic_upsample_coefficients``)."""
    s = _scale(in_size, out_size, align_corners, scale)
    a = F32(-0.75)
    idx = np.zeros((4, out_size), np.int32)
    wts = np.zeros((4, out_size), F32)

    def fma(p, q, r):  # p * q + r rounded once (exact in float64 for these magnitudes)
        return F32(np.float64(p) * np.float64(q) + np.float64(r))

    def conv1(x):  # ((A + 2) * x - (A + 3)) * x * x + 1, contracted as the kernel's compiler does
        return fma(F32(fma(a + F32(2), x, -(a + F32(3))) * x), x, F32(1))

    def conv2(x):  # ((A * x - 5A) * x + 8A) * x - 4A
        return fma(fma(fma(a, x, -F32(F32(5) * a)), x, F32(F32(8) * a)), x, -F32(F32(4) * a))

    for i in range(out_size):
        if align_corners:
            r = F32(s * F32(i))
        else:
            r = F32(np.float64(s) * np.float64(F32(i) + F32(0.5)) - 0.5)
        base = min(math.floor(r), in_size - 1)
        t = min(max(F32(r - F32(base)), F32(0)), F32(1))
        for j in range(4):
            idx[j, i] = max(min(base - 1 + j, in_size - 1), 0)
        wts[:, i] = conv2(F32(t + F32(1))), conv1(t), conv1(F32(F32(1) - t)), conv2(F32(F32(F32(1) - t) + F32(1)))
    return list(idx), list(wts)


def _weighted_sum(terms) -> ir.Expr:
    """``t0 * w0 + t1 * w1 + ...`` left to right, as PyTorch's ``Interpolate`` sums taps."""
    out = None
    for t, w in terms:
        p = ir.Op("mul", (t, w), "f32")
        out = p if out is None else ir.Op("add", (out, p), "f32")
    return out


def upsample(ctx, x: TensorValue, out_sizes, align_corners: bool, scales, mode: str = "linear") -> TensorValue:
    """Linear or cubic interpolation of the last ``len(out_sizes)`` dims of ``x``."""
    if x.dtype != "f32":
        raise Unsupported(f"{mode} upsampling of {x.dtype} (PyTorch supports floating point only)")
    k = len(out_sizes)
    lead = x.ndim - k
    in_sizes = [static_int(s, "upsampling") for s in x.shape[lead:]]
    out_sizes = [int(s) for s in out_sizes]
    if min(in_sizes + out_sizes) <= 0:
        raise Unsupported(f"upsampling from {in_sizes} to {out_sizes}: sizes must be positive (PyTorch raises)")
    scales = list(scales) + [None] * (k - len(scales))
    x = stored_table(ctx, x)
    tables = []  # per dim: ([index table per tap], [weight table per tap])
    for d in range(k):
        if mode == "linear":
            i0, i1, l0, l1 = linear_table(in_sizes[d], out_sizes[d], align_corners, scales[d])
            ind, wts = [i0, i1], [l0, l1]
        else:
            ind, wts = cubic_table(in_sizes[d], out_sizes[d], align_corners, scales[d])
        tables.append(([ctx.constant(a, "i32") for a in ind], [ctx.constant(a, "f32") for a in wts]))
    ntaps = len(tables[0][0])
    syms = [[sympy.Symbol(ctx.name("up"), integer=True, nonnegative=True) for _ in range(ntaps)] for _ in range(k)]
    shape = tuple(x.shape[:lead]) + tuple(sympy.Integer(s) for s in out_sizes)

    def loader(idx):
        out = idx[lead:]
        corners = {}
        for taps in itertools.product(range(ntaps), repeat=k):
            base = x.load(tuple(idx[:lead]) + tuple(syms[d][t] for d, t in enumerate(taps)))
            ind = tuple((syms[d][t], tables[d][0][t].load((out[d],)), in_sizes[d]) for d, t in enumerate(taps))
            corners[taps] = ir.Load(base.buffer, base.index, base.dtype, base.indirect + ind)
        for d in reversed(range(k)):  # innermost dim first, as PyTorch's Interpolate recursion
            w = [tables[d][1][t].load((out[d],)) for t in range(ntaps)]
            corners = {taps: _weighted_sum((corners[taps + (t,)], w[t]) for t in range(ntaps))
                       for taps in itertools.product(range(ntaps), repeat=d)}
        return corners[()]

    return TensorValue(shape, "f32", loader)


@lower(aten.upsample_linear1d.default)
def upsample_linear1d(ctx, node, x, output_size, align_corners, scales=None):
    return upsample(ctx, x, output_size, align_corners, [scales])


@lower(aten.upsample_bilinear2d.default)
def upsample_bilinear2d(ctx, node, x, output_size, align_corners, scales_h=None, scales_w=None):
    return upsample(ctx, x, output_size, align_corners, [scales_h, scales_w])


@lower(aten.upsample_trilinear3d.default)
def upsample_trilinear3d(ctx, node, x, output_size, align_corners, scales_d=None, scales_h=None, scales_w=None):
    return upsample(ctx, x, output_size, align_corners, [scales_d, scales_h, scales_w])


@lower(aten.upsample_bicubic2d.default)
def upsample_bicubic2d(ctx, node, x, output_size, align_corners, scales_h=None, scales_w=None):
    return upsample(ctx, x, output_size, align_corners, [scales_h, scales_w], "cubic")
