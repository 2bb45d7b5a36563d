"""``explain(model, *inputs)``: how much of a model runs as WebAssembly, and why not the rest.

(The module is not named ``explain``: importing it would then replace the package's
``explain`` function with the module.)

The model is compiled and run by the real backend, in the caller's grad mode (under
``torch.no_grad()`` the inference path, else the forward graph of the autograd path), and
the report is made from what the backend recorded (``record.py``): every ATen graph it
built and, per operator, whether it runs as WebAssembly or in eager PyTorch and why. Graph
breaks and frames Dynamo skipped come from Dynamo's own ``explain`` and counters, worded
as ``save()`` words them.
"""

from __future__ import annotations

import collections
import warnings
from dataclasses import dataclass, field

import torch

from .config import Options
from .record import dynamo_reason


@dataclass
class Explanation:
    graphs: int = 0
    graph_breaks: list = field(default_factory=list)
    op_counts: collections.Counter = field(default_factory=collections.Counter)
    unsupported: dict = field(default_factory=dict)  # op name -> first reason seen
    # frames Dynamo gave up on (e.g. a graph break inside a loop, an nn.LSTM without
    # allow_rnn): they run in eager PyTorch and their operators are not counted above
    skipped_frames: int = 0

    @property
    def supported_nodes(self) -> int:
        return sum(n for op, n in self.op_counts.items() if op not in self.unsupported)

    @property
    def coverage(self) -> float:
        """Fraction of ATen operator calls that run as WebAssembly; 0 when nothing was
        compiled (a skipped frame runs entirely in eager PyTorch)."""
        total = sum(self.op_counts.values())
        return self.supported_nodes / total if total else (0.0 if self.skipped_frames or not self.graphs else 1.0)

    def __str__(self) -> str:
        total = sum(self.op_counts.values())
        lines = [f"{self.graphs} graph(s), {len(self.graph_breaks)} graph break(s); "
                 f"{self.supported_nodes}/{total} ATen operator calls run as WebAssembly ({self.coverage:.0%})"]
        if self.skipped_frames:
            lines.append(f"  {self.skipped_frames} frame(s) skipped by Dynamo run entirely in eager PyTorch "
                         "(their operators are not counted)")
        lines += [f"  graph break: {r}" for r in self.graph_breaks]
        for op, n in sorted(self.op_counts.items()):
            status = "eager: " + self.unsupported[op] if op in self.unsupported else "wasm"
            lines.append(f"  {n:4d} x {op:<45} {status}")
        return "\n".join(lines)


def explain(model, *inputs, options: dict | None = None) -> Explanation:
    """Report graphs, graph breaks and per-operator coverage for ``model(*inputs)``, as the
    backend compiles it with ``options`` in the current grad mode. Resets Dynamo's caches."""
    from torch._dynamo.utils import counters

    from .backend import WasmFallbackWarning, compile_dynamo_graph

    opts = Options.from_dict({**(options or {}), "strict": False})
    out = Explanation()
    torch._dynamo.reset()
    unimplemented = collections.Counter(counters["unimplemented"])
    frames = collections.Counter(counters["frames"])
    dyn = torch._dynamo.explain(model)(*inputs)
    out.graph_breaks = [dynamo_reason(getattr(r, "reason", r)) for r in dyn.break_reasons]
    new = [r for r, n in counters["unimplemented"].items() if n > unimplemented[r]]
    if len(out.graph_breaks) < dyn.graph_break_count:  # breaks that made Dynamo skip a frame
        out.graph_breaks += [dynamo_reason(r) + (" (in a loop: Dynamo skipped the frame)" if "frame skipped" in r
                                                 else "") for r in new][: dyn.graph_break_count - len(out.graph_breaks)]
    out.skipped_frames = ((counters["frames"]["total"] - frames["total"])
                          - (counters["frames"]["ok"] - frames["ok"]))
    if out.skipped_frames and not out.graph_breaks:  # e.g. an nn.LSTM: the frame was skipped whole
        out.graph_breaks = [dynamo_reason(r) + " (Dynamo skipped the frame)" for r in new]
    torch._dynamo.reset()
    records: list = []
    with warnings.catch_warnings():  # the report says what falls back; no warning per graph
        warnings.simplefilter("ignore", WasmFallbackWarning)
        torch.compile(model, backend=lambda gm, ex: compile_dynamo_graph(gm, ex, opts, records), dynamic=False)(*inputs)
    torch._dynamo.reset()
    out.graphs = len(records)
    for rec in records:
        for aten in rec.aten:
            if aten.kind == "backward":
                continue
            out.op_counts.update(aten.ops)
            for op, reason in aten.eager.items():
                out.unsupported.setdefault(op, reason)
    return out
