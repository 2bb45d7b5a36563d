"""Softmax and normalisation layers, written as reductions plus fused pointwise epilogues.

These ops are kept out of the decomposition table on purpose: lowering them here gives
the numerically stable forms (max-subtracted softmax, two-pass variance) and lets the
final scale/shift fuse into one loop nest.
"""

from __future__ import annotations

import sympy
import torch

from .. import ir
from .core import TensorValue, Unsupported
from .pointwise import binary, const_like, count_like, unary
from .registry import broadcast_to, float64_ops, lower
from .views import unsqueeze_dims

aten = torch.ops.aten


def check_param_dtypes(node, what: str) -> None:
    """PyTorch's CPU normalisation kernels raise for parameters of another dtype than the
    input, except float32 parameters of a float16 input ("mixed dtype"); so must we (its
    meta kernels let it through, and float16 reaches the rules widened to float32)."""
    vals = [getattr(a, "meta", {}).get("val") if hasattr(a, "meta") else None for a in node.args]
    x = vals[0]
    for v in vals[1:]:
        if isinstance(v, torch.Tensor) and isinstance(x, torch.Tensor) and v.dtype != x.dtype and not (
                x.dtype == torch.float16 and v.dtype == torch.float32):
            raise Unsupported(f"{what} of a {x.dtype} input with {v.dtype} parameters (PyTorch raises: mixed dtype)")


def _softmax_parts(ctx, x, dim, realize_exp=False):
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"softmax of {x.dtype}")
    if x.ndim == 0:
        return None
    dim %= x.ndim
    if x.shape[dim] == 0:
        return None
    m = broadcast_to(ctx.reduce(x, (dim,), "max", True), x.shape)
    # Exactly PyTorch's semantics: a row containing +inf (inf - inf) or only -inf
    # (-inf - -inf) is NaN throughout; a NaN anywhere in the row makes the max NaN.
    shifted = binary("sub", x, m)
    # softmax reads exp(x - max) twice (the sum, the output): computed once into a buffer,
    # since the exp costs more than the extra pass over memory (128x1024: 620 -> ~300 us)
    e = ctx.realize(unary("exp", shifted)) if realize_exp else unary("exp", shifted)
    s = broadcast_to(ctx.reduce(e, (dim,), "sum", True), x.shape)
    return shifted, e, s


@lower(aten._softmax.default)
def softmax(ctx, node, x, dim, half_to_float=False):
    parts = _softmax_parts(ctx, x, dim, realize_exp=True)
    if parts is None:
        return unary("exp", binary("sub", x, x)) if x.ndim == 0 else x
    _, e, s = parts
    return binary("div", e, s)


@lower(aten._log_softmax.default)
def log_softmax(ctx, node, x, dim, half_to_float=False):
    parts = _softmax_parts(ctx, x, dim)
    if parts is None:
        return binary("sub", x, x) if x.ndim == 0 else x
    shifted, _, s = parts
    return binary("sub", shifted, unary("log", s))


def _moments(ctx, x, dims):
    n = sympy.Mul(*[x.shape[d] for d in dims])
    if n != 0:
        # mean = x0 + sum(x - x0) / n with x0 the first element of each group: a constant
        # row gets exactly its value (PyTorch's Welford moments are exact there too; with
        # sum(x) / n the residual x - mean is ~1e-7, which rstd = 1/sqrt(eps) blows up)
        shift = TensorValue(x.shape, x.dtype, lambda idx: x.load(
            tuple(sympy.Integer(0) if d in dims else i for d, i in enumerate(idx))))
        centred = ctx.reduce(binary("sub", x, shift), dims, "sum", True)
        first = TensorValue(centred.shape, x.dtype, lambda idx: x.load(
            tuple(sympy.Integer(0) if d in dims else i for d, i in enumerate(idx))))
        mean = binary("add", first, binary("div", centred, count_like(centred, n)))
    else:
        mean = binary("div", ctx.reduce(x, dims, "sum", True), const_like(x, 0.0))
    mean = ctx.realize(mean)
    d = binary("sub", x, broadcast_to(mean, x.shape))
    var = binary("div", ctx.reduce(binary("mul", d, d), dims, "sum", True), count_like(x, n))
    return mean, var


@lower(aten.native_layer_norm.default)
def native_layer_norm(ctx, node, x, normalized_shape, weight, bias, eps):
    check_param_dtypes(node, "layer_norm")
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"layer_norm of {x.dtype}")
    k = len(normalized_shape)
    dims = tuple(range(x.ndim - k, x.ndim))
    mean, var = _moments(ctx, x, dims)
    rstd = ctx.realize(unary("rsqrt", binary("add", var, const_like(var, float(eps)))))
    y = binary("mul", binary("sub", x, broadcast_to(mean, x.shape)), broadcast_to(rstd, x.shape))
    if weight is not None:
        y = binary("mul", y, broadcast_to(weight, x.shape))
    if bias is not None:
        y = binary("add", y, broadcast_to(bias, x.shape))
    return [y, mean, rstd]


def _channel(v, x):
    """A per-channel (dim 1) vector viewed so it broadcasts against ``x``."""
    v = unsqueeze_dims(v, [0])
    v = unsqueeze_dims(v, list(range(2, x.ndim))) if x.ndim > 2 else v
    return broadcast_to(v, x.shape)


