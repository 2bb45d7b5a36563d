"""The Dynamo backend: ``torch.compile(model, backend="wasm")``.

Dynamo hands over an FX graph of torch-level ops; AOTAutograd (with the decomposition
table of ``decompositions.py``) turns it into an ATen graph and calls our compiler on the
forward (or inference) graph, and on the backward graph when gradients are needed: the
backward graph is an ATen graph like any other (its inputs are the activations the forward
saved and the incoming gradients) and goes through the same pipeline. A graph compiled with
autograd off skips AOTAutograd when it can (``_inference``: ``trace.py`` makes the ATen
graph), because AOTAutograd's run-time wrappers cost more per call than our own call.

Symbolic sizes (``dynamic=True``, ``mark_dynamic``, or Dynamo's automatic dynamic shapes
after a recompile) compile once for every size when the graph's operators support it. When
they do not, the ATen graph is specialised instead: each distinct set of input shapes is
retraced with concrete sizes and compiled once, on first use.

A graph we cannot lower runs eagerly with a one-line warning, unless
``options={"strict": True}``.
"""

from __future__ import annotations

import copy
import logging
import warnings
import weakref

import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd

from .config import Options
from .decompositions import decompositions, eager_refusal
from .lower import Unsupported
from .record import GraphRecord, attach, eager_ops, input_names, op_counts

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

    def __init__(self, gm, weights, compile_static):
        self.gm, self.weights, self.compile_static = gm, weights, compile_static
        self._boxed_call = True  # instance attribute: see CompiledGraph
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


class _ConstantOutputs:
    """Graph outputs that are not computed: ``None`` (a backward graph's gradient of an
    input that needs none) and literal sizes (ints a specialised graph saves for backward).
    The graph is compiled without them and they are put back after each call (boxed call)."""

    def __init__(self, fn, n_outputs: int, constants: dict):
        self.fn, self.n_outputs, self.constants = fn, n_outputs, constants
        self._boxed_call = True

    def __call__(self, args):
        outs = iter(self.fn(args) if getattr(self.fn, "_boxed_call", False) else self.fn(*args))
        return [self.constants[i] if i in self.constants else next(outs) for i in range(self.n_outputs)]


def _drop_constant_outputs(gm: torch.fx.GraphModule):
    """``gm`` without its literal outputs (a copy), {position: value} of those, and the
    output count."""
    out = next(n for n in reversed(gm.graph.nodes) if n.op == "output")
    results = out.args[0]
    if not isinstance(results, (list, tuple)) or all(isinstance(r, torch.fx.Node) for r in results):
        return gm, {}, None
    constants = {i: r for i, r in enumerate(results) if not isinstance(r, torch.fx.Node)}
    gm = torch.fx.GraphModule(gm, copy.deepcopy(gm.graph))
    out = next(n for n in reversed(gm.graph.nodes) if n.op == "output")
    out.args = (tuple(r for r in out.args[0] if isinstance(r, torch.fx.Node)),)
    gm.recompile()
    return gm, constants, len(results)


