"""``save(compiled, path)``: a deployable, self-describing ``.wasm`` file.

The artifact is the code that ran. ``save`` finds the graph the backend compiled for the
model (the ``GraphRecord`` that Dynamo's cache holds for its ``forward``, see ``record.py``)
and calls the compiled model once more, with the inputs of the graph's own signature (zeros
of the shapes it was compiled for) or with ``example_inputs`` when given; that call tells
which ``CompiledGraph`` runs for those inputs, refreshes the weights (and what ``prepare``
derives from them) in its linear memory, and gives the output structure (dict keys,
tuples). When the model has not run yet, ``example_inputs`` drive an ordinary
compile-and-run; when the artifact needs other settings than the compiled model used
(variable sizes, ``relaxed_simd``), the model is compiled again by the same backend with
those settings. What ``forward`` reads of the persistent region of memory is then baked
into the module as data segments (``bake.py``), the manifest is appended as a custom
section, and the artifact is loaded back and checked against the compiled graph before
``save`` returns. By default a relaxed-SIMD (FMA) variant of the code follows in a second
custom section, sharing the SIMD128 module's weights (``fma_variant.py``,
``runtime/variants.py``); it is loaded back and checked too.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .assemble import assemble, wabt_version
from .bake import bake, check_weights, quantization, rounded_inputs
from .config import Options
from .emit.module import emit_module
from .emit.threads import emit_threaded_module, thread_splits
from .fma_variant import fma_variant
from .ran import SaveError, call_from_last_graph, find_ran_graph, forward_of
from .runtime.artifact import THREADED_SECTION, load
from .runtime.manifest import envelope, manifest_section, read_manifest, tensor_entry
from .runtime.variants import RELAXED, RELAXED_SECTION, SIMD128, variant_section
from .runtime.wasm_binary import custom_section
from .target import ITEMSIZE, MANIFEST_DTYPE


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


def _call_names(fn, positional: list, kwargs: dict) -> dict:
    """{id(tensor): user-facing name} for the tensors of a call, in ``fn``'s parameter order:
    a parameter's name (keyword arguments included), ``args[i]`` past the named ones."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        params = []
    named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), "args")
    names = {}
    for i, x in enumerate(positional):
        name = named[i] if i < len(named) else f"{star}[{i - len(named)}]"
        if isinstance(x, torch.Tensor):
            names.setdefault(id(x), name)
    order = [p.name for p in params]
    for key in sorted(kwargs, key=lambda k: order.index(k) if k in order else len(order)):
        if isinstance(kwargs[key], torch.Tensor):
            names.setdefault(id(kwargs[key]), key)
    return names


def _dynamic_marks(dynamic, tensors: dict) -> dict:
    """``{input name: {dim: max}}`` from ``save(..., dynamic=...)`` (keys: ``forward``'s
    parameter names, or positions among the tensor inputs), checked."""
    names = list(tensors)
    marks = {}
    for key, dims in (dynamic or {}).items():
        name = names[key] if isinstance(key, int) and 0 <= key < len(names) else key
        if name not in tensors:
            raise SaveError(f"dynamic: unknown input {key!r}; the inputs are {names} (forward()'s parameter names, "
                            "or their positions)")
        x = tensors[name]
        for d, mx in dims.items():
            if not isinstance(d, int) or not 0 <= d < x.dim() or not isinstance(mx, int) or mx < x.shape[d]:
                raise SaveError(f"dynamic: input {name!r} dim {d} needs a maximum >= its example size "
                                f"({list(x.shape)})")
        marks[name] = dict(dims)
    return marks


def _clone(x):
    return x.clone() if isinstance(x, torch.Tensor) else x


def envelope_for(options: Options, exports: dict, kind: str | None = None) -> dict:
    """The manifest fields every artifact has (``runtime.manifest.envelope``), for ``options``."""
    return envelope(exports, relaxed_simd=options.relaxed_simd, kind=kind,
                    options={k: v for k, v in dataclasses.asdict(options).items()
                             if k not in ("debug_dir", "interpret")},
                    tools={"torch_wasm_backend": __version__, "torch": torch.__version__, "wabt": wabt_version()})


RELAXED_CHOICES = ("both", False, True)
# the FMA variant may differ from the SIMD128 module by rounding only: a relative bound,
# generous for the long dot products of the benchmark models (float32, k up to ~5000)
VARIANT_RTOL, VARIANT_ATOL = 1e-3, 1e-4