@lower(aten._native_batch_norm_legit_no_training.default)
def batch_norm_inference(ctx, node, x, weight, bias, running_mean, running_var, momentum, eps):
    check_param_dtypes(node, "batch_norm")
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"batch_norm of {x.dtype}")
    # y = x * scale + shift with per-channel vectors realised once: they read only the
    # statistics and parameters, so the scheduler moves them into ``prepare``
    inv = unary("rsqrt", binary("add", running_var, const_like(running_var, float(eps))))
    scale = ctx.realize(binary("mul", inv, weight) if weight is not None else inv)
    shift = binary("sub", const_like(scale, 0.0), binary("mul", running_mean, scale))
    shift = ctx.realize(binary("add", shift, bias) if bias is not None else shift)
    y = binary("add", binary("mul", x, _channel(scale, x)), _channel(shift, x))
    empty = ctx.constant(__import__("numpy").zeros((0,)), x.dtype)
    return [y, empty, empty]


def _batch_norm_train(ctx, x, weight, bias, eps):
    """Batch statistics over every dim but the channels: (y, mean, rstd, biased var, n)."""
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"batch_norm of {x.dtype}")
    if x.ndim < 2:
        raise Unsupported(f"batch_norm of a {x.ndim}-d input")
    dims = (0,) + tuple(range(2, x.ndim))
    mean, var = _moments(ctx, x, dims)
    var = ctx.realize(var)
    rstd = ctx.realize(unary("rsqrt", binary("add", var, const_like(var, float(eps)))))

    def channel(v):  # keepdim (1, C, 1, ..) -> (C,)
        return TensorValue((x.shape[1],), x.dtype, lambda idx: v.load(tuple(idx[0] if d == 1 else 0
                                                                              for d in range(x.ndim))))

    mean_c, var_c, rstd_c = channel(mean), channel(var), channel(rstd)
    # y = x * scale + shift with per-channel scale = rstd * weight, as PyTorch's CPU kernel
    scale = ctx.realize(binary("mul", rstd_c, weight) if weight is not None else rstd_c)
    shift = binary("sub", const_like(scale, 0.0), binary("mul", mean_c, scale))
    shift = ctx.realize(binary("add", shift, bias) if bias is not None else shift)
    y = binary("add", binary("mul", x, _channel(scale, x)), _channel(shift, x))
    return y, mean_c, rstd_c, var_c, sympy.Mul(*[x.shape[d] for d in dims])


def _running(stat, batch, momentum):
    """momentum * batch + (1 - momentum) * running, PyTorch's update of a running statistic."""
    return binary("add", binary("mul", batch, const_like(batch, float(momentum))),
                  binary("mul", stat, const_like(stat, 1.0 - float(momentum))))


@lower(aten._native_batch_norm_legit_functional.default)
def batch_norm_functional(ctx, node, x, weight, bias, running_mean, running_var, training, momentum, eps):
    """Training batch norm, functional form: (y, save_mean, save_rstd, new running mean,
    new running var). The running variance takes the unbiased batch variance."""
    check_param_dtypes(node, "batch_norm")
    if not training:
        y, m, r = batch_norm_inference(ctx, node, x, weight, bias, running_mean, running_var, momentum, eps)
        return [y, m, r, running_mean, running_var]
    y, mean, rstd, var, n = _batch_norm_train(ctx, x, weight, bias, eps)
    # n == 1 gives 0 / 0 = NaN, like PyTorch's kernel
    unbiased = binary("div", binary("mul", var, count_like(var, n)), count_like(var, n - 1))
    return [y, mean, rstd, _running(running_mean, mean, momentum), _running(running_var, unbiased, momentum)]


@lower(aten._native_batch_norm_legit.no_stats)
def batch_norm_no_stats(ctx, node, x, weight, bias, training, momentum, eps):
    """Batch norm without running statistics (``track_running_stats=False``)."""
    check_param_dtypes(node, "batch_norm")
    if not training:
        raise Unsupported("batch_norm in evaluation mode without running statistics")
    y, mean, rstd, _, _ = _batch_norm_train(ctx, x, weight, bias, eps)
    return [y, mean, rstd]


@lower(aten.native_group_norm.default)
def native_group_norm(ctx, node, x, weight, bias, n, c, hw, groups, eps):
    """Group norm: moments per (sample, group) over its channels and pixels; returns
    (y, mean, rstd) with mean and rstd of shape (N, groups), as PyTorch."""
    from .views import reshape

    check_param_dtypes(node, "group_norm")
    if x.dtype not in ir.FLOATS:
        raise Unsupported(f"group_norm of {x.dtype}")
    xg = reshape(x, (n, groups, sympy.sympify(c) // groups * hw))
    mean, var = _moments(ctx, xg, (2,))
    rstd = ctx.realize(unary("rsqrt", binary("add", var, const_like(var, float(eps)))))
    y = binary("mul", binary("sub", xg, broadcast_to(mean, xg.shape)), broadcast_to(rstd, xg.shape))
    y = reshape(y, x.shape)
    if weight is not None:
        y = binary("mul", y, _channel(weight, x))
    if bias is not None:
        y = binary("add", y, _channel(bias, x))
    return [y, reshape(mean, (n, groups)), reshape(rstd, (n, groups))]


# checked for float64 (reductions, exp, log and 1/sqrt in float64)
float64_ops(aten._softmax.default, aten._log_softmax.default, aten.native_layer_norm.default,
            aten._native_batch_norm_legit_no_training.default, aten._native_batch_norm_legit_functional.default,
            aten._native_batch_norm_legit.no_stats, aten.native_group_norm.default)
