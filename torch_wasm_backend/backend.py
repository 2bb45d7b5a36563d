"""The Dynamo backend: ``torch.compile(model, backend="wasm")``.

Dynamo hands over an FX graph of torch-level ops; AOTAutograd (with the decomposition
table below) turns it into an ATen graph and calls our compiler on the forward (or
inference) graph. Backward graphs run eagerly for now. A graph we cannot lower runs
eagerly with a one-line warning, unless ``options={"strict": True}``.
"""

from __future__ import annotations

import functools
import warnings

import torch
from torch._decomp import core_aten_decompositions
from torch._dynamo.backends.common import aot_autograd
from functorch.compile import make_boxed_func

from .config import Options
from .lower import Unsupported

aten = torch.ops.aten

# Lowered natively: decomposing them would lose fusion or numerical care.
KEEP = (aten._softmax, aten._log_softmax, aten.native_layer_norm, aten.gelu, aten.silu, aten.hardswish,
        aten.hardsigmoid, aten.leaky_relu, aten.hardtanh, aten.embedding, aten.addmm, aten.mm, aten.bmm,
        aten.baddbmm, aten.convolution, aten._native_batch_norm_legit_no_training, aten.max_pool2d_with_indices,
        aten.avg_pool2d, aten._adaptive_avg_pool2d, aten.var, aten.clamp, aten.where, aten.index_select)


@functools.cache
def decompositions() -> dict:
    keep = set(KEEP)
    return {op: fn for op, fn in core_aten_decompositions().items()
            if getattr(op, "overloadpacket", op) not in keep}


class WasmFallbackWarning(UserWarning):
    pass


def _weight_indices() -> tuple:
    ctx = torch._guards.TracingContext.try_get()
    meta = getattr(ctx, "fw_metadata", None) if ctx else None
    return tuple(getattr(meta, "static_input_indices", None) or ())


def _eager(gm):
    return make_boxed_func(gm.forward)


def make_compiler(options: Options):
    from .compiled import compile_graph

    def fw_compiler(gm: torch.fx.GraphModule, example_inputs):
        try:
            return compile_graph(gm, example_inputs, _weight_indices(), options)
        except Unsupported as e:
            if options.strict:
                raise
            warnings.warn(f"torch_wasm_backend: graph runs in eager PyTorch: {e}", WasmFallbackWarning, stacklevel=2)
            return _eager(gm)

    return fw_compiler


def wasm_backend(gm: torch.fx.GraphModule, example_inputs, options: dict | None = None):
    """The ``wasm`` backend registered through the ``torch_dynamo_backends`` entry point."""
    opts = Options.from_dict(options)
    fw = make_compiler(opts)
    return aot_autograd(fw_compiler=fw, inference_compiler=fw, bw_compiler=lambda gm, _: _eager(gm),
                        decompositions=decompositions())(gm, example_inputs)
