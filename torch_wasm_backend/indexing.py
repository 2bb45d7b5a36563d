"""Index arithmetic on sympy expressions.

Loop variables are non-negative integer symbols ``i0, i1, ..`` and ``r0, r1, ..``. Integer
division and remainder are the sympy functions ``FloorDiv`` and ``ModIndex`` (sympy's own
``floor``/``Mod`` rewrite themselves in ways that are hard to emit). ``simplify`` removes
them when the ranges of the variables prove that the division is exact, which is what
turns a reshape of a contiguous tensor back into plain strides.
"""

from __future__ import annotations

import functools

import sympy


@functools.cache
def _var(prefix: str, d: int) -> sympy.Symbol:
    return sympy.Symbol(f"{prefix}{d}", integer=True, nonnegative=True)


def index_vars(n: int) -> tuple:
    return tuple(_var("i", d) for d in range(n))


def reduction_vars(n: int) -> tuple:
    return tuple(_var("r", d) for d in range(n))


class FloorDiv(sympy.Function):
    """``floor(a / b)`` for integers, ``b > 0``."""

    is_integer = True

    @classmethod
    def eval(cls, a, b):
        if b == 1:
            return a
        if a == 0:
            return sympy.Integer(0)
        if a.is_Integer and b.is_Integer:
            return sympy.Integer(int(a) // int(b))
        return None


class ModIndex(sympy.Function):
    """``a mod b`` for integers ``a >= 0``, ``b > 0``."""

    is_integer = True
    is_nonnegative = True

    @classmethod
    def eval(cls, a, b):
        if b == 1 or a == 0:
            return sympy.Integer(0)
        if a.is_Integer and b.is_Integer:
            return sympy.Integer(int(a) % int(b))
        return None


def contiguous_strides(shape) -> tuple:
    strides, acc = [], sympy.Integer(1)
    for s in reversed(shape):
        strides.append(acc)
        acc = acc * sympy.Max(s, 1) if not sympy.sympify(s).is_Integer else acc * max(int(s), 1)
    return tuple(reversed(strides))


def linear_index(idx, strides) -> sympy.Expr:
    return sympy.Add(*[sympy.sympify(i) * s for i, s in zip(idx, strides)])


def _bounds(expr, ranges: dict):
    """Interval [lo, hi] of an affine expression given variable ranges (var -> size)."""
    lo = hi = sympy.Integer(0)
    expr = sympy.expand(expr)
    for term in sympy.Add.make_args(expr):
        coeff, rest = term.as_coeff_Mul()
        if rest == 1:
            lo, hi = lo + coeff, hi + coeff
            continue
        if rest not in ranges:
            return None
        top = coeff * (ranges[rest] - 1)
        lo, hi = lo + sympy.Min(0, top), hi + sympy.Max(0, top)
    return lo, hi


def _simplify_div(a, b, ranges, mod: bool):
    a = sympy.expand(a)
    if not b.is_Integer or int(b) <= 0:
        return None
    q_terms, r_terms = [], []
    for term in sympy.Add.make_args(a):
        coeff, _ = term.as_coeff_Mul()
        if coeff.is_Integer and int(coeff) % int(b) == 0:
            q_terms.append(term / b)
        else:
            r_terms.append(term)
    rem = sympy.Add(*r_terms)
    bounds = _bounds(rem, ranges)
    if bounds is None:
        return None
    lo, hi = bounds
    if not (lo.is_number and hi.is_number):
        return None
    if lo >= 0 and hi < b:
        return rem if mod else sympy.Add(*q_terms)
    # Every variable in the remainder has a coefficient dividing b, and the remainder
    # fits: recurse after factoring out the gcd is not needed for our views.
    return None


def simplify(expr, ranges: dict) -> sympy.Expr:
    """Remove FloorDiv/ModIndex that variable ranges make exact; expand the rest."""
    expr = sympy.sympify(expr)
    if not expr.has(FloorDiv, ModIndex):
        return sympy.expand(expr)

    def fdiv(a, b):
        a = simplify(a, ranges)
        r = _simplify_div(a, b, ranges, mod=False)
        if r is not None:
            return r
        bnd = _bounds(a, ranges)
        if bnd is not None and bnd[0].is_number and bnd[1].is_number and 0 <= bnd[0] and bnd[1] < b:
            return sympy.Integer(0)
        return FloorDiv(a, b)

    def fmod(a, b):
        a = simplify(a, ranges)
        r = _simplify_div(a, b, ranges, mod=True)
        if r is not None:
            return r
        bnd = _bounds(a, ranges)
        if bnd is not None and bnd[0].is_number and bnd[1].is_number and 0 <= bnd[0] and bnd[1] < b:
            return a
        return ModIndex(a, b)

    out = expr.replace(FloorDiv, fdiv).replace(ModIndex, fmod)
    return sympy.expand(out)


def affine_coeffs(expr, variables) -> tuple | None:
    """``(const, {var: coeff})`` if ``expr`` is affine in ``variables`` (with coefficients
    free of them), else None."""
    expr = sympy.expand(sympy.sympify(expr))
    coeffs = {}
    for v in variables:
        c = expr.coeff(v)
        if c.has(*variables) or c.has(FloorDiv, ModIndex):
            return None
        coeffs[v] = c
    const = expr.subs({v: 0 for v in variables})
    if sympy.expand(const + sum(c * v for v, c in coeffs.items()) - expr) != 0:
        return None
    if const.has(*variables):
        return None
    return const, coeffs
