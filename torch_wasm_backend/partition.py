"""Partial compilation: supported regions of a graph run as WebAssembly, the rest eagerly.

Used when a whole graph cannot be lowered. Each ``call_function`` node is tried on its own
(lowered as a one-node graph from its ``meta["val"]`` shapes); PyTorch's
``CapabilityBasedPartitioner`` then groups supported nodes into maximal regions, each
region is compiled like a graph of its own, and the outer graph calls them between the
operators that stay in eager PyTorch. The reasons collected on the way name what fell
back and why.
"""

from __future__ import annotations

import operator

import torch
import torch.fx
from torch.fx.passes.infra.partitioner import CapabilityBasedPartitioner
from torch.fx.passes.operator_support import OperatorSupportBase

from .config import Options
from .lower import Unsupported, lower_graph


def _one_node_graph(node: torch.fx.Node) -> tuple[torch.fx.GraphModule, list]:
    g = torch.fx.Graph()
    env, examples = {}, []
    for arg in node.all_input_nodes:
        val = arg.meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise Unsupported(f"input {arg.name} of {node.name} is a {type(val).__name__}")
        p = g.placeholder(arg.name)
        p.meta["val"] = val
        env[arg] = p
        examples.append(val)
    new = g.node_copy(node, lambda n: env[n])
    vals = node.meta.get("val")
    if isinstance(vals, (list, tuple)):
        outs = []
        for i, v in enumerate(vals):
            if isinstance(v, torch.Tensor) and any(u.target is operator.getitem and u.args[1] == i for u in node.users):
                item = g.call_function(operator.getitem, (new, i))
                item.meta["val"] = v
                outs.append(item)
        g.output(tuple(outs))
    else:
        g.output((new,))
    return torch.fx.GraphModule(torch.nn.Module(), g), examples


def node_support(node: torch.fx.Node) -> str | None:
    """None if ``node`` lowers on its own, else the reason it does not."""
    if node.target is operator.getitem:
        return None  # follows its producer
    try:
        gm, examples = _one_node_graph(node)
        lower_graph(gm, examples)
    except Unsupported as e:
        return str(e)
    except Exception as e:  # a lowering bug must not crash compilation: fall back instead
        return f"{type(e).__name__} while lowering: {e}"
    return None


class _Support(OperatorSupportBase):
    def __init__(self):
        self.reasons: dict[str, str] = {}

    def is_node_supported(self, submodules, node: torch.fx.Node) -> bool:
        if node.op != "call_function":
            return False
        reason = node_support(node)
        if reason is None and node.target is operator.getitem:
            producer = node.args[0]
            return isinstance(producer, torch.fx.Node) and producer.name not in self.reasons
        if reason is not None:
            self.reasons[node.name] = f"{node.target}: {reason}"
        return reason is None


class WasmRegion(torch.nn.Module):
    """A compiled region, called from the eager outer graph. Its inputs come from eager nodes
    whose dtypes were known at compile time only from PyTorch's meta kernels; where one of
    those disagrees with its real kernel (``prims.signbit``'s meta says float32, the kernel
    returns bool), the region runs eagerly instead, with one warning saying why."""

    def __init__(self, compiled, n_outputs: int, eager: torch.nn.Module, name: str, examples):
        super().__init__()
        self.compiled, self.n_outputs, self.eager, self.name = compiled, n_outputs, eager, name
        self.dtypes = [getattr(e, "dtype", None) for e in examples]
        self.mismatch = None  # (input position, compile-time dtype, run-time dtype) if seen
        self.checked = False  # the inputs' dtypes are fixed for the graph: checked on the first call only

    def forward(self, *args):
        if not self.checked:
            self.checked = True
            for k, (a, dt) in enumerate(zip(args, self.dtypes)):
                if isinstance(a, torch.Tensor) and dt is not None and a.dtype != dt:
                    self.mismatch = (k, dt, a.dtype)
                    from .backend import WasmFallbackWarning
                    import warnings

                    warnings.warn(f"torch_wasm_backend: region {self.name} runs in eager PyTorch: its input {k} is "
                                  f"{a.dtype} at run time but {dt} at compile time (a PyTorch meta kernel "
                                  "disagrees with its real kernel)", WasmFallbackWarning, stacklevel=2)
                    break
        outs = self.eager(*args) if self.mismatch is not None else self.compiled(list(args))
        return tuple(outs) if self.n_outputs != 1 else outs[0]


def partition(gm: torch.fx.GraphModule, weight_indices, options: Options, compile_region):
    """Return ``(outer GraphModule, reasons)``; ``reasons`` maps node names to why they stay
    eager. ``compile_region(submodule, example_inputs, weight_indices)`` compiles a region."""
    import copy

    gm = torch.fx.GraphModule(gm, copy.deepcopy(gm.graph))  # fusing rewrites the graph in place
    support = _Support()
    partitioner = CapabilityBasedPartitioner(gm, support, allows_single_node_partition=True)
    parts = partitioner.propose_partitions()
    # a region made only of getitem/view plumbing is not worth a call into wasm
    fused = partitioner.fuse_partitions(parts) if parts else gm
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    weights = {placeholders[i].name for i in weight_indices if i < len(placeholders)}
    for node in list(fused.graph.nodes):
        if node.op != "call_module":
            continue
        sub = getattr(fused, node.target)
        examples = [a.meta.get("val") for a in node.args]
        sub_weights = [i for i, a in enumerate(node.args) if isinstance(a, torch.fx.Node) and a.name in weights]
        outputs = next(n for n in sub.graph.nodes if n.op == "output").args[0]
        n_out = len(outputs) if isinstance(outputs, (list, tuple)) else 1
        if not isinstance(outputs, (list, tuple)):
            out_node = next(n for n in sub.graph.nodes if n.op == "output")
            out_node.args = ((outputs,),)
            sub.recompile()
        try:
            compiled = compile_region(sub, examples, sub_weights)
        except Unsupported as e:
            support.reasons[node.target] = f"region {node.target}: {e}"
            continue
        setattr(fused, node.target, WasmRegion(compiled, n_out, sub, node.target, examples))
    fused.recompile()
    return fused, support.reasons