def make_compiler(options: Options, default_weights=(), kind: str = "forward", record: GraphRecord | None = None,
                  owned: list | None = None):
    """The compiler AOTAutograd calls on a forward, inference or backward graph (``kind``).
    Weights (inputs whose data is kept between calls and re-copied only when their
    ``_version`` changes) exist only in forward and inference graphs. What each ATen graph
    became is added to ``record`` (see ``record.py``); ``owned`` collects weak references to
    the graphs compiled (``_aot`` frees their instances with its function)."""
    from .compiled import compile_graph as _compile_graph
    from .partition import WasmRegion, partition

    record = record if record is not None else GraphRecord([])

    def compile_graph(gm, example_inputs, weights, options):
        g = _compile_graph(gm, example_inputs, weights, options)
        if owned is not None and hasattr(g, "release"):
            owned.append(weakref.ref(g))
        return g

    def compile_static(gm, example_inputs, weights):
        gm, constants, n_outputs = _drop_constant_outputs(gm)  # a specialised retrace makes sizes literal
        if constants:
            return _ConstantOutputs(compile_static(gm, example_inputs, weights), n_outputs, constants)
        try:
            compiled = compile_graph(gm, example_inputs, weights, options)
            record.add(kind, gm, compiled=compiled)
            return compiled
        except Unsupported as e:
            if options.strict:
                raise
            whole = e
        outer, reasons = partition(gm, weights, options, lambda sub, ex, w: compile_graph(sub, ex, w, options))
        regions = sum(isinstance(m, WasmRegion) for m in outer.children())
        eager = eager_ops(gm, reasons)
        if not regions:
            record.add(kind, gm, eager={op: eager.get(op, str(whole)) for op in op_counts(gm)})
            _fallback(options, whole)
            return make_boxed_func(gm.forward)
        record.add(kind, gm, eager=eager)
        listed = "; ".join(sorted(set(reasons.values()))) or str(whole)
        warnings.warn(f"torch_wasm_backend: {regions} region(s) run as WebAssembly, these ops in eager "
                      f"PyTorch: {listed}", WasmFallbackWarning, stacklevel=2)
        return make_boxed_func(outer.forward)

    def compiler(gm: torch.fx.GraphModule, example_inputs):
        gm, constants, n_outputs = _drop_constant_outputs(gm)
        fn = compile_any(gm, example_inputs)
        return _ConstantOutputs(fn, n_outputs, constants) if constants else fn

    def compile_any(gm, example_inputs):
        weights = () if kind == "backward" else _weight_indices(default_weights)
        if not _has_symbols(example_inputs):
            return compile_static(gm, example_inputs, weights)
        if options.dynamic == "specialize":
            return Specialized(gm, weights, compile_static)
        try:
            compiled = compile_graph(gm, example_inputs, weights, options)
            record.add(kind, gm, compiled=compiled)
            return compiled
        except Unsupported as e:  # not every operator lowers with symbolic sizes: specialise
            if options.strict and options.dynamic == "symbolic":
                raise
            log.info("torch_wasm_backend: specialising per input shape: %s", e)
            return Specialized(gm, weights, compile_static)

    return compiler


def _release_graphs(owned: list) -> None:
    for ref in owned:
        g = ref()
        if g is not None:
            g.release()


def _aot(gm, example_inputs, options: Options, default_weights, record: GraphRecord):
    owned: list = []  # the forward graph, and the backward one when AOTAutograd compiles it
    try:
        fn = aot_autograd(fw_compiler=make_compiler(options, default_weights, "forward", record, owned),
                          inference_compiler=make_compiler(options, default_weights, "inference", record, owned),
                          bw_compiler=make_compiler(options, (), "backward", record, owned),
                          decompositions=decompositions())(gm, example_inputs)
    except Unsupported as e:  # raised while decomposing, before our compiler saw the graph
        record.add("inference" if not torch.is_grad_enabled() else "forward", gm,
                   eager={op: str(e) for op in op_counts(gm)})
        _fallback(options, e)
        return gm.forward
    # AOTAutograd keeps the compiled graphs in a torch.autograd.Function subclass, which (a
    # class) only a gc pass frees: free their instances when Dynamo drops AOTAutograd's
    # function (Dynamo keeps the function under its ``disable`` wrapper, not the wrapper)
    weakref.finalize(getattr(fn, "_torchdynamo_orig_callable", fn), _release_graphs, owned)
    return fn


