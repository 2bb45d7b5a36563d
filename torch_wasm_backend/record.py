"""What the backend did with each Dynamo graph: the record ``explain()`` reports and ``save()`` ships.

The backend returns, for every graph Dynamo hands it, a callable carrying a ``GraphRecord``
(attribute ``_wasm_record``; Dynamo's wrappers copy a callable's ``__dict__``, so the record
is found again from Dynamo's cache, see ``records_of``). A record names the graph's inputs
as the user wrote them (Dynamo's sources: ``forward``'s parameter names, keyword arguments
included; the model's parameters and buffers are state), and lists each ATen graph our
compiler built for it (inference, forward, backward, one per specialised shape) with what
runs as WebAssembly and what in eager PyTorch, and why. No module-level state: a record
lives as long as the compiled code that holds it.
"""

from __future__ import annotations

import collections
import operator
from dataclasses import dataclass, field

import torch


@dataclass
class AtenRecord:
    """One ATen graph and how it runs."""

    kind: str  # "inference" | "forward" | "backward"
    ops: collections.Counter  # ATen operator name -> calls in the graph
    eager: dict  # ATen operator name -> why it runs in eager PyTorch (empty: all WebAssembly)
    compiled: object = None  # the CompiledGraph when the whole graph is one module, else None


@dataclass
class GraphRecord:
    """One Dynamo graph: its inputs as the user names them and the ATen graphs built for it."""

    inputs: list  # per Dynamo placeholder: InputName
    aten: list = field(default_factory=list)  # of AtenRecord, in the order they were compiled

    def add(self, kind: str, gm: torch.fx.GraphModule, compiled=None, eager=None) -> AtenRecord:
        rec = AtenRecord(kind, op_counts(gm), dict(eager or {}), compiled)
        self.aten.append(rec)
        return rec


@dataclass(frozen=True)
class InputName:
    """A Dynamo graph input: ``name`` is what the user passes (a ``forward`` parameter, or
    ``args[i]`` of ``*args``), or None for state (parameters, buffers, globals)."""

    name: str | None
    source: str  # Dynamo's source, for messages


def op_counts(gm: torch.fx.GraphModule) -> collections.Counter:
    return collections.Counter(str(n.target) for n in gm.graph.nodes
                               if n.op == "call_function" and n.target is not operator.getitem
                               and getattr(n.target, "__module__", None) != "_operator")


def eager_ops(gm: torch.fx.GraphModule, reasons: dict) -> dict:
    """{ATen operator name: reason} from ``partition``'s {node name: reason}."""
    targets = {n.name: str(n.target) for n in gm.graph.nodes}
    out = {}
    for name, reason in reasons.items():
        op = targets.get(name, name)
        out.setdefault(op, reason.removeprefix(f"{op}: "))
    return out


def input_names(gm: torch.fx.GraphModule) -> list:
    """``InputName`` of each placeholder of a Dynamo graph, from its ``grapharg`` sources."""
    from torch._dynamo.source import DictGetItemSource, GetItemSource, LocalSource

    names = []
    for node in gm.graph.nodes:
        if node.op != "placeholder":
            continue
        arg = node.meta.get("grapharg")
        source = getattr(arg, "source", None)
        name = None
        if isinstance(source, LocalSource) and not source.local_name.startswith("___"):
            name = source.local_name
        elif isinstance(source, (GetItemSource, DictGetItemSource)) and isinstance(source.base, LocalSource):
            if isinstance(source.index, int):  # *args (of forward, or of Dynamo's wrapper around it)
                name = f"{source.base.local_name}[{source.index}]"
            elif isinstance(source.index, str):  # **kwargs: the keyword is the name
                name = source.index
        names.append(InputName(name, str(getattr(source, "name", node.name)) if source is not None else node.name))
    return names


def attach(fn, record: GraphRecord):
    """``fn`` with ``record`` attached (``fn`` is a fresh callable made for this graph). Also
    on the callables it wraps: Dynamo re-wraps a ``disable``d function (AOTAutograd returns
    one) from its innermost callable, keeping only that one's attributes."""
    try:
        inner = fn
        for _ in range(8):
            inner._wasm_record = record
            inner = getattr(inner, "_torchdynamo_orig_callable", None)
            if inner is None:
                break
    except AttributeError:  # a callable that takes no attributes (a bound method): wrap it
        wrapped = fn

        def fn(*args):
            return wrapped(*args)

        fn._wasm_record = record
    return fn


def record_of(fn) -> GraphRecord | None:
    for _ in range(8):  # through Dynamo's wrappers (functools.wraps)
        if fn is None:
            return None
        rec = getattr(fn, "_wasm_record", None)
        if rec is not None:
            return rec
        fn = getattr(fn, "__wrapped__", None)
    return None


def records_of(code, globals_: dict) -> list:
    """``[(records of one cache entry, whether the entry resumes after a graph break)]`` for
    the code object ``code`` that Dynamo compiled, most recent entry first."""
    from torch._dynamo.eval_frame import _debug_get_cache_entry_list

    out = []
    for entry in _debug_get_cache_entry_list(code):
        names = entry.code.co_names
        recs = [record_of(globals_.get(n)) for n in names if n.startswith("__compiled_fn")]
        out.append((recs, any(n.startswith("__resume_at") for n in names)))
    return out


def dynamo_reason(text: str) -> str:
    """A graph-break or skip reason in user terms: its first line and Dynamo's hints."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not lines:
        return "unknown reason"
    hints = [ln[len("Hint:"):].strip() for ln in lines[1:] if ln.startswith("Hint:")]
    hints = [h for h in hints if "report an issue to PyTorch" not in h]
    return lines[0] + (f" ({'; '.join(hints)})" if hints else "")
