"""``explain(model, *inputs)``: how much of a model runs as WebAssembly, and why not the rest.

(The module is not named ``explain``: importing it would then replace the package's
``explain`` function with the module.)

Dynamo's own ``torch._dynamo.explain`` reports graphs and graph breaks; each graph is then
decomposed to ATen exactly as the backend does, and every operator is checked for a
lowering (``partition.node_support``).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd

from .decompositions import decompositions
from .partition import node_support


@dataclass
class Explanation:
    graphs: int = 0
    graph_breaks: list = field(default_factory=list)
    op_counts: collections.Counter = field(default_factory=collections.Counter)
    unsupported: dict = field(default_factory=dict)  # op name -> first reason seen
    # frames Dynamo gave up on (e.g. a graph break inside a loop): they run in eager
    # PyTorch and their operators are not counted above
    skipped_frames: int = 0

    @property
    def supported_nodes(self) -> int:
        return sum(n for op, n in self.op_counts.items() if op not in self.unsupported)

    @property
    def coverage(self) -> float:
        total = sum(self.op_counts.values())
        return self.supported_nodes / total if total else 1.0

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


def explain(model, *inputs) -> Explanation:
    """Report graphs, graph breaks and per-operator coverage for ``model(*inputs)``."""
    from torch._dynamo.utils import counters

    out = Explanation()
    unimplemented = collections.Counter(counters["unimplemented"])
    frames = collections.Counter(counters["frames"])
    dyn = torch._dynamo.explain(model)(*inputs)
    out.graph_breaks = [str(getattr(r, "reason", r)).splitlines()[0] for r in dyn.break_reasons]
    if len(out.graph_breaks) < dyn.graph_break_count:  # breaks that made Dynamo skip a frame
        new = [r for r, n in counters["unimplemented"].items() if n > unimplemented[r]]
        out.graph_breaks += [r.splitlines()[0] + (" (in a loop: Dynamo skipped the frame)" if "frame skipped" in r else "")
                             for r in new][: dyn.graph_break_count - len(out.graph_breaks)]
    out.skipped_frames = ((counters["frames"]["total"] - frames["total"])
                          - (counters["frames"]["ok"] - frames["ok"]))

    def fw(gm, _):
        out.graphs += 1
        for node in gm.graph.nodes:
            if node.op != "call_function" or node.target.__module__ == "_operator":
                continue
            name = str(node.target)
            out.op_counts[name] += 1
            reason = node_support(node)
            if reason is not None:
                out.unsupported.setdefault(name, reason)
        return make_boxed_func(gm.forward)

    backend = aot_autograd(fw_compiler=fw, inference_compiler=fw, decompositions=decompositions())
    torch._dynamo.reset()
    with torch.no_grad():
        torch.compile(model, backend=backend, dynamic=False)(*inputs)
    torch._dynamo.reset()
    return out
