"""Lowering-time values and the context that turns them into buffers and kernels.

A ``TensorValue`` is a shape, a dtype and a *loader*: a function from an index tuple (sympy
expressions) to an IR expression. Pointwise ops and views build new loaders on top of old
ones, so a chain of them is one expression tree and becomes one loop nest when realised:
that is the fusion. ``realize`` stores a value into a fresh contiguous buffer with a
``Pointwise`` kernel; ``strided`` recovers (buffer, offset, strides) from a value whose
loader is a plain affine load, which is how views stay free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy
import torch

from .. import ir
from ..errors import Unsupported  # noqa: F401  (re-exported: lowering rules raise it)
from ..indexing import affine_coeffs, contiguous_strides, index_vars, linear_index, simplify
from ..ir import map_expr


def size_expr(s) -> sympy.Expr:
    """A tensor size (int or SymInt) as a sympy expression."""
    if isinstance(s, torch.SymInt):
        expr = s.node.expr
        if not expr.free_symbols:
            return sympy.Integer(int(expr))
        return expr
    return sympy.Integer(int(s))


def static_int(x, what: str) -> int:
    """``x`` as an int; a symbolic size here is unsupported (the caller says where)."""
    x = sympy.sympify(x)
    if not x.is_Integer:
        raise Unsupported(f"{what} with a symbolic size ({x})")
    return int(x)


def buffer_numel(numel) -> sympy.Expr:
    """Element count to allocate: at least one element, so every buffer has an address."""
    numel = sympy.sympify(numel)
    return sympy.Integer(max(int(numel), 1)) if numel.is_Integer else numel


@dataclass(frozen=True)
class Strided:
    buffer: str
    offset: sympy.Expr
    strides: tuple


@dataclass
class TensorValue:
    shape: tuple
    dtype: str
    loader: Callable[[tuple], ir.Expr]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def load(self, idx) -> ir.Expr:
        assert len(idx) == len(self.shape), (idx, self.shape)
        return self.loader(tuple(idx))

    def numel(self) -> sympy.Expr:
        return sympy.Mul(*self.shape) if self.shape else sympy.Integer(1)


def stored(buffer: str, shape, dtype: str, strides=None, offset=0) -> TensorValue:
    shape = tuple(sympy.sympify(s) for s in shape)
    strides = contiguous_strides(shape) if strides is None else tuple(strides)
    off = sympy.sympify(offset)

    def loader(idx):
        return ir.Load(buffer, off + linear_index(idx, strides), dtype)

    return TensorValue(shape, dtype, loader)


def strided(v: TensorValue) -> Strided | None:
    """(buffer, offset, strides) if ``v`` is a plain affine view of a buffer, else None."""
    syms = index_vars(v.ndim)
    expr = v.load(syms)
    if not isinstance(expr, ir.Load) or expr.indirect:
        return None
    ranges = dict(zip(syms, v.shape))
    aff = affine_coeffs(simplify(expr.index, ranges), syms)
    if aff is None:
        return None
    const, coeffs = aff
    strides = tuple(coeffs[s] if v.shape[d] != 1 else sympy.Integer(0) for d, s in enumerate(syms))
    return Strided(expr.buffer, const, strides)


class LowerContext:
    """Collects buffers, kernels and constants while a graph is lowered."""

    def __init__(self):
        self.buffers: list[ir.Buffer] = []
        self.kernels: list = []
        self.constants: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}
        self.node = None  # the FX node being lowered (set by lower_graph)
        self.origins: dict = {}  # name -> the FX node whose rule made it (trap messages)
        self.dequantized: dict = {}  # FX node -> quant.Dequantized: what an int8 pattern starts from
        self.requantized: dict = {}  # FX quantize node -> its int8 value, stored by an int8 GEMM (quant_gemm.py)

    def name(self, prefix: str) -> str:
        n = self._counts.get(prefix, 0)
        self._counts[prefix] = n + 1
        name = f"{prefix}{n}"
        if self.node is not None:
            self.origins[name] = self.node
        return name

    def new_buffer(self, dtype: str, numel, kind: str = "temp", prefix: str = "buf") -> str:
        name = self.name(prefix)
        self.buffers.append(ir.Buffer(name, dtype, sympy.sympify(numel), kind))
        return name

    def constant(self, array: np.ndarray, dtype: str) -> TensorValue:
        arr = np.array(array, dtype=ir.NUMPY_DTYPE[dtype], order="C")  # (ascontiguousarray makes 0-d 1-d)
        name = self.new_buffer(dtype, max(arr.size, 1), "const", prefix="const")
        self.constants[name] = arr.reshape(-1) if arr.size else np.zeros(1, arr.dtype)
        return stored(name, arr.shape, dtype)

    # -- realisation
    def strided(self, v: TensorValue) -> Strided | None:
        return strided(v)

    def realize(self, v: TensorValue, kind: str = "temp") -> TensorValue:
        """Store ``v`` into a new contiguous buffer (one fused Pointwise kernel)."""
        buf = self.new_buffer(v.dtype, buffer_numel(v.numel()), kind)
        self.store_into(v, buf)
        return stored(buf, v.shape, v.dtype)

    def store_into(self, v: TensorValue, buf: str, strides=None, offset=0) -> None:
        syms = index_vars(v.ndim)
        ranges = dict(zip(syms, v.shape))
        body = map_expr(v.load(syms), lambda e: simplify(e, ranges))
        strides = contiguous_strides(v.shape) if strides is None else strides
        out_index = sympy.expand(offset + linear_index(syms, strides))
        self.kernels.append(ir.Pointwise(self.name("pointwise"), buf, out_index, tuple(v.shape), body))

    def ensure_strided(self, v: TensorValue) -> tuple[TensorValue, Strided]:
        s = self.strided(v)
        if s is None:
            v = self.realize(v)
            s = self.strided(v)
        return v, s

    def reduce(self, v: TensorValue, dims: tuple, op: str, keepdim: bool, out_dtype: str | None = None) -> TensorValue:
        """Reduce ``v`` over ``dims`` into a new buffer with a ``Reduce`` kernel."""
        dims = tuple(sorted(d % max(v.ndim, 1) for d in dims)) if v.ndim else ()
        keep = [d for d in range(v.ndim) if d not in dims]
        out_shape = tuple(v.shape[d] for d in keep)
        iv = index_vars(len(keep))
        from ..indexing import reduction_vars

        rv = reduction_vars(len(dims))
        full = [None] * v.ndim
        for d, s in zip(keep, iv):
            full[d] = s
        for d, s in zip(dims, rv):
            full[d] = s
        ranges = {**dict(zip(iv, out_shape)), **dict(zip(rv, (v.shape[d] for d in dims)))}
        body = map_expr(v.load(tuple(full)), lambda e: simplify(e, ranges))
        if out_dtype and body.dtype != out_dtype:
            body = ir.Op("cast", (body,), out_dtype)
        dtype = "i64" if op in ("argmax", "argmin") else body.dtype
        numel = sympy.Mul(*out_shape) if out_shape else sympy.Integer(1)
        buf = self.new_buffer(dtype, buffer_numel(numel))
        out_index = linear_index(iv, contiguous_strides(out_shape))
        self.kernels.append(ir.Reduce(self.name("reduce"), buf, sympy.expand(out_index), out_shape,
                                      tuple(v.shape[d] for d in dims), op, body))
        result = stored(buf, out_shape, dtype)
        if keepdim:
            from .views import unsqueeze_dims

            result = unsqueeze_dims(result, dims)
        return result
