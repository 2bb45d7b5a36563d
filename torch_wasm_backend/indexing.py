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
        if top.is_Number:  # the common case, without building sympy Min/Max
            lo, hi = (lo + top, hi) if top < 0 else (lo, hi + top)
        else:
            lo, hi = lo + sympy.Min(0, top), hi + sympy.Max(0, top)
    return lo, hi


def _split(a, b: int):
    """``a = b*q + rem`` where q collects the terms whose coefficients ``b`` divides."""
    q_terms, r_terms = [], []
    for term in sympy.Add.make_args(sympy.expand(a)):
        coeff, _ = term.as_coeff_Mul()
        if coeff.is_Integer and int(coeff) % b == 0:
            q_terms.append(term / b)
        else:
            r_terms.append(term)
    return sympy.Add(*q_terms), sympy.Add(*r_terms)


def _within(expr, b: int, ranges) -> bool:
    bounds = _bounds(expr, ranges)
    return bounds is not None and bounds[0].is_number and bounds[1].is_number and 0 <= bounds[0] and bounds[1] < b


def simplify(expr, ranges: dict) -> sympy.Expr:
    """Remove FloorDiv/ModIndex that variable ranges make exact; expand the rest.

    Uses ``floor((b*q + r) / b) = q + floor(r / b)`` and ``(b*q + r) mod b = r mod b`` (exact
    for integers), then drops ``floor(r / b)``/``mod`` when ``0 <= r < b``."""
    expr = sympy.sympify(expr)
    if not expr.has(FloorDiv, ModIndex):
        return sympy.expand(expr)

    def fdiv(a, b):
        a = simplify(a, ranges)
        if not b.is_Integer or int(b) <= 0:
            return FloorDiv(a, b)
        q, rem = _split(a, int(b))
        if _within(rem, int(b), ranges):
            return q
        return q + FloorDiv(rem, b)

    def fmod(a, b):
        a = simplify(a, ranges)
        if not b.is_Integer or int(b) <= 0:
            return ModIndex(a, b)
        _, rem = _split(a, int(b))
        if _within(rem, int(b), ranges):
            return rem
        return ModIndex(rem, b)

    out = expr.replace(FloorDiv, fdiv).replace(ModIndex, fmod)
    return _combine_mods(sympy.expand(out), ranges)


def _combine_mods(expr, ranges: dict):
    """``c*(x mod a) + c*a*((x // a) mod b) = c*(x mod a*b)`` (exact for x >= 0), then
    ``x mod m = x`` when ``0 <= x < m``: undoes a reshape's split of one index."""
    changed = True
    while changed:
        changed = False
        terms = {}
        for t in sympy.Add.make_args(expr):
            coeff, rest = t.as_coeff_Mul()
            terms[rest] = terms.get(rest, 0) + coeff
        for inner, c in list(terms.items()):
            if not isinstance(inner, ModIndex):
                continue
            x, a = inner.args
            for outer, c2 in terms.items():
                if (isinstance(outer, ModIndex) and isinstance(outer.args[0], FloorDiv)
                        and outer.args[0].args == (x, a) and c2 == c * a):
                    merged = ModIndex(x, a * outer.args[1])
                    if _within(x, int(a * outer.args[1]), ranges) if (a * outer.args[1]).is_Integer else False:
                        merged = x
                    expr = sympy.expand(expr - c * inner - c2 * outer + c * merged)
                    changed = True
                    break
            if changed:
                break
    return expr


def affine_coeffs(expr, variables) -> tuple | None:
    """``(const, {var: coeff})`` if ``expr`` is affine in ``variables`` (with coefficients
    free of them), else None."""
    out = _affine_coeffs(sympy.sympify(expr), tuple(variables))
    return None if out is None else (out[0], dict(out[1]))


@functools.lru_cache(maxsize=65536)
def _affine_coeffs(expr, variables: tuple):
    # memoised: scheduling and emission ask about the same index expressions many times
    expr = sympy.expand(expr)
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
