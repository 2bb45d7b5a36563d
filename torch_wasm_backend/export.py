"""``save(compiled, path)``: a deployable, self-describing ``.wasm`` file.

The model behind ``compiled`` (what ``torch.compile(model, backend="wasm")`` returned) is
captured as one whole graph (``fullgraph=True``) and compiled with the same options; the
compiled graph runs once on the example inputs, which fills the persistent region of its
memory with the weights and everything ``prepare`` derives from them. What ``forward`` reads
of that region is baked into the module as data segments (``bake.py``), the manifest is
appended as a custom section, and the artifact is loaded back and checked against the
compiled graph before ``save`` returns.
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import json
from pathlib import Path

import numpy as np
import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd

from . import __version__
from .assemble import assemble, wabt_version
from .bake import bake, check_weights, rounded_inputs
from .config import Options
from .decompositions import decompositions
from .emit.module import emit_module
from .lower import Unsupported
from .runtime.artifact import FORMAT_VERSION, MANIFEST_SECTION, custom_section, load

_DTYPE_NAMES = {"f32": "float32", "i32": "int32", "i64": "int64", "bool": "bool"}
# (ids of the tensors, shapes and dtypes) of the inputs of recently compiled graphs, so that
# a model that has already run can be saved without example inputs.
RECENT_INPUTS: collections.deque = collections.deque(maxlen=64)


class SaveError(RuntimeError):
    pass


def remember_inputs(example_inputs) -> None:
    RECENT_INPUTS.append([(id(x), tuple(x.shape), x.dtype) if isinstance(x, torch.Tensor) else None
                          for x in example_inputs])


def _resolve(compiled):
    """The original model and the backend options behind a torch.compile result."""
    orig = getattr(compiled, "_orig_mod", None) or getattr(compiled, "_torchdynamo_orig_callable", None)
    if orig is None:
        raise SaveError("save() expects what torch.compile(model, backend='wasm') returned, got "
                        f"{type(compiled).__name__}")
    options = {}
    obj = getattr(compiled, "dynamo_ctx", None)
    obj = getattr(obj, "callback", None)
    for _ in range(8):  # unwrap Dynamo's layers down to the configured backend
        if obj is None:
            break
        if isinstance(getattr(obj, "kwargs", None), dict) and "options" in obj.kwargs:
            options = obj.kwargs["options"] or {}
            break
        obj = (getattr(obj, "_torchdynamo_orig_backend", None) or getattr(obj, "unconfigured_compiler_fn", None)
               or getattr(obj, "compiler_fn", None))
    return orig, options


def _inputs_from_history(orig):
    if not isinstance(orig, torch.nn.Module):
        return None
    state = {id(t) for t in list(orig.parameters()) + list(orig.buffers())}
    for record in reversed(RECENT_INPUTS):
        ids = {r[0] for r in record if r}
        if state <= ids:
            return [torch.zeros(shape, dtype=dtype) for r in record if r and r[0] not in state
                    for _, shape, dtype in [r]]
    return None


def _input_names(orig, n: int) -> list:
    fn = orig.forward if isinstance(orig, torch.nn.Module) else orig
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        params = []
    names = params[:n] if len(params) >= n and not any(p.startswith("*") for p in params[:n]) else []
    return names if len(names) == n else [f"input{i}" for i in range(n)]


def _dynamic_marks(dynamic, names, example_inputs) -> dict:
    """``{input position: {dim: max}}`` from ``save(..., dynamic=...)``, checked."""
    marks = {}
    for key, dims in (dynamic or {}).items():
        pos = names.index(key) if isinstance(key, str) and key in names else key
        if not isinstance(pos, int) or not 0 <= pos < len(example_inputs):
            raise SaveError(f"dynamic: unknown input {key!r} (inputs: {names})")
        for d, mx in dims.items():
            if not 0 <= d < example_inputs[pos].dim() or not isinstance(mx, int) or mx < example_inputs[pos].shape[d]:
                raise SaveError(f"dynamic: input {names[pos]!r} dim {d} needs a maximum >= its example size")
        marks[pos] = dict(dims)
    return marks


def _capture(orig, example_inputs, options: Options, marks=None):
    from .compiled import CompiledGraph, compile_graph

    captured, problems = [], []

    def backend(gm, dyn_inputs):
        def fw(g, fake_inputs):
            from .backend import _weight_indices

            try:
                compiled = compile_graph(g, fake_inputs, _weight_indices(()), options)
            except Unsupported as e:
                problems.append(str(e))
                return make_boxed_func(g.forward)
            captured.append((compiled, list(dyn_inputs)))
            return compiled

        try:
            return aot_autograd(fw_compiler=fw, inference_compiler=fw, decompositions=decompositions())(gm, dyn_inputs)
        except Unsupported as e:
            problems.append(str(e))
            return gm.forward

    import torch.fx.experimental._config as fx_config

    for pos, dims in (marks or {}).items():
        for d in dims:
            torch._dynamo.mark_dynamic(example_inputs[pos], d)
    fast = torch.compile(orig, backend=backend, fullgraph=True, dynamic=None if marks else False)
    try:
        with torch.no_grad(), fx_config.patch(backed_size_oblivious=True):
            fast(*example_inputs)
    except torch._dynamo.exc.Unsupported as e:
        raise SaveError("the model does not compile to one graph (a graph break), which one .wasm file needs:\n"
                        f"  {str(e).splitlines()[0]}\nRemove the break (torch.compile(..., fullgraph=True) shows "
                        "where it is) and save again.") from None
    if problems:
        raise SaveError("some operators cannot run as WebAssembly, so the artifact would be incomplete:\n"
                        + "\n".join(f"  - {p}" for p in problems)
                        + "\nReplace them in the model, or run the compiled model in Python where they fall back.")
    if len(captured) != 1 or not isinstance(captured[0][0], CompiledGraph):
        raise SaveError(f"expected one compiled graph, got {len(captured)}")
    return captured[0]


def _dim_json(expr):
    """A size for the manifest: an int, a symbol's name, or a polynomial
    ``{"poly": [[coefficient, {symbol: power}], ...]}`` (what loaders evaluate)."""
    import sympy

    expr = sympy.expand(sympy.sympify(expr))
    if expr.is_Integer:
        return int(expr)
    if expr.is_Symbol:
        return str(expr)
    terms = []
    for mono, coef in sorted(expr.as_coefficients_dict().items(), key=lambda t: str(t[0])):
        powers = mono.as_powers_dict()
        if not coef.is_Integer or any(not (b.is_Symbol and e.is_Integer) for b, e in powers.items() if b != 1):
            raise SaveError(f"size {expr} cannot be written to the manifest (only polynomials of the sizes)")
        terms.append([int(coef), {str(b): int(e) for b, e in powers.items() if b != 1}])
    return {"poly": terms}


def save(compiled, path, example_inputs=None, dynamic=None, relaxed_simd: bool = False,
         weights: str = "float32") -> dict:
    """Write ``compiled`` (a ``torch.compile(..., backend="wasm")`` result) as one ``.wasm``
    file: code, baked weights and a manifest. Returns the manifest.

    ``dynamic`` keeps dimensions variable: ``{input index or name: {dim: max size}}``; the
    artifact then accepts any size from 1 to that maximum (its memory is sized for it).
    ``relaxed_simd``: use the FMA GEMM kernels; the artifact then needs a runtime with
    relaxed SIMD (``requires.relaxed_simd`` in its manifest). By default the artifact runs on
    any SIMD128 runtime, whatever the compile option was (it is recompiled without).
    ``weights``: ``"float16"`` or ``"bfloat16"`` store the float32 weights (parameters and
    buffers) in half precision, rounded to nearest even, and widen them when the module is
    instantiated: about half the file, outputs those of the model with rounded weights."""
    weights_dtype = check_weights(weights)
    orig, raw_options = _resolve(compiled)
    options = Options.from_dict({k: v for k, v in dict(raw_options).items() if k != "debug_dir"})
    options = dataclasses.replace(options, strict=False, interpret=False, dynamic="symbolic",
                                  relaxed_simd=bool(relaxed_simd))
    if example_inputs is None:
        example_inputs = _inputs_from_history(orig)
        if example_inputs is None:
            raise SaveError("pass example_inputs=(...): the compiled model has not run yet, so its input "
                            "shapes are unknown")
    # copies: capture marks dynamic dims on them, and the user's tensors stay untouched
    example_inputs = tuple(x.clone() if isinstance(x, torch.Tensor) else x for x in example_inputs)
    if isinstance(orig, torch.nn.Module) and orig.training:
        raise SaveError("the model is in training mode; call model.eval() before saving")
    names = _input_names(orig, len(example_inputs))
    marks = _dynamic_marks(dynamic, names, example_inputs)
    graph, dyn_inputs = _capture(orig, example_inputs, options, marks)

    user_inputs, weights = [], []
    for i, (spec, x) in enumerate(zip(graph.program.inputs, dyn_inputs)):
        if spec is None:
            continue
        pos = next((j for j, u in enumerate(example_inputs) if u is x), None)
        (weights if pos is None else user_inputs).append((pos, spec))
    if len(user_inputs) != len({p for p, _ in user_inputs}):
        raise SaveError("an input tensor is passed more than once; pass distinct tensors")
    program, params = graph.program, graph.params
    binding, symbols = {}, []
    if program.symbols:  # plan at the maxima: every smaller size fits the same offsets
        for pos, spec in user_inputs:
            for d, size in enumerate(spec.shape):
                if getattr(size, "is_Symbol", False) and size not in binding:
                    if d not in marks.get(pos, {}):
                        raise SaveError(f"dimension {d} of input {names[pos]!r} became symbolic; declare it in "
                                        f"dynamic={{{names[pos]!r}: {{{d}: max_size}}}}")
                    binding[size] = marks[pos][d]
                    symbols.append({"name": str(size), "min": 1, "max": marks[pos][d],
                                    "offset": params.symbol_addr(size)})
        missing = set(program.symbols) - set(binding)
        if missing:
            raise SaveError(f"sizes {sorted(map(str, missing))} are not dimensions of the inputs")
    plan = graph.plan_for(binding) if binding else graph.plan
    mem = graph.instance.memory_view()
    image = bytearray(mem[: plan.persistent_end])
    if params is not None:
        image[params.base: params.end] = np.array(params.values(plan, binding), np.int32).tobytes()
    baked = bake(graph.schedule, plan, bytes(image), weights_dtype)
    wat = emit_module(graph.schedule, plan, segments=baked.segments, prepare=baked.prepare, widen=baked.widen,
                      pages=baked.pages).text
    manifest = {
        "format": "torch_wasm_backend", "format_version": FORMAT_VERSION,
        "inputs": [{"name": names[pos], "shape": [_dim_json(s) for s in spec.shape], "dtype": _DTYPE_NAMES[spec.dtype],
                    "offset": plan.offset(spec.buffer)} for pos, spec in sorted(user_inputs, key=lambda t: t[0])],
        "outputs": [{"name": f"output{k}", "shape": [_dim_json(s) for s in o.shape],
                     "strides": [_dim_json(s) for s in o.strides], "dtype": _DTYPE_NAMES[o.dtype],
                     "offset": _dim_json(plan.offset(o.buffer) + o.offset * np.dtype(_np(o.dtype)).itemsize)}
                    for k, o in enumerate(program.outputs)],
        "symbols": symbols,
        "weights": {"dtype": weights_dtype},
        "memory": {"pages": baked.pages, "bytes": plan.total_bytes, "weights_bytes": plan.persistent_end - 16,
                   "arena_bytes": plan.arena_bytes},
        "exports": {"memory": "memory", "forward": "forward", "prepare": "prepare"},
        "requires": {"simd128": True, "relaxed_simd": options.relaxed_simd, "threads": False},
        "options": {k: v for k, v in dataclasses.asdict(options).items() if k not in ("debug_dir", "interpret")},
        "tools": {"torch_wasm_backend": __version__, "torch": torch.__version__, "wabt": wabt_version()},
    }
    if len(manifest["inputs"]) != len(example_inputs):
        raise SaveError("every example input must be a tensor the model reads; got "
                        f"{len(example_inputs)} inputs, {len(manifest['inputs'])} reach the graph")
    wasm = assemble(wat) + custom_section(MANIFEST_SECTION, json.dumps(manifest, sort_keys=True).encode())
    _check(wasm, graph, example_inputs, rounded_inputs(program, dyn_inputs, weights_dtype))
    Path(path).write_bytes(wasm)
    return manifest


def _np(dtype: str):
    return {"f32": np.float32, "i32": np.int32, "i64": np.int64, "bool": np.bool_}[dtype]


def _check(wasm: bytes, graph, example_inputs, dyn_inputs) -> None:
    """The artifact, loaded back, must reproduce the compiled graph bit for bit."""
    want = graph(list(dyn_inputs))
    got = load(wasm)(*example_inputs)
    got = list(got) if isinstance(got, tuple) else [got]
    for g, w in zip(got, want):
        if not torch.equal(torch.nan_to_num(g, 1.0), torch.nan_to_num(w, 1.0)):
            raise SaveError("internal error: the saved artifact does not reproduce the compiled model")
