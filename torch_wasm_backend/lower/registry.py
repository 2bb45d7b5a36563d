"""The one registry from ATen operators to lowering rules.

``@lower(aten.add.Tensor, ..., promote=...)`` registers a rule. Before the rule runs, the
registry converts Python scalars to rank-0 values and, when ``promote`` is given, applies
PyTorch's own elementwise type promotion (``torch._prims_common.elementwise_dtypes``) and
broadcasting, so each rule sees operands of one shape and one computation dtype.
"""

from __future__ import annotations

import torch
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND as PROMO
from torch._prims_common import elementwise_dtypes

from .. import ir
from ..target import DTYPES, WIDENED
from .core import TensorValue, Unsupported

LOWERINGS: dict = {}

TORCH_TO_IR = {getattr(torch, d.name): d.ir for d in DTYPES}  # target.DTYPES names are torch's names
IR_TO_TORCH = {v: k for k, v in TORCH_TO_IR.items()}

DEFAULT = PROMO.DEFAULT
INT_TO_FLOAT = PROMO.INT_TO_FLOAT
ALWAYS_BOOL = PROMO.ALWAYS_BOOL
NO_OPMATH = PROMO.NO_OPMATH


def ir_dtype(dtype: torch.dtype) -> str:
    if dtype not in TORCH_TO_IR:
        raise Unsupported(f"dtype {dtype} is not supported (float32, float64, float16, int32, int64, bool and int8 are)")
    return TORCH_TO_IR[dtype]


def scalar_value(x, dtype: str) -> TensorValue:
    if dtype == "bool":
        value = bool(x)
    elif dtype in ir.FLOAT_STORAGE:
        value = float(x)
    else:
        value = int(x)
    return TensorValue((), dtype, lambda idx: ir.Const(value, dtype))


def cast(v: TensorValue, dtype: str) -> TensorValue:
    if v.dtype == dtype:
        return v
    return TensorValue(v.shape, dtype, lambda idx: ir.Op("cast", (v.load(idx),), dtype))


def broadcast_shapes(*shapes) -> tuple:
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for d in range(ndim):
        size = 1
        for s in shapes:
            k = d - (ndim - len(s))
            if k < 0:
                continue
            if s[k] != 1:
                if size != 1 and size != s[k]:
                    raise Unsupported(f"shapes {shapes} do not broadcast")
                size = s[k]
        out.append(size)
    return tuple(out)


def broadcast_to(v: TensorValue, shape) -> TensorValue:
    shape = tuple(shape)
    if tuple(v.shape) == shape:
        return v
    lead = len(shape) - v.ndim

    def loader(idx):
        return v.load(tuple(0 if v.shape[k] == 1 and shape[k + lead] != 1 else idx[k + lead]
                            for k in range(v.ndim)))

    return TensorValue(shape, v.dtype, loader)


def _torch_like(x):
    """An object elementwise_dtypes understands, for a lowered value or a scalar."""
    if isinstance(x, TensorValue):
        return torch.empty((), dtype=IR_TO_TORCH[x.dtype]) if not x.shape else torch.empty((0,) * 1, dtype=IR_TO_TORCH[x.dtype])
    return x


def lower(*ops, promote=None, operands=None):
    """Register a lowering for ``ops``. With ``promote`` set (a PyTorch type-promotion kind),
    the positional arguments in ``operands`` (default: every tensor and Python scalar) are
    promoted to the computation dtype, scalars become rank-0 values, and every tensor
    argument is broadcast to one shape first (``where``'s condition: broadcast, not promoted;
    ``clamp``'s absent bounds: left as None)."""

    def deco(fn):
        def rule(ctx, node, *args, **kwargs):
            if promote is None:
                return fn(ctx, node, *args, **kwargs)
            take = {i for i, a in enumerate(args) if isinstance(a, (TensorValue, int, float, bool))
                    and (operands is None or i in operands)}
            # rank-0 tensors take part in promotion like tensors (PyTorch's rules treat
            # them as "dimensionless", which _torch_like reproduces)
            compute, _ = elementwise_dtypes(*[_torch_like(args[i]) for i in sorted(take)],
                                            type_promotion_kind=promote)
            cdt = ir_dtype(compute)
            shape = broadcast_shapes(*[a.shape for a in args if isinstance(a, TensorValue)])
            conv = []
            for i, a in enumerate(args):
                if i in take:
                    conv.append(broadcast_to(cast(a, cdt) if isinstance(a, TensorValue) else scalar_value(a, cdt),
                                             shape))
                elif isinstance(a, TensorValue):
                    conv.append(broadcast_to(a, shape))
                else:
                    conv.append(a)
            return fn(ctx, node, *conv, **kwargs)

        for op in ops:
            LOWERINGS[op] = rule
        return fn

    return deco


