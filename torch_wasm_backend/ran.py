"""Which compiled graph runs for a model, and its signature: what ``save()`` ships.

``find_ran_graph`` calls the compiled model twice with the same inputs: the first call may
compile (a model that has not run, or new settings), the second runs what is compiled,
with a probe on every ``CompiledGraph`` Dynamo's cache holds for the model's ``forward``.
The graph that the probe saw run is the artifact; the arguments it received tell user
inputs (the tensors we passed, by identity) from state (everything else: parameters and
buffers, which must be weights baked in memory), and the tensors it returned, found by
identity in what the model returned, give the output structure (dict keys, tuples).
Without example inputs, the call is rebuilt from the most recent graph's own signature:
``forward``'s parameter names (Dynamo's sources) and the shapes it was compiled for.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import sympy
import torch

from . import ir
from .lower.registry import IR_TO_TORCH
from .record import dynamo_reason, records_of


class SaveError(RuntimeError):
    pass


@dataclass
class RanGraph:
    graph: object  # the CompiledGraph
    args: list  # what it received in the probe call
    outputs: list  # what it returned
    inputs: list  # (user-facing name, program input index), in forward's parameter order
    example: dict  # user-facing name -> the tensor passed
    output_tree: object  # {"tensor": k} | {"tuple": [...]} | {"list": [...]} | {"dict": [[key, sub], ...]}
    output_names: list  # one per graph output (a dict key path, else "output{k}")


def forward_of(orig):
    return orig.forward if isinstance(orig, torch.nn.Module) else orig


def _entries(compiled, orig) -> list:
    """Dynamo's cache entries for the frame ``compiled`` runs: the function it wraps (for a
    module from torch itself, e.g. ``nn.Sequential``, a small wrapper of Dynamo's) and the
    model's ``forward``."""
    wrapper = compiled.forward if isinstance(compiled, torch.nn.Module) else compiled
    out, seen = [], set()
    for fn in (getattr(wrapper, "_torchdynamo_orig_callable", None), forward_of(orig)):
        fn = getattr(fn, "__func__", fn)
        code = getattr(fn, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        out += records_of(code, fn.__globals__)
    return out


def _graphs(entries) -> list:
    return [a.compiled for recs, _ in entries for r in recs if r is not None for a in r.aten if a.compiled is not None]


def _call(fn, values: dict) -> tuple[list, dict]:
    """Positional and keyword arguments of ``fn`` from {frame input name: value}: ``args[i]``
    (Dynamo's wrapper ``inner(*args, **kwargs)`` around a torch module, or ``fn``'s own
    ``*args``) go by position, as do ``fn``'s leading parameters; the rest by keyword."""
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_index = {int(n[n.index("[") + 1:-1]): v for n, v in values.items() if n.endswith("]") and "[" in n}
    kwargs = {n: v for n, v in values.items() if not (n.endswith("]") and "[" in n)}
    positional = []
    for p in params:  # leading parameters by position, so positional-only ones work
        if p.name not in kwargs or by_index:
            break
        positional.append(kwargs.pop(p.name))
    if by_index:
        if sorted(by_index) != list(range(len(by_index))):
            raise SaveError("cannot rebuild the call's positional inputs; pass example_inputs=(...)")
        positional = [by_index[i] for i in range(len(by_index))]
    if any(p.kind == p.POSITIONAL_ONLY and p.name in kwargs for p in params):
        raise SaveError("cannot rebuild the call (a positional-only input); pass example_inputs=(...)")
    return positional, kwargs


def call_from_last_graph(compiled, orig) -> tuple[list, dict] | None:
    """(positional, keyword) zeros for the inputs of the graph compiled most recently for
    ``orig`` (the shapes it was compiled for), or None if none was."""
    for recs, _ in _entries(compiled, orig):
        for rec in recs:
            if rec is None:
                continue
            for aten in reversed(rec.aten):
                g = aten.compiled
                if g is None or aten.kind == "backward" or len(rec.inputs) != len(g.program.inputs):
                    continue
                values = {}
                for name, spec in zip(rec.inputs, g.program.inputs):
                    if name.name is None or not isinstance(spec, ir.InputSpec):
                        continue
                    shape = [int(sympy.sympify(d).xreplace(g.hint_binding)) for d in spec.shape]
                    values[name.name] = torch.zeros(shape, dtype=IR_TO_TORCH[spec.dtype])
                return _call(forward_of(orig), values)
    return None


def find_ran_graph(model_call, orig, positional: list, kwargs: dict, names: dict) -> RanGraph:
    """Run ``model_call(*positional, **kwargs)`` (a ``torch.compile`` result of ``orig``)
    twice and return the one graph that ran. ``names``: id(tensor passed) -> its name."""
    with torch.no_grad():
        model_call(*positional, **kwargs)  # may compile
        entries = _entries(model_call, orig)
        graphs = _graphs(entries)
        for g in graphs:
            g.probe = []
        try:
            result = model_call(*positional, **kwargs)
        finally:
            probes = {id(g): g.probe for g in graphs}
            for g in graphs:
                g.probe = None
    ran = [g for g in graphs if probes[id(g)]]
    _check_one_graph(orig, entries, ran, positional, kwargs)
    graph = ran[0]
    args, outputs = probes[id(graph)][-1]
    inputs, example = [], {}
    for i, (spec, a) in enumerate(zip(graph.program.inputs, args)):
        if not isinstance(spec, ir.InputSpec):
            continue
        name = names.get(id(a))
        if name is not None:
            inputs.append((name, i))
            example[name] = a
        elif not spec.is_weight:
            raise SaveError(f"graph input {i} ({list(spec.shape)} {spec.dtype}) is neither an input of the call "
                            "nor a parameter or buffer of the model; pass it as an input")
    order = list(names.values())
    inputs.sort(key=lambda t: order.index(t[0]))
    tree, out_names = _output_tree(result, outputs)
    return RanGraph(graph, list(args), list(outputs), inputs, example, tree, out_names)


def _check_one_graph(orig, entries, ran, positional, kwargs) -> None:
    if len(ran) == 1 and not any(resume or len(recs) > 1 for recs, resume in entries
                                 if any(r is not None and any(a.compiled is ran[0] for a in r.aten) for r in recs)):
        return
    if len(ran) > 1 or any(resume or len(recs) > 1 for recs, resume in entries):
        breaks = _dynamo_breaks(orig, positional, kwargs)
        raise SaveError("the model runs as several graphs (a graph break), and one .wasm file needs one graph:\n"
                        + "".join(f"  - {b}\n" for b in breaks)
                        + "Remove the break (torch_wasm_backend.explain(model, ...) or torch.compile(..., "
                          "fullgraph=True) shows where it is) and save again.")
    eager = {op: reason for recs, _ in entries for r in recs if r is not None
             for a in r.aten if a.kind != "backward" for op, reason in a.eager.items()}
    if eager:
        raise SaveError("some operators cannot run as WebAssembly, so the artifact would be incomplete:\n"
                        + "".join(f"  - {op}: {reason}\n" for op, reason in sorted(eager.items()))
                        + "Replace them in the model, or run the compiled model in Python where they fall back.")
    breaks = _dynamo_breaks(orig, positional, kwargs)
    raise SaveError("Dynamo compiled no graph for this model, so there is nothing to save"
                    + (":\n" + "".join(f"  - {b}\n" for b in breaks) if breaks else
                       " (did it run under torch.compile(..., backend='wasm')?)"))


def _dynamo_breaks(orig, positional, kwargs) -> list:
    from torch._dynamo.utils import counters

    before = dict(counters["unimplemented"])
    try:
        with torch.no_grad():
            dyn = torch._dynamo.explain(orig)(*positional, **kwargs)
    except Exception as e:  # the report is best effort; the error it decorates is what matters
        return [f"(explain failed: {type(e).__name__}: {e})"]
    reasons = [dynamo_reason(getattr(r, "reason", r)) for r in dyn.break_reasons]
    reasons += [dynamo_reason(r) for r, n in counters["unimplemented"].items() if n > before.get(r, 0)
                and dynamo_reason(r) not in reasons]
    return reasons


def _output_tree(result, outputs) -> tuple:
    """The JSON structure of ``result`` with tensors replaced by their index in ``outputs``
    (found by identity), and a name per graph output: its dict key path (``logits``,
    ``past.0``) where it has one, else ``output{k}``."""
    ids = {id(t): k for k, t in enumerate(outputs)}
    names = [f"output{k}" for k in range(len(outputs))]

    def walk(obj, path, keyed):
        where = path or "0"
        if isinstance(obj, torch.Tensor):
            k = ids.get(id(obj))
            if k is None:
                raise SaveError(f"output {where} is not computed by the compiled graph (an input passed through, "
                                "or a constant); return only computed tensors")
            if keyed and names[k].startswith("output"):
                names[k] = path
            return {"tensor": k}
        if isinstance(obj, dict):  # transformers' ModelOutput is a dict too; its None fields are absent
            return {"dict": [[str(key), walk(v, f"{path}.{key}" if path else str(key), True)]
                             for key, v in obj.items() if v is not None]}
        if isinstance(obj, (tuple, list)):
            return {"list" if isinstance(obj, list) else "tuple":
                    [walk(v, f"{path}.{i}" if path else str(i), keyed) for i, v in enumerate(obj)]}
        raise SaveError(f"output {where} is a {type(obj).__name__}; an artifact returns tensors "
                        "(in dicts, tuples and lists)")

    return walk(result, "", False), names
