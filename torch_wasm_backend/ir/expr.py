"""Scalar expressions of the loop IR (``Load``, ``Const``, ``Index``, ``Op``), evaluated once per
point of a kernel's iteration space, and the operator names every stage understands."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union


import sympy

# Operator names understood by every stage (interpreter, emitter). Arity and result rule.
UNARY_OPS = (
    "neg", "abs", "sqrt", "rsqrt", "exp", "log", "tanh", "erf", "sigmoid", "relu",
    "floor", "ceil", "round", "trunc", "recip", "not", "isnan", "sign",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "log1p", "expm1", "log2", "log10", "exp2", "erfc", "erfinv", "erfcx", "i0", "i0e", "i1", "i1e", "digamma", "lgamma",
)
BINARY_OPS = (
    "add", "sub", "mul", "div", "floordiv", "mod", "max", "min", "pow", "atan2", "hypot", "polygamma", "copysign",
    "chebyshev_t", "chebyshev_u", "chebyshev_v", "chebyshev_w", "shifted_chebyshev_t", "shifted_chebyshev_u",
    "shifted_chebyshev_v", "shifted_chebyshev_w", "hermite_h", "hermite_he", "laguerre_l", "legendre_p",
    "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "xor",
)
COMPARE_OPS = ("lt", "le", "gt", "ge", "eq", "ne", "isnan")
REDUCE_OPS = ("sum", "prod", "max", "min", "argmax", "argmin")
SCAN_OPS = ("sum", "prod", "max", "min", "argmax", "argmin", "logsumexp")


# --------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Load:
    """``buffer[index]``. ``indirect`` binds extra index symbols to data: each entry is
    ``(symbol, expr, bound)``; ``expr`` (an i32 expression) is evaluated first and must lie
    in ``[0, bound)`` (out-of-range traps, as PyTorch raises), e.g. an embedding lookup."""

    buffer: str
    index: sympy.Expr
    dtype: str
    indirect: tuple = ()

    def __str__(self) -> str:
        ind = "".join(f" where {s}={e} <{b}" for s, e, b in self.indirect)
        return f"{self.buffer}[{self.index}{ind}]"


@dataclass(frozen=True)
class Const:
    value: Union[float, int, bool]
    dtype: str

    def __str__(self) -> str:
        return f"{self.value!r}:{self.dtype}"


@dataclass(frozen=True)
class Index:
    """The integer value of an index expression, e.g. for ``arange`` or masks."""

    expr: sympy.Expr
    dtype: str

    def __str__(self) -> str:
        return f"index({self.expr}):{self.dtype}"


@dataclass(frozen=True)
class Op:
    name: str
    args: tuple
    dtype: str

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))}):{self.dtype}"


Expr = Union[Load, Const, Index, Op]


def walk(expr: Expr):
    """Yield every node of an expression tree, parents before children."""
    yield expr
    if isinstance(expr, Op):
        for a in expr.args:
            yield from walk(a)
    elif isinstance(expr, Load):
        for _, e, _ in expr.indirect:
            yield from walk(e)


def loads(expr: Expr) -> list[Load]:
    return [n for n in walk(expr) if isinstance(n, Load)]


def map_expr(expr: Expr, fn_index) -> Expr:
    """Rebuild ``expr`` with ``fn_index`` applied to every index expression."""
    if isinstance(expr, Load):
        ind = tuple((s, map_expr(e, fn_index), b) for s, e, b in expr.indirect)
        return replace(expr, index=fn_index(expr.index), indirect=ind)
    if isinstance(expr, Index):
        return replace(expr, expr=fn_index(expr.expr))
    if isinstance(expr, Op):
        return replace(expr, args=tuple(map_expr(a, fn_index) for a in expr.args))
    return expr


def trap_messages(kernels, checks: dict) -> dict:
    """{kernel name: what a trap in it means}: the messages (``Program.checks``) of the
    bounds-checked indirect loads each kernel makes, joined with "; ", and a routine's own
    (``MatrixCall.trap``)."""
    out = {}
    for k in kernels:
        body = getattr(k, "body", None)
        found = [] if body is None else \
            [checks[str(s)] for ld in loads(body) for s, _, _ in ld.indirect if str(s) in checks]
        found += [k.trap] if getattr(k, "trap", "") else []
        if found:
            out[k.name] = "; ".join(dict.fromkeys(found))
    return out
