"""ATen graphs without AOTAutograd: ``make_fx`` with our decomposition table, then
functionalization. Used for graphs that need no autograd (inference under ``no_grad`` and
the trainable artifact, whose gradients are traced explicitly with ``torch.func``).

Two passes. The first decomposes: batch norm reaches ``make_fx`` as the in-place
``native_batch_norm`` (AOTAutograd would have functionalized it into
``_native_batch_norm_legit_*`` first), so a decomposition of it joins the table (eval
mode: the op we lower; training mode: arithmetic and running-stat updates). The second
functionalizes what the decompositions wrote in place; in-place updates of the inputs
remain, as trailing ``copy_(input, value)`` nodes. The result takes flat arguments and
returns a flat tuple (or a single value), and has no dead nodes.
"""

from __future__ import annotations

import contextlib

import torch
from torch._decomp import get_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

from .decompositions import decompositions


def _flat(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    gm.graph._codegen = torch.fx.graph.CodeGen()
    gm.graph.eliminate_dead_code()  # e.g. batch norm's empty "reserve" outputs
    gm.recompile()
    return gm


def _native_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """Eval batch norm stays one op (lowered as a per-channel scale and shift prepared once
    from the weights); training batch norm becomes arithmetic plus running-stat updates."""
    if not training and running_mean is not None and running_var is not None:
        return torch.ops.aten._native_batch_norm_legit_no_training.default(
            x, weight, bias, running_mean, running_var, momentum, eps)
    return _DECOMPOSED_BATCH_NORM(x, weight, bias, running_mean, running_var, training, momentum, eps)


_DECOMPOSED_BATCH_NORM = get_decompositions([torch.ops.aten.native_batch_norm.default])[
    torch.ops.aten.native_batch_norm.default]


def trace_aten(fn, args, fake_mode=None) -> torch.fx.GraphModule:
    """``fn(*args)`` as a functional ATen graph. ``args`` may hold lists of tensors (they are
    flattened into the graph's inputs). With ``fake_mode`` (Dynamo's), ``args`` are
    converted with it and traced under it, as AOTAutograd does; otherwise ``make_fx``
    makes its own fake tensors."""
    table = {**decompositions(), torch.ops.aten.native_batch_norm.default: _native_batch_norm}
    flat = [a for arg in args for a in (arg if isinstance(arg, (list, tuple)) else [arg])]
    mode = "real" if fake_mode is not None else "fake"
    with fake_mode or contextlib.nullcontext():
        if fake_mode is not None:
            args = [fake_mode.from_tensor(a, static_shapes=True) for a in flat]
            flat = args
        first = _flat(make_fx(fn, decomposition_table=table, tracing_mode=mode)(*args))
        return _flat(make_fx(torch.func.functionalize(first, remove="mutations"), decomposition_table=decompositions(),
                             tracing_mode=mode)(*flat))
