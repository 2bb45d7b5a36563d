"""The Dynamo backend: ``torch.compile(model, backend="wasm")``.

Dynamo hands over an FX graph of torch-level ops; AOTAutograd (with the decomposition
table below) turns it into an ATen graph and calls our compiler on the forward (or
inference) graph. Backward graphs run eagerly for now. A graph we cannot lower runs
eagerly with a one-line warning, unless ``options={"strict": True}``.
"""

from __future__ import annotations

import warnings

import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd

from .config import Options
from .decompositions import decompositions
from .lower import Unsupported

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
    try:
        return aot_autograd(fw_compiler=fw, inference_compiler=fw, bw_compiler=lambda gm, _: _eager(gm),
                            decompositions=decompositions())(gm, example_inputs)
    except Unsupported as e:  # raised while decomposing, before our compiler saw the graph
        if opts.strict:
            raise
        warnings.warn(f"torch_wasm_backend: graph runs in eager PyTorch: {e}", WasmFallbackWarning, stacklevel=2)
        return gm.forward