def save(compiled, path, example_inputs=None, dynamic=None, relaxed_simd="both",
         weights: str = "float32", threads: bool = False) -> dict:
    """Write ``compiled`` (a ``torch.compile(..., backend="wasm")`` result) as one ``.wasm``
    file: code, baked weights and a manifest. Returns the manifest.

    ``dynamic`` keeps dimensions variable: ``{input index or name: {dim: max size}}``; the
    artifact then accepts any size from 1 to that maximum (its memory is sized for it).
    ``relaxed_simd``: ``"both"`` (default) writes the SIMD128 module and, beside it, a
    relaxed-SIMD (FMA) variant of its code that shares its weights (``manifest["variants"]``;
    loaders run it where the engine has relaxed SIMD; results differ from the SIMD128
    module's by rounding); ``False`` the SIMD128 module only; ``True`` one FMA module that
    needs a runtime with relaxed SIMD (``requires.relaxed_simd``). Whatever the compile
    option was, the model is recompiled to match.
    ``weights``: ``"float16"`` or ``"bfloat16"`` store the float32 weights (parameters and
    buffers) in half precision, rounded to nearest even, and widen them when the module is
    instantiated: about half the file, outputs those of the model with rounded weights.
    ``threads=True`` also records a threaded variant of the code (no data) in the custom
    section ``torch_wasm_backend.threaded`` (static shapes, a graph big enough to split):
    ``load(path, threads=N)`` runs it on N threads in Python; other hosts ignore it."""
    weights_dtype = check_weights(weights)
    orig, raw_options = _resolve(compiled)
    if isinstance(orig, torch.nn.Module) and orig.training:
        raise SaveError("the model is in training mode; call model.eval() before saving")
    ran_with = Options.from_dict({k: v for k, v in dict(raw_options).items() if k != "debug_dir"})
    if not any(relaxed_simd is c for c in RELAXED_CHOICES):
        raise SaveError(f"relaxed_simd={relaxed_simd!r}: expected 'both' (SIMD128 module and FMA variant), False "
                        "(SIMD128 only) or True (FMA only, needs relaxed SIMD)")
    options = dataclasses.replace(ran_with, strict=False, interpret=False, relaxed_simd=relaxed_simd is True)
    fn = forward_of(orig)
    positional, kwargs = _example_call(compiled, orig, example_inputs)
    names = _call_names(fn, positional, kwargs)
    tensors = {name: x for x in [*positional, *kwargs.values()] if id(x) in names for name in [names[id(x)]]}
    marks = _dynamic_marks(dynamic, tensors)
    if marks or options != dataclasses.replace(ran_with, strict=False) or ran_with.interpret:
        # the artifact needs other settings than the model ran with: compile it again, the same way
        import torch.fx.experimental._config as fx_config

        for name, dims in marks.items():
            for d in dims:
                torch._dynamo.mark_dynamic(tensors[name], d)
        call = torch.compile(orig, backend="wasm", options=dataclasses.asdict(options),
                             dynamic=None if marks else False)
        with fx_config.patch(backed_size_oblivious=bool(marks)):  # size 1 stays in a dynamic range
            ran = find_ran_graph(call, orig, positional, kwargs, names)
    else:
        ran = find_ran_graph(compiled, orig, positional, kwargs, names)
    graph = ran.graph
    user_inputs = [(name, graph.program.inputs[i]) for name, i in ran.inputs]
    program, params = graph.program, graph.params
    binding, symbols = _symbols(program, params, user_inputs, marks, dynamic)
    plan = graph.plan_for(binding) if binding else graph.plan
    mem = graph.instance.memory_view()
    image = bytearray(mem[: plan.persistent_end])
    if params is not None:
        image[params.base: params.end] = np.array(params.values(plan, binding), np.int32).tobytes()
    baked = bake(graph.schedule, plan, bytes(image), weights_dtype)
    wat = emit_module(graph.schedule, plan, segments=baked.segments, prepare=baked.prepare, widen=baked.widen,
                      pages=baked.pages).text
    manifest = _manifest(options, ran, plan, user_inputs, symbols, baked, weights_dtype)
    unread = [name for name in tensors if name not in ran.example]
    if unread:
        raise SaveError(f"inputs {unread} are passed to the model but the graph does not read them (Dynamo "
                        "dropped them); leave them out of example_inputs")
    threaded = _threaded_code(graph.schedule, plan, baked, manifest) if threads else b""
    variant = fma_variant(graph.schedule, plan, baked) if relaxed_simd == "both" else None
    if variant is not None:
        manifest["variants"] = {RELAXED: {"section": RELAXED_SECTION, "bytes": len(variant)}}
    wasm = assemble(wat) + (custom_section(THREADED_SECTION, threaded) if threaded else b"") + \
        manifest_section(manifest) + (variant_section(variant) if variant else b"")
    _check(wasm, ran, weights_dtype)
    if threaded:
        _check(wasm, ran, weights_dtype, threads=2)
    Path(path).write_bytes(wasm)
    return manifest


def _example_call(compiled, orig, example_inputs):
    """(positional, keyword) inputs of the call to save: the given ones, else those of the
    compiled model's last call; copies (dynamic dims are marked on them, the user's tensors
    stay untouched)."""
    if example_inputs is None:
        call = call_from_last_graph(compiled, orig)
        if call is None:
            raise SaveError("pass example_inputs=(...): the compiled model has not run yet (or Dynamo compiled no "
                            "graph for it), so there is no graph to save")
        positional, kwargs = call
    elif isinstance(example_inputs, dict):
        positional, kwargs = [], dict(example_inputs)
    else:
        positional, kwargs = list(example_inputs), {}
    return [_clone(x) for x in positional], {k: _clone(v) for k, v in kwargs.items()}