def _static_inputs(gm: torch.fx.GraphModule) -> tuple:
    """Positions of the inputs Dynamo marks static (parameters and buffers)."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    return tuple(i for i, n in enumerate(placeholders)
                 if n.meta.get("tensor_dict", {}).get("_dynamo_static_input_type"))


# Torch functions whose range checks (aten._assert_async) only AOTAutograd's trace keeps:
# make_fx alone decomposes one_hot into a comparison that never fails.
_NEEDS_AOT = frozenset({torch.nn.functional.one_hot, torch._C._nn.one_hot})


def _inference(gm: torch.fx.GraphModule, example_inputs, options: Options, record: GraphRecord):
    """Compile a graph that runs without autograd straight to ATen (functionalized and
    decomposed by ``make_fx``), skipping AOTAutograd's run-time wrappers, which cost more
    than our own call into WebAssembly. Returns None, and the caller goes through
    AOTAutograd, unless the graph is static, mutates no input and returns no alias of an
    input or of another output (the cases those wrappers exist for)."""
    from torch._guards import detect_fake_mode
    from torch.multiprocessing.reductions import StorageWeakRef

    from .trace import trace_aten

    if torch.is_grad_enabled() or _has_symbols(example_inputs) or \
            not all(isinstance(x, torch.Tensor) for x in example_inputs):
        return None
    if any(n.target in _NEEDS_AOT for n in gm.graph.nodes):
        return None
    fake_mode = detect_fake_mode(example_inputs)  # Dynamo's, as AOTAutograd uses it
    if fake_mode is None:
        return None
    try:
        aten = trace_aten(gm, example_inputs, fake_mode)
    except Exception as e:  # anything make_fx cannot trace, AOTAutograd gets to try
        log.info("torch_wasm_backend: direct ATen trace failed, using AOTAutograd: %s", e)
        return None
    if any(n.op == "call_function" and getattr(n.target, "_schema", None) is not None and n.target._schema.is_mutable
           for n in aten.graph.nodes):
        return None  # an input is updated in place
    out = next(n for n in aten.graph.nodes if n.op == "output")
    results = out.args[0] if isinstance(out.args[0], (list, tuple)) else [out.args[0]]
    storages = [StorageWeakRef(n.meta["val"].untyped_storage()) for n in aten.graph.nodes
                if n.op == "placeholder" and isinstance(n.meta.get("val"), torch.Tensor)]
    seen = set()
    for r in results:
        val = r.meta.get("val") if isinstance(r, torch.fx.Node) else None
        if not isinstance(val, torch.Tensor):
            return None
        ref = StorageWeakRef(val.untyped_storage())
        if ref in storages or ref in seen:
            return None
        seen.add(ref)
    fn = make_compiler(options, _static_inputs(gm), "inference", record)(aten, list(example_inputs))
    boxed = getattr(fn, "_boxed_call", False)
    single = not isinstance(out.args[0], (list, tuple))

    def run(*args):  # Dynamo calls it with the graph's inputs and wants its outputs back
        outs = fn(list(args)) if boxed else fn(*args)
        return outs[0] if single else tuple(outs)

    return run


def wasm_backend(gm: torch.fx.GraphModule, example_inputs, options: dict | None = None):
    """The ``wasm`` backend registered through the ``torch_dynamo_backends`` entry point."""
    return compile_dynamo_graph(gm, example_inputs, Options.from_dict(options))


def compile_dynamo_graph(gm: torch.fx.GraphModule, example_inputs, options: Options, sink: list | None = None):
    """Compile one Dynamo graph; the callable returned carries its ``GraphRecord``, which is
    also appended to ``sink`` when given (``explain``)."""
    record = GraphRecord(input_names(gm))
    if sink is not None:
        sink.append(record)
    refusal = eager_refusal(gm)
    if refusal is not None:  # eager raises here; so must we (or run eagerly, which raises)
        record.add("inference" if not torch.is_grad_enabled() else "forward", gm,
                   eager={op: refusal for op in op_counts(gm)})
        _fallback(options, Unsupported(refusal))
        return attach(gm.forward, record)
    fast = _inference(gm, example_inputs, options, record)
    if fast is None:
        weights = tuple(i for i, x in enumerate(example_inputs) if isinstance(x, torch.nn.Parameter))
        fast = _aot(gm, example_inputs, options, weights, record)
    return attach(fast, record)
