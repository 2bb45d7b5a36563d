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
from ..target import WIDENED
from . import (  # noqa: F401  (importing a rule module registers its rules)
    activations,
    adaptive_max_pool,
    backward,  # operators of training graphs
    conv,
    counting,
    factories,
    gather,
    index_views,
    linalg,
    linalg_orthogonal,
    linalg_solvers,
    masks,
    norm,
    padding,
    pointwise,
    pool3d,
    power,
    quant,  # int8 quantize/dequantize
    quant_gemm,  # int8 GEMMs: after linalg and conv, whose mm/addmm/convolution rules it wraps
    reductions,
    scan,
    scatter,
    segment_reduce,
    sort,
    special,
    upsample,
    vector_norm,
    view_scatter,
    views,
)
from .core import LowerContext, TensorValue, Unsupported, buffer_numel, size_expr, stored
from .registry import cast, find_lowering, ir_dtype

__all__ = ["lower_graph", "Unsupported"]


def _is_view(ctx: LowerContext, v: TensorValue) -> bool:
    return isinstance(v.load(index_vars(v.ndim)), ir.Load)


def _fetch_attr(gm, target: str):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def result_layout(val, shape) -> ir.ResultLayout | None:
    """The layout eager PyTorch gives an output (its FX value's strides, storage offset and
    storage size), or None when that is plain contiguous (the host's default)."""
    if not isinstance(val, torch.Tensor) or val.layout != torch.strided:
        return None
    strides = tuple(size_expr(s) for s in val.stride())
    offset = size_expr(val.storage_offset())
    storage = size_expr(val.untyped_storage().nbytes()) / val.element_size()
    contiguous, numel = [], sympy.Integer(1)
    for size in reversed(shape):
        contiguous.insert(0, numel)
        numel = numel * size
    same = all(sympy.simplify(a - b) == 0 for a, b in zip(strides, contiguous))
    if same and offset == 0 and sympy.simplify(storage - numel) == 0:
        return None
    return ir.ResultLayout(strides, offset, sympy.simplify(storage))


# operators whose indices may be negative (counted from the end), as PyTorch allows
_WRAPPING = {"index", "index_put", "_unsafe_index"}


def _checks(ctx: LowerContext) -> dict:
    """{indirect symbol: message} for the bounds-checked loads of the lowered kernels, in the
    user's terms: the operator and the valid range (an assertion's own message)."""
    out = {}
    for k in ctx.kernels:
        body = getattr(k, "body", None)
        for ld in ir.loads(body) if body is not None else ():
            for sym, _, bound in ld.indirect:
                node = ctx.origins.get(str(sym))
                if node is None or str(sym) in out:
                    continue
                op = getattr(getattr(node.target, "overloadpacket", None), "__name__", str(node.target))
                if op == "_linalg_check_errors":
                    out[str(sym)] = linalg_solvers.check_message(str(node.args[1]))
                elif op == "_assert_async":
                    msg = node.args[1] if len(node.args) > 1 else "a run-time check failed"
                    out[str(sym)] = f"{msg} (as PyTorch raises)" if msg else "a run-time check failed"
                else:
                    lo = f"-{bound}" if op in _WRAPPING else "0"
                    out[str(sym)] = f"{op}: index out of range [{lo}, {bound})"
    return out


def _in_graph_dtype(out, val):
    """A rule's result cast to the dtype the graph gives it (e.g. a float16 result computed
    in float32 is rounded here, once per operator, as PyTorch rounds), lists elementwise."""
    if isinstance(out, TensorValue) and isinstance(val, torch.Tensor) and ir_dtype(val.dtype) != out.dtype:
        return cast(out, ir_dtype(val.dtype))
    if isinstance(out, (list, tuple)) and isinstance(val, (list, tuple)) and len(out) == len(val):
        return type(out)(_in_graph_dtype(o, v) for o, v in zip(out, val))
    return out


def _check_storage(ctx: LowerContext) -> None:
    """float16, uint8 and int16 are storage: loaded, stored, cast, selected; anything computed
    in them is a rule that did not widen them (``registry._computed_wider``) and is refused."""
    for k in ctx.kernels:
        body = getattr(k, "body", None)
        for n in ir.walk(body) if body is not None else ():
            if n.dtype in WIDENED and not (isinstance(n, (ir.Load, ir.Const)) or (
                    isinstance(n, ir.Op) and n.name in ("cast", "where"))):
                what = n.name if isinstance(n, ir.Op) else type(n).__name__
                raise Unsupported(f"{what} computed in {n.dtype} by {k.name} ({n.dtype} is computed in "
                                  f"{WIDENED[n.dtype]})")
        if isinstance(k, (ir.Reduce, ir.Scan)) and k.body.dtype in WIDENED:
            raise Unsupported(f"{k.op} accumulated in {k.body.dtype} by {k.name} (PyTorch accumulates in "
                              f"{WIDENED[k.body.dtype]})")


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
            ctx.node = node
            out = rule(ctx, node, *args, **kwargs)
            ctx.node = None
            out = _in_graph_dtype(out, node.meta.get("val"))
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
            nodes = node.args[0] if isinstance(node.args[0], (list, tuple)) else [node.args[0]]
            for n in nodes:
                v = env[n] if isinstance(n, torch.fx.Node) else n
                if not isinstance(v, TensorValue):
                    raise Unsupported(f"graph output of type {type(v).__name__}")
                v, s = ctx.ensure_strided(v)
                outputs.append(ir.OutputSpec(s.buffer, tuple(v.shape), s.strides, s.offset, v.dtype,
                                             result_layout(n.meta.get("val"), v.shape)))
        else:
            raise Unsupported(f"FX node kind {node.op} ({node.target})")
    _check_storage(ctx)
    prog = ir.Program(tuple(ctx.buffers), tuple(ctx.kernels), tuple(inputs), tuple(outputs), dict(ctx.constants),
                      _checks(ctx))
    prog.verify()
    return prog