def _symbols(program, params, user_inputs, marks: dict, dynamic):
    """(binding, manifest symbols): each symbolic size bound to its declared maximum (the plan
    is made at the maxima, so every smaller size fits the same offsets)."""
    binding, symbols = {}, []
    if not program.symbols:
        if marks:
            raise SaveError(f"dynamic={dynamic!r}: the model compiled for static sizes only (an operator of it "
                            "needs them, e.g. grouped convolution); save it without dynamic=")
        return binding, symbols
    for name, spec in user_inputs:
        for d, size in enumerate(spec.shape):
            if getattr(size, "is_Symbol", False) and size not in binding:
                if d not in marks.get(name, {}):
                    raise SaveError(f"dimension {d} of input {name!r} became symbolic; declare it in "
                                    f"dynamic={{{name!r}: {{{d}: max_size}}}}")
                binding[size] = marks[name][d]
                symbols.append({"name": str(size), "min": 1, "max": marks[name][d], "input": name, "dim": d,
                                "offset": params.symbol_addr(size)})
    missing = set(program.symbols) - set(binding)
    if missing:
        raise SaveError(f"sizes {sorted(map(str, missing))} are not dimensions of the inputs")
    return binding, symbols


def _manifest(options, ran, plan, user_inputs, symbols, baked, weights_dtype: str) -> dict:
    """The artifact's manifest (``runtime/manifest.py`` reads and checks it)."""
    graph = ran.graph
    try:
        return {
            **envelope_for(options, {"memory": "memory", "forward": "forward", "prepare": "prepare"}),
            "inputs": [tensor_entry(name, spec.shape, MANIFEST_DTYPE[spec.dtype], plan.offset(spec.buffer))
                       for name, spec in user_inputs],
            "outputs": [tensor_entry(ran.output_names[k], o.shape, MANIFEST_DTYPE[o.dtype],
                                     plan.offset(o.buffer) + o.offset * ITEMSIZE[o.dtype], o.strides)
                        for k, o in enumerate(graph.program.outputs)],
            "output_tree": ran.output_tree,
            "traps": graph.traps,  # wasm function -> what a trap in it means (loaders say so)
            "symbols": symbols,
            "weights": {"dtype": weights_dtype},
            **({"quantization": q} if (q := quantization(graph.schedule)) else {}),
            "memory": {"pages": baked.pages, "bytes": plan.total_bytes, "weights_bytes": plan.persistent_end - 16,
                       "arena_bytes": plan.arena_bytes},
        }
    except ValueError as e:  # a size the manifest cannot express
        raise SaveError(str(e)) from None


def _threaded_code(schedule, plan, baked, manifest: dict) -> bytes:
    """The threaded twin of the code (no data) for ``save(threads=True)``; notes it in the manifest."""
    splits = thread_splits(schedule) if not schedule.program.symbols else None
    if splits is None:
        raise SaveError("threads=True: this graph runs on one thread (symbolic sizes, or every kernel too small "
                        "to split: target.THREADS); save it without threads=")
    manifest["threads"] = {"section": THREADED_SECTION}
    return assemble(emit_threaded_module(schedule, plan, splits, data=False, pages=baked.pages).text)


def _check(wasm: bytes, ran, weights_dtype: str, threads: int = 1) -> None:
    """The artifact, loaded back, must reproduce the compiled graph bit for bit (on the
    inputs of the call that found it; with half-precision weights, the graph run with its
    weights rounded so)."""
    outputs = ran.outputs if weights_dtype == "float32" else \
        ran.graph(rounded_inputs(ran.graph.program, ran.args, weights_dtype))
    requires_relaxed = read_manifest(wasm)["requires"]["relaxed_simd"]
    # the variant that ran in save(): the SIMD128 module (threaded: its threaded twin)
    model = load(wasm, variant="auto" if requires_relaxed else SIMD128, threads=threads)
    got = model.run_flat(**ran.example)  # manifest order
    for g, want in zip(got, outputs):
        g = torch.as_tensor(np.asarray(g))
        if not torch.equal(torch.nan_to_num(g, 1.0), torch.nan_to_num(want, 1.0)):
            raise SaveError("internal error: the saved artifact does not reproduce the compiled model")
    if "variants" not in model.manifest:
        return
    fused = load(wasm, variant=RELAXED).run_flat(**ran.example)
    for g, want in zip(fused, got):
        g, want = np.asarray(g), np.asarray(want)
        scale = float(np.max(np.abs(want), initial=0.0)) if want.dtype.kind == "f" and want.size else 0.0
        same = np.array_equal(g, want, equal_nan=True) if want.dtype.kind != "f" else \
            np.allclose(g, want, rtol=VARIANT_RTOL, atol=VARIANT_ATOL * max(scale, 1.0), equal_nan=True)
        if not same:
            raise SaveError("internal error: the relaxed-SIMD variant's outputs are not those of the SIMD128 module "
                            "up to rounding")
