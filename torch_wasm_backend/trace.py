"""ATen graphs without AOTAutograd: ``make_fx`` with our decomposition table, then
functionalization. Used for graphs that need no autograd (inference under ``no_grad`` and
the trainable artifact, whose gradients are traced explicitly with ``torch.func``).

Two passes. The first decomposes: batch norm reaches ``make_fx`` as the in-place
``native_batch_norm`` (AOTAutograd would have functionalized it into
``_native_batch_norm_legit_*`` first), so its decomposition joins the table. The second
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


def trace_aten(fn, args, fake_mode=None) -> torch.fx.GraphModule:
    """``fn(*args)`` as a functional ATen graph. ``args`` may hold lists of tensors (they are
    flattened into the graph's inputs). With ``fake_mode`` (Dynamo's), ``args`` are
    converted with it and traced under it, as AOTAutograd does; otherwise ``make_fx``
    makes its own fake tensors."""
    table = {**decompositions(), **get_decompositions([torch.ops.aten.native_batch_norm.default])}
    flat = [a for arg in args for a in (arg if isinstance(arg, (list, tuple)) else [arg])]
    mode = "real" if fake_mode is not None else "fake"
    with fake_mode or contextlib.nullcontext():
        if fake_mode is not None:
            args = [fake_mode.from_tensor(a, static_shapes=True) for a in flat]
            flat = args
        first = _flat(make_fx(fn, decomposition_table=table, tracing_mode=mode)(*args))
        return _flat(make_fx(torch.func.functionalize(first, remove="mutations"), decomposition_table=decompositions(),
                             tracing_mode=mode)(*flat))