# ATen ops whose rules take int8 operands. int8 is quantized storage (target.py): the
# quantize/dequantize rules of quant.py and data movement (views, copies) add themselves;
# any other rule given an int8 tensor is Unsupported (eager fallback), never int8 arithmetic.
INT8_OPS: set = set()


def _has_dtype(args, dtype: str) -> bool:
    return any(_has_dtype(a, dtype) if isinstance(a, (list, tuple)) else isinstance(a, TensorValue) and a.dtype == dtype
               for a in args)


def _makes_float64(node) -> bool:
    import torch.utils._pytree as pytree

    return any(isinstance(v, torch.Tensor) and v.dtype == torch.float64
               for v in pytree.tree_leaves(node.meta.get("val")))


def _refusing(rule, dtype: str, message: str, also=lambda node: False):
    """``rule``, but Unsupported(``message``) when an operand has ``dtype`` (or ``also(node)``)."""
    def checked(ctx, node, *args, **kwargs):
        if _has_dtype(args, dtype) or _has_dtype(tuple(kwargs.values()), dtype) or also(node):
            raise Unsupported(message)
        return rule(ctx, node, *args, **kwargs)

    return checked


# ATen ops whose rules were checked for float64 (each either computes it as float64 or
# raises Unsupported): any other rule that meets a float64 tensor, as an operand or as its
# result, is Unsupported (eager fallback) rather than trusted with it. The rules' modules
# add their ops (``float64_ops``).
FLOAT64_OPS: set = set()


def float64_ops(*ops) -> None:
    FLOAT64_OPS.update(ops)


def _widen(a):
    if isinstance(a, (list, tuple)):
        return type(a)(_widen(x) for x in a)
    return cast(a, WIDENED[a.dtype]) if isinstance(a, TensorValue) and a.dtype in WIDENED else a


# ops whose rules see uint8/int16/float16 operands as they are: indexing, where PyTorch
# reads a uint8 index as a mask (their rules refuse it; an int32 one would be an index)
UNWIDENED_OPS: set = {torch.ops.aten.index.Tensor, torch.ops.aten.index_put.default}


def _computed_wider(rule):
    """PyTorch's CPU kernels compute float16 in float32 ("opmath") and round each
    operator's result to float16 (uint8 and int16: in int32, wrapped): so every rule gets
    those operands widened (exactly) and ``lower_graph`` casts its results back to the dtype
    the graph says (``target.WIDENED``)."""
    def widened(ctx, node, *args, **kwargs):
        return rule(ctx, node, *_widen(args), **{k: _widen(v) for k, v in kwargs.items()})

    return widened


def find_lowering(target):
    packet = getattr(target, "overloadpacket", None)
    rule = LOWERINGS[target] if target in LOWERINGS else LOWERINGS.get(packet)
    if rule is None:
        return rule
    if target not in UNWIDENED_OPS:
        rule = _computed_wider(rule)
    if target not in FLOAT64_OPS and packet not in FLOAT64_OPS:
        rule = _refusing(rule, "f64", f"{target} on float64 is not lowered yet (its float32 rule has not been "
                         "checked for float64; use float32, or add it to FLOAT64_OPS once it is)", _makes_float64)
    if target in INT8_OPS or packet in INT8_OPS:
        return rule
    return _refusing(rule, "i8", f"{target} of an int8 tensor (int8 is quantized storage: only quantize/dequantize "
                     "ops and views take it)")
