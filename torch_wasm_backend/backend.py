"""The Dynamo backend: ``torch.compile(model, backend="wasm")``.

Dynamo hands over an FX graph of torch-level ops; AOTAutograd (with the decomposition
table of ``decompositions.py``) turns it into an ATen graph and calls our compiler on the
forward (or inference) graph. Backward graphs run eagerly for now.

Symbolic sizes (``dynamic=True``, ``mark_dynamic``, or Dynamo's automatic dynamic shapes
after a recompile) compile once for every size when the graph's operators support it. When
they do not, the ATen graph is specialised instead: each distinct set of input shapes is
retraced with concrete sizes and compiled once, on first use.

A graph we cannot lower runs eagerly with a one-line warning, unless
``options={"strict": True}``.
"""

from __future__ import annotations

import logging
import warnings

import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd

from .config import Options
from .decompositions import decompositions
from .lower import Unsupported


log = logging.getLogger(__name__)


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


def _has_symbols(example_inputs) -> bool:
    return any(isinstance(x, torch.SymInt) or (isinstance(x, torch.Tensor) and
                                                any(isinstance(d, torch.SymInt) for d in x.shape))
               for x in example_inputs)


class Specialized:
    """A symbolic ATen graph compiled per distinct set of input shapes (boxed call)."""

    _boxed_call = True

    def __init__(self, gm, weights, compile_static):
        self.gm, self.weights, self.compile_static = gm, weights, compile_static
        self.cache: dict = {}

    def __call__(self, args):
        key = tuple((tuple(a.shape), a.dtype) if isinstance(a, torch.Tensor) else (type(a), a) for a in args)
        fn = self.cache.get(key)
        if fn is None:
            from torch.fx.experimental.proxy_tensor import make_fx

            with torch.no_grad():
                static = make_fx(self.gm, tracing_mode="fake")(*args)
            fn = self.cache[key] = self.compile_static(static, list(args), self.weights)
        return fn(args) if getattr(fn, "_boxed_call", False) else fn(*args)


def make_compiler(options: Options, default_weights=()):
    from .compiled import compile_graph
    from .partition import WasmRegion, partition

    def compile_static(gm, example_inputs, weights):
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

    def fw_compiler(gm: torch.fx.GraphModule, example_inputs):
        weights = _weight_indices(default_weights)
        if not _has_symbols(example_inputs):
            return compile_static(gm, example_inputs, weights)
        if options.dynamic == "specialize":
            return Specialized(gm, weights, compile_static)
        try:
            return compile_graph(gm, example_inputs, weights, options)
        except Unsupported as e:  # not every operator lowers with symbolic sizes: specialise
            if options.strict and options.dynamic == "symbolic":
                raise
            log.info("torch_wasm_backend: specialising per input shape: %s", e)
            return Specialized(gm, weights, compile_static)

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


def wasm_backend(gm: torch.fx.GraphModule, example_inputs, options: dict | None = None):
    """The ``wasm`` backend registered through the ``torch_dynamo_backends`` entry point."""
    opts = Options.from_dict(options)
    from .export import remember_inputs

    remember_inputs(example_inputs)
    weights = tuple(i for i, x in enumerate(example_inputs) if isinstance(x, torch.nn.Parameter))
    return _aot(gm, example_inputs, opts, weights)
