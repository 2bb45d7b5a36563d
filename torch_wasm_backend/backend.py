"""The Dynamo backend: ``torch.compile(model, backend="wasm")``.

Dynamo hands over an FX graph of torch-level ops; AOTAutograd (with the decomposition
table of ``decompositions.py``) turns it into an ATen graph and calls our compiler on the
forward (or inference) graph. Backward graphs run eagerly for now.

Sizes are static today. When Dynamo hands over a graph with symbolic sizes (it does so on
its own after a recompile, "automatic dynamic shapes"), the graph is specialised: each
distinct set of input shapes is compiled once, on first use, and cached.

A graph we cannot lower runs eagerly with a one-line warning, unless
``options={"strict": True}``.
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


def _fallback(options: Options, reason: Exception) -> None:
    if options.strict:
        raise reason
    warnings.warn(f"torch_wasm_backend: graph runs in eager PyTorch: {reason}", WasmFallbackWarning, stacklevel=3)


def _weight_indices(default) -> tuple:
    ctx = torch._guards.TracingContext.try_get()
    meta = getattr(ctx, "fw_metadata", None) if ctx else None
    indices = getattr(meta, "static_input_indices", None)
    return tuple(indices) if indices is not None else tuple(default)


def make_compiler(options: Options, default_weights=()):
    from .compiled import compile_graph
    from .partition import WasmRegion, partition

    def fw_compiler(gm: torch.fx.GraphModule, example_inputs):
        weights = _weight_indices(default_weights)
        try:
            return compile_graph(gm, example_inputs, weights, options)
        except Unsupported as e:
            if options.strict:
                raise
            whole = e
        outer, reasons = partition(gm, weights, options, lambda sub, ex, w: compile_graph(sub, ex, w, options))
        regions = sum(isinstance(m, WasmRegion) for m in outer.children())
        if not regions:
            _fallback(options, whole)
            return make_boxed_func(gm.forward)
        listed = "; ".join(sorted(set(reasons.values()))) or str(whole)
        warnings.warn(f"torch_wasm_backend: {regions} region(s) run as WebAssembly, these ops in eager "
                      f"PyTorch: {listed}", WasmFallbackWarning, stacklevel=2)
        return make_boxed_func(outer.forward)

    return fw_compiler


def _aot(gm, example_inputs, options: Options, default_weights=()):
    fw = make_compiler(options, default_weights)
    try:
        return aot_autograd(fw_compiler=fw, inference_compiler=fw,
                            bw_compiler=lambda g, _: make_boxed_func(g.forward),
                            decompositions=decompositions())(gm, example_inputs)
    except Unsupported as e:  # raised while decomposing, before our compiler saw the graph
        _fallback(options, e)
        return gm.forward


def _is_symbolic(x) -> bool:
    if isinstance(x, torch.SymInt):
        return True
    return isinstance(x, torch.Tensor) and any(isinstance(s, torch.SymInt) for s in x.shape)


class ShapeSpecialized:
    """Compiles a graph with symbolic sizes once per distinct set of input shapes."""

    def __init__(self, gm, options: Options, weights: tuple):
        self.gm, self.options, self.weights = gm, options, weights
        self.cache: dict = {}

    def __call__(self, *args):
        key = tuple((tuple(a.shape), a.dtype, a.device) if isinstance(a, torch.Tensor) else (type(a), a) for a in args)
        fn = self.cache.get(key)
        if fn is None:
            fn = self.cache[key] = _aot(self.gm, list(args), self.options, self.weights)
        return fn(*args)


def wasm_backend(gm: torch.fx.GraphModule, example_inputs, options: dict | None = None):
    """The ``wasm`` backend registered through the ``torch_dynamo_backends`` entry point."""
    opts = Options.from_dict(options)
    from .export import remember_inputs

    remember_inputs(example_inputs)
    weights = tuple(i for i, x in enumerate(example_inputs) if isinstance(x, torch.nn.Parameter))
    if any(_is_symbolic(x) for x in example_inputs):
        return ShapeSpecialized(gm, opts, weights)
    return _aot(gm, example_inputs, opts, weights)
