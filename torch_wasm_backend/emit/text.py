"""Small, deterministic pieces of WAT text: literals, index arithmetic, addresses."""

from __future__ import annotations

import math

import numpy as np
import sympy

from ..indexing import FloorDiv, ModIndex
from ..target import DTYPES, ITEMSIZE  # noqa: F401  (ITEMSIZE re-exported for the emitters)

WASM_TYPE = {d.ir: d.wasm for d in DTYPES}  # the value type a scalar of each dtype has in WebAssembly
_DTYPE = {d.ir: d for d in DTYPES}


def load(dtype: str, address: str) -> str:
    """One element of ``dtype`` loaded from ``address`` (``offset=..`` included) as its
    WebAssembly value (float16: widened to f32)."""
    d = _DTYPE[dtype]
    value = f"({d.load} {address})"
    return f"(call {d.widen} {value})" if d.widen else value


def store(dtype: str, address: str, value: str) -> str:
    """Store ``value`` (a WebAssembly value of ``dtype``) at ``address`` (float16: narrowed)."""
    d = _DTYPE[dtype]
    return f"({d.store} {address} {f'(call {d.narrow} {value})' if d.narrow else value})"


def _hex_literal(v: float, exact_ints: float) -> str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < exact_ints:
        return str(int(v)) if v or math.copysign(1, v) > 0 else "-0"
    mantissa, exponent = v.hex().split("p")
    return mantissa.rstrip("0").rstrip(".") + "p" + exponent


def f32_literal(value: float) -> str:
    """Exact hexadecimal text of ``value`` rounded to float32 (deterministic, lossless)."""
    return _hex_literal(float(np.float32(value)), 2**24)


def f64_literal(value: float) -> str:
    """Exact hexadecimal text of a float64 (deterministic, lossless)."""
    return _hex_literal(float(value), 2**53)


def const(value, dtype: str) -> str:
    if dtype == "f32":
        return f"(f32.const {f32_literal(value)})"
    if dtype == "f64":
        return f"(f64.const {f64_literal(value)})"
    if dtype == "f16":  # an f32 holding the float16 value
        return f"(f32.const {f32_literal(np.float16(value))})"
    if dtype in ("u8", "i16"):  # an i32 holding the value, wrapped as a cast to the dtype wraps
        return f"(i32.const {int(np.array(int(value)).astype(np.uint8 if dtype == 'u8' else np.int16))})"
    if dtype == "i64":
        return f"(i64.const {int(value)})"
    if dtype == "bool":
        return f"(i32.const {1 if value else 0})"
    return f"(i32.const {int(np.int32(int(value)))})"


def vconst(value, dtype: str) -> str:
    if dtype == "f32":
        lit = f32_literal(value)
        return f"(v128.const f32x4 {lit} {lit} {lit} {lit})"
    if dtype == "bool":
        v = -1 if value else 0
        return f"(v128.const i32x4 {v} {v} {v} {v})"
    v = int(np.int32(int(value)))
    return f"(v128.const i32x4 {v} {v} {v} {v})"


def _sorted_terms(expr):
    return sorted(sympy.Add.make_args(expr), key=sympy.default_sort_key)


def index(expr, env: dict) -> str:
    """WAT i32 arithmetic for a sympy index expression; ``env`` maps symbols to WAT."""
    expr = sympy.sympify(expr)
    if expr.is_Integer:
        return f"(i32.const {int(expr)})"
    if expr.is_Symbol:
        return env[expr]
    if expr.is_Add:
        terms = [index(t, env) for t in _sorted_terms(expr)]
        out = terms[0]
        for t in terms[1:]:
            out = f"(i32.add {out} {t})"
        return out
    if expr.is_Mul:
        coeff, rest = expr.as_coeff_Mul()
        if coeff == -1:
            return f"(i32.sub (i32.const 0) {index(rest, env)})"
        if coeff != 1:
            c = int(coeff)
            inner = index(rest, env)
            if c > 0 and c & (c - 1) == 0:
                return f"(i32.shl {inner} (i32.const {c.bit_length() - 1}))"
            return f"(i32.mul {inner} (i32.const {c}))"
        factors = sorted(sympy.Mul.make_args(expr), key=sympy.default_sort_key)
        out = index(factors[0], env)
        for f in factors[1:]:
            out = f"(i32.mul {out} {index(f, env)})"
        return out
    if expr.is_Pow and expr.exp.is_Integer and int(expr.exp) > 0:
        base = index(expr.base, env)
        out = base
        for _ in range(int(expr.exp) - 1):
            out = f"(i32.mul {out} {base})"
        return out
    if isinstance(expr, FloorDiv):
        return f"(i32.div_s {index(expr.args[0], env)} {index(expr.args[1], env)})"
    if isinstance(expr, ModIndex):
        return f"(i32.rem_s {index(expr.args[0], env)} {index(expr.args[1], env)})"
    if isinstance(expr, (sympy.Max, sympy.Min)):  # e.g. a slice's length, Max(1, s0 - 2): pure, so
        # evaluating an operand twice is only a cost
        cmp = "i32.gt_s" if isinstance(expr, sympy.Max) else "i32.lt_s"
        args = sorted(expr.args, key=sympy.default_sort_key)
        out = index(args[0], env)
        for a in args[1:]:
            b = index(a, env)
            out = f"(select {out} {b} ({cmp} {out} {b}))"
        return out
    raise NotImplementedError(f"cannot emit index expression {expr} ({type(expr).__name__})")


def address(base: int, idx, itemsize: int, env: dict) -> tuple[str, int]:
    """(dynamic part, static offset) of ``base + itemsize * idx``; the static part goes in
    the instruction's ``offset=`` immediate."""
    idx = sympy.expand(sympy.sympify(idx))
    const = sum((t for t in sympy.Add.make_args(idx) if t.is_number), sympy.Integer(0))
    rest = idx - const
    static = base + itemsize * int(const)
    # The dynamic part is an unsigned i32: it must not go negative on its own (a term with
    # a negative coefficient, e.g. a reversed window) even when the whole index does not.
    if static < 0 or any(t.as_coeff_Mul()[0] < 0 for t in sympy.Add.make_args(rest)):
        rest, static = idx, base
    if rest == 0:
        return "(i32.const 0)", static
    return index(sympy.expand(rest * itemsize), env), static


_BYTE_TEXT = [chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:02x}" for b in range(256)]


def data_string(data: bytes) -> str:
    """A WAT string literal for raw bytes (printable ASCII kept, the rest as \\hh)."""
    return "".join(map(_BYTE_TEXT.__getitem__, data))
