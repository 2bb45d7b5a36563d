"""Lowering: an ATen FX graph becomes an ``ir.Program``.

Entry point: ``lower_graph(gm, example_inputs, weight_indices)``. Nodes are visited in
order; each rule (see ``registry.py``) turns lowered arguments into a lazy
``TensorValue``. A lazy value is inlined into every consumer (fusion) unless it has more
than one user and is more than a view, in which case it is realised once into a buffer.
Graph outputs are realised unless they already are views of a buffer.
"""

from __future__ import annotations

import sympy
import torch
import torch.fx

from .. import ir
from ..indexing import index_vars
from . import conv, linalg, misc, norm, pointwise, reductions, scan, scatter, views  # noqa: F401  (register rules)
from . import backward  # noqa: F401  (operators of training graphs)
from .core import LowerContext, TensorValue, Unsupported, buffer_numel, stored
from .registry import find_lowering, ir_dtype, cast

__all__ = ["lower_graph", "Unsupported"]


def _is_view(ctx: LowerContext, v: TensorValue) -> bool:
    return isinstance(v.load(index_vars(v.ndim)), ir.Load)


def _meta_dtype(node):
    val = node.meta.get("val")
    return getattr(val, "dtype", None)


def _fetch_attr(gm, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def size_expr(s) -> sympy.Expr:
    """A tensor size (int or SymInt) as a sympy expression."""
    if isinstance(s, torch.SymInt):
        expr = s.node.expr
        if not expr.free_symbols:
            return sympy.Integer(int(expr))
        return expr
    return sympy.Integer(int(s))


def lower_graph(gm: torch.fx.GraphModule, example_inputs, weight_indices=()) -> ir.Program:
    ctx = LowerContext()
    env: dict = {}
    inputs = []
    outputs = []
    placeholder_index = 0
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            ex = example_inputs[placeholder_index]
            is_weight = placeholder_index in weight_indices
            placeholder_index += 1
            if isinstance(ex, torch.SymInt) or isinstance(node.meta.get("val"), torch.SymInt):
                expr = size_expr(node.meta.get("val", ex))
                env[node] = expr
                inputs.append(ir.SizeSpec(expr) if isinstance(expr, sympy.Symbol) else None)
                continue
            if isinstance(ex, (int, float, bool)):
                env[node] = ex
                inputs.append(None)  # a size argument the specialised graph no longer needs
                continue
            if not isinstance(ex, torch.Tensor):
                raise Unsupported(f"input {node.name} is a {type(ex).__name__}, not a tensor")
            if ex.device.type != "cpu":
                raise Unsupported(f"input {node.name} is on {ex.device}; only CPU tensors are supported")
            if ex.layout != torch.strided:
                raise Unsupported(f"input {node.name} has layout {ex.layout}")
            dtype = ir_dtype(ex.dtype)
            shape = tuple(size_expr(s) for s in ex.shape)
            buf = ctx.new_buffer(dtype, buffer_numel(sympy.Mul(*shape)), "weight" if is_weight else "input",
                                 prefix="weight" if is_weight else "arg")
            inputs.append(ir.InputSpec(buf, shape, dtype, is_weight))
            env[node] = stored(buf, shape, dtype)
        elif node.op == "call_function" and isinstance(node.meta.get("val"), (torch.SymInt, int)) \
                and not isinstance(node.meta.get("val"), bool):
            env[node] = size_expr(node.meta["val"])  # size arithmetic: its value is known symbolically
        elif node.op == "call_function":
            rule = find_lowering(node.target)
            if rule is None:
                raise Unsupported(f"no lowering for {node.target}")
            args = torch.fx.node.map_arg(node.args, lambda n: env[n])
            kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: env[n])
            out = rule(ctx, node, *args, **kwargs)
            want = _meta_dtype(node)
            if isinstance(out, TensorValue) and want is not None and ir_dtype(want) != out.dtype:
                out = cast(out, ir_dtype(want))
            if isinstance(out, TensorValue) and len(node.users) > 1 and not _is_view(ctx, out):
                out = ctx.realize(out)
            env[node] = out
        elif node.op == "get_attr":  # a tensor constant captured by the graph: baked in
            value = _fetch_attr(gm, node.target)
            if not isinstance(value, torch.Tensor):
                raise Unsupported(f"graph attribute {node.target} of type {type(value).__name__}")
            if value.device.type != "cpu" or value.layout != torch.strided:
                raise Unsupported(f"graph constant {node.target} on {value.device} ({value.layout})")
            from torch._subclasses.fake_tensor import unset_fake_temporarily

            with unset_fake_temporarily():  # compilation runs under AOTAutograd's fake mode
                array = value.detach().contiguous().numpy().copy()
            env[node] = ctx.constant(array, ir_dtype(value.dtype))
        elif node.op == "output":
            results = torch.fx.node.map_arg(node.args[0], lambda n: env[n])
            for v in results if isinstance(results, (list, tuple)) else [results]:
                if not isinstance(v, TensorValue):
                    raise Unsupported(f"graph output of type {type(v).__name__}")
                v, s = ctx.ensure_strided(v)
                outputs.append(ir.OutputSpec(s.buffer, tuple(v.shape), s.strides, s.offset, v.dtype))
        else:
            raise Unsupported(f"FX node kind {node.op} ({node.target})")
    prog = ir.Program(tuple(ctx.buffers), tuple(ctx.kernels), tuple(inputs), tuple(outputs), dict(ctx.constants))
    prog.verify()
    return prog
