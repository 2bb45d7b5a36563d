"""A numpy interpreter of the loop IR: the IR's living specification.

Each kernel is evaluated over its whole iteration space at once: loop variables become
broadcast ``arange`` arrays, index expressions are evaluated with numpy, and ``Load``
gathers from flat buffers. Slow, obvious and independent of WebAssembly, so lowering and
scheduling can be tested without a toolchain, and a wrong answer points at one stage.
"""

from __future__ import annotations

import math

import numpy as np
import sympy

from . import ir
from .indexing import index_vars, reduction_vars

_NP = ir.NUMPY_DTYPE


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(x.dtype)


def _mod(a, b):
    return np.where(b == 0, np.nan, np.mod(a, b)) if a.dtype.kind == "f" else np.mod(a, b)


def _floordiv(a, b):
    if a.dtype.kind == "f":
        return np.floor(a / b)
    return np.floor_divide(a, b)


def _div(a, b):
    if a.dtype.kind == "f":
        return a / b
    q = np.abs(a) // np.abs(b)  # C-style truncation, like i32.div_s
    return np.where((a < 0) != (b < 0), -q, q).astype(a.dtype)


def _f64(fn):
    """A float32 routine of csrc/wat/math_f32x4_f64.wat: evaluated in float64 and rounded
    once, as the WebAssembly does (numpy's float64 functions are correctly reduced and
    within an ulp of float64, so this is the same float32 result but within ~2^-26 ulp
    of a tie)."""
    def run(*args):
        dtype = np.result_type(*args)
        with np.errstate(all="ignore"):
            return fn(*[np.asarray(a, np.float64) for a in args]).astype(dtype)
    return run


def _erfinv64(x: float) -> float:
    """erfinv in float64 (numpy has none): Giles' first guess, then Newton steps on erf."""
    a = abs(x)
    if not a <= 1:
        return math.nan
    if a == 1:
        return math.copysign(math.inf, x)
    w = -math.log((1 - a) * (1 + a))
    y = a * (1.50140941 + 0.246640727 * (w - 2.5)) if w < 5 else a * (2.83297682 + 1.00167406 * (math.sqrt(w) - 3))
    for _ in range(6):
        r = math.erf(y) - a if y < 0.5 else (1 - a) - math.erfc(y)
        y -= r / (2 / math.sqrt(math.pi) * math.exp(-y * y))
    return math.copysign(y, x)


def _erfcx64(x: float) -> float:
    """exp(x^2) * erfc(x) in float64 (numpy has none): directly where it does not
    underflow, else the asymptotic series (x > 26: erfc underflows in float64); inf
    below -26 (2 exp(x^2) overflows float32 already below -9.4)."""
    if x != x:
        return math.nan
    if x < -26:
        return math.inf
    if x < 26:
        return math.exp(x * x) * math.erfc(x)
    s, term = 1.0, 1.0
    for k in range(1, 10):
        term *= -(2 * k - 1) / (2 * x * x)
        s += term
    return s / (x * math.sqrt(math.pi))


def _besseli64(x: float, nu: int, scaled: bool) -> float:
    """Modified Bessel I0/I1 (optionally times exp(-|x|)) in float64: the power series up
    to |x| = 30, the asymptotic series above."""
    a = abs(x)
    if a != a:
        return math.nan
    if a <= 30:
        q, term, s = a * a / 4, 1.0, 1.0
        for k in range(1, 65):
            term *= q / (k * (k + nu))
            s += term
        r = s * (a / 2 if nu else 1.0) * (math.exp(-a) if scaled else 1.0)
    elif a == math.inf:  # I(+-inf) = NaN, as PyTorch (Cephes)
        r = 0.0 if scaled else math.nan
    else:
        term, s = 1.0, 1.0
        for k in range(1, 15):
            term *= -(4 * nu * nu - (2 * k - 1) ** 2) / (8 * k * a)
            s += term
        r = s / math.sqrt(2 * math.pi * a)
        if not scaled:
            r = r * math.exp(a) if a < 700 else math.inf
    return math.copysign(r, x) if nu and x != 0 else r  # I1(-0) = +0, as PyTorch


def _digamma64(x: float) -> float:
    """digamma in float64 with PyTorch's special values (psi(+-0) = -+inf, NaN at negative
    integers): reflection below 0, recurrence to 10, asymptotic series."""
    if x != x or x == -math.inf:
        return math.nan
    if x == 0:
        return math.copysign(math.inf, -x)
    if x == math.inf:
        return math.inf
    extra = 0.0
    if x < 0:
        r = x - round(x)
        if r == 0:
            return math.nan
        extra, x = -math.pi / math.tan(math.pi * r), 1 - x
    s = 0.0
    while x < 10:
        s, x = s + 1 / x, x + 1
    z = 1 / (x * x)
    series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (1 / 132 - z * (691 / 32760 - z / 12))))))
    return math.log(x) - 0.5 / x - series - s + extra


_F64_UNARY = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "log1p": np.log1p, "expm1": np.expm1, "log2": np.log2, "log10": np.log10, "exp2": np.exp2,
    "erfc": np.vectorize(math.erfc, otypes=[np.float64]),
    "erfinv": np.vectorize(_erfinv64, otypes=[np.float64]),
    "erfcx": np.vectorize(_erfcx64, otypes=[np.float64]),
    "digamma": np.vectorize(_digamma64, otypes=[np.float64]),
    **{name: np.vectorize(lambda x, nu=nu, scaled=scaled: _besseli64(x, nu, scaled), otypes=[np.float64])
       for name, nu, scaled in (("i0", 0, False), ("i0e", 0, True), ("i1", 1, False), ("i1e", 1, True))},
}


def _pow(a, b):
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return _f64(np.power)(a, b)  # C's pow special cases (pow(1, nan) = 1, ...), as numpy's
    return np.power(a, b)


UNARY = {
    "neg": np.negative, "abs": np.abs, "sqrt": np.sqrt,
    "rsqrt": lambda x: (1 / np.sqrt(x)).astype(x.dtype),
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "erf": _erf,
    "sigmoid": lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype),
    "relu": lambda x: np.where(x < 0, 0, x).astype(x.dtype),  # keeps -0.0 and NaN, as PyTorch
    "floor": np.floor, "ceil": np.ceil, "round": np.rint, "trunc": np.trunc,
    "recip": lambda x: (1 / x).astype(x.dtype),
    "not": np.logical_not, "isnan": np.isnan, "sign": np.sign,
    **{name: _f64(fn) for name, fn in _F64_UNARY.items()},
}
BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": _div,
    "floordiv": _floordiv, "mod": _mod,
    # NaN propagates and a tie keeps the first operand (max(-0.0, 0.0) = -0.0), as PyTorch
    "max": lambda a, b: np.where((a >= b) | (a != a), a, b).astype(np.result_type(a, b)),
    "min": lambda a, b: np.where((a <= b) | (a != a), a, b).astype(np.result_type(a, b)),
    "pow": _pow, "atan2": _f64(np.arctan2), "hypot": _f64(np.hypot), "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal,
    "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
}


def eval_index(expr, env: dict, shape: tuple) -> np.ndarray:
    expr = sympy.sympify(expr)
    syms = sorted(expr.free_symbols, key=str)
    fn = sympy.lambdify(syms, expr, modules=[{"FloorDiv": np.floor_divide, "ModIndex": np.mod}, "numpy"])
    out = np.asarray(fn(*[env[s] for s in syms]), dtype=np.int64)
    return np.broadcast_to(out, shape)


def cast(x: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bool":
        return x != 0
    if x.dtype.kind == "f" and dtype in ("i32", "i64"):
        with np.errstate(invalid="ignore"):
            return np.trunc(x).astype(_NP[dtype])
    return x.astype(_NP[dtype])


def eval_expr(expr, env: dict, mem: dict, shape: tuple) -> np.ndarray:
    if isinstance(expr, ir.Load):
        if expr.indirect:
            env = dict(env)
            for sym, e, bound in expr.indirect:
                val = eval_expr(e, env, mem, shape).astype(np.int64)
                if val.size and (val.min() < 0 or val.max() >= int(bound)):
                    raise IndexError(f"indirect index {sym} out of range [0, {bound})")
                env[sym] = val
        idx = eval_index(expr.index, env, shape)
        return mem[expr.buffer][idx]
    if isinstance(expr, ir.Const):
        return np.full(shape, expr.value, dtype=_NP[expr.dtype])
    if isinstance(expr, ir.Index):
        return eval_index(expr.expr, env, shape).astype(_NP[expr.dtype])
    args = [eval_expr(a, env, mem, shape) for a in expr.args]
    with np.errstate(all="ignore"):
        if expr.name == "where":
            return np.where(args[0], args[1], args[2]).astype(_NP[expr.dtype])
        if expr.name == "cast":
            return cast(args[0], expr.dtype)
        fn = UNARY.get(expr.name) or BINARY[expr.name]
        return np.asarray(fn(*args)).astype(_NP[expr.dtype])


def _grid(ranges, variables):
    n = len(ranges)
    shape = tuple(int(r) for r in ranges)
    env = {}
    for d, v in enumerate(variables):
        s = [1] * n
        s[d] = shape[d]
        env[v] = np.arange(shape[d], dtype=np.int64).reshape(s)
    return env, shape


def _store(mem, k, values, env, shape):
    idx = eval_index(k.out_index, env, shape)
    mem[k.out][idx.reshape(-1)] = values.reshape(-1)


def _reduce(op, vals, axes):
    if op == "sum":
        return vals.sum(axis=axes, dtype=vals.dtype)
    if op == "prod":
        return vals.prod(axis=axes, dtype=vals.dtype)
    if op in ("max", "min"):
        if vals.dtype.kind == "f":
            return (np.max if op == "max" else np.min)(vals, axis=axes)  # propagates NaN
        return (np.max if op == "max" else np.min)(vals, axis=axes)
    # argmax / argmin over the flattened reduction axes; NaN wins, first index wins
    lead = vals.shape[: len(vals.shape) - len(axes)]
    flat = vals.reshape(lead + (-1,))
    if flat.dtype.kind == "f":
        nan = np.isnan(flat)
        best = (np.argmax if op == "argmax" else np.argmin)(np.where(nan, 0, flat), axis=-1)
        first_nan = np.argmax(nan, axis=-1)
        return np.where(nan.any(axis=-1), first_nan, best).astype(np.int64)
    return (np.argmax if op == "argmax" else np.argmin)(flat, axis=-1).astype(np.int64)


def _scan(op, vals):
    """The inclusive scan of ``vals`` along its last axis (``ir.Scan``'s rules)."""
    if op in ("sum", "prod"):
        ufunc = np.add if op == "sum" else np.multiply
        with np.errstate(all="ignore"):
            if vals.dtype == np.float32:  # float64 accumulator, each prefix rounded to float32
                return ufunc.accumulate(vals.astype(np.float64), axis=-1).astype(np.float32)
            return ufunc.accumulate(vals, axis=-1, dtype=vals.dtype)  # integers wrap
    if op == "logsumexp":
        return _logcumsumexp(vals)
    out = np.empty(vals.shape, np.int64 if op.startswith("arg") else vals.dtype)
    acc = np.full(vals.shape[:-1], np.nan if vals.dtype.kind == "f" else 0, vals.dtype)
    pos = np.zeros(vals.shape[:-1], np.int64)
    for j in range(vals.shape[-1]):
        x = vals[..., j]
        with np.errstate(invalid="ignore"):
            better = (x >= acc) if op in ("max", "argmax") else (x <= acc)
        take = better | np.isnan(x) | (j == 0)
        acc, pos = np.where(take, x, acc), np.where(take, j, pos)
        out[..., j] = pos if op.startswith("arg") else acc
    return out


def _logcumsumexp(vals):
    """``ir.Scan``'s ``logsumexp`` step by step along the last axis: a float64 running
    value, its float32 correction term."""
    one = np.float32(1)
    out = np.empty(vals.shape, np.float32)
    acc = np.full(vals.shape[:-1], -np.inf, np.float64)
    with np.errstate(all="ignore"):
        for j in range(vals.shape[-1]):
            x = vals[..., j].astype(np.float64)
            lo, hi = np.minimum(x, acc), np.maximum(x, acc)  # NaN if either is
            e = np.exp((lo - hi).astype(np.float32))
            u = one + e
            log1p = np.where(u == one, e, np.log(u) * e / (u - one)).astype(np.float32)
            acc = np.where((lo == hi) & (np.abs(lo) == np.inf), x, hi + log1p.astype(np.float64))
            out[..., j] = acc.astype(np.float32)
    return out


def _bound(k, binding: dict):
    """The kernel with size symbols replaced by their values."""
    if not binding:
        return k
    import dataclasses


    def sub(e):
        return sympy.sympify(e).xreplace(binding)

    if isinstance(k, ir.MatrixCall):
        return k  # static sizes only
    if isinstance(k, ir.Gemm):
        ops = {f: dataclasses.replace(getattr(k, f), **{a: sub(getattr(getattr(k, f), a)) for a in
                                                       ("offset", "batch_stride", "row_stride", "col_stride")})
               for f in ("a", "b", "c")}
        return dataclasses.replace(k, batch=sub(k.batch), m=sub(k.m), n=sub(k.n), k=sub(k.k), **ops)
    fields = dict(ranges=tuple(sub(r) for r in k.ranges), out_index=sub(k.out_index), body=ir.map_expr(k.body, sub))
    if isinstance(k, ir.Reduce):
        fields["red_ranges"] = tuple(sub(r) for r in k.red_ranges)
    if isinstance(k, ir.Scan):
        fields["length"] = sub(k.length)
    return dataclasses.replace(k, **fields)


def _run_pointwise(k: ir.Pointwise, mem: dict) -> None:
    if any(int(r) == 0 for r in k.ranges):
        return
    env, shape = _grid(k.ranges, index_vars(len(k.ranges)))
    _store(mem, k, eval_expr(k.body, env, mem, shape), env, shape)


def _run_reduce(k: ir.Reduce, mem: dict) -> None:
    if any(int(r) == 0 for r in k.ranges):
        return
    ranges = tuple(k.ranges) + tuple(k.red_ranges)
    variables = index_vars(len(k.ranges)) + reduction_vars(len(k.red_ranges))
    env, shape = _grid(ranges, variables)
    vals = eval_expr(k.body, env, mem, shape)
    axes = tuple(range(len(k.ranges), len(ranges)))
    if any(int(r) == 0 for r in k.red_ranges):
        init = {"sum": 0, "prod": 1}[k.op]  # max/min of nothing is rejected in lowering
        out = np.full(shape[: len(k.ranges)], init, dtype=vals.dtype)
    else:
        out = _reduce(k.op, vals, axes)
    out_env, out_shape = _grid(k.ranges, index_vars(len(k.ranges)))
    _store(mem, k, np.asarray(out), out_env, out_shape)


def _run_scan(k: ir.Scan, mem: dict) -> None:
    if any(int(r) == 0 for r in k.ranges) or int(k.length) == 0:
        return
    env, shape = _grid(tuple(k.ranges) + (k.length,), index_vars(len(k.ranges)) + reduction_vars(1))
    _store(mem, k, _scan(k.op, eval_expr(k.body, env, mem, shape)), env, shape)


def run_kernel(k, mem: dict) -> None:
    """Run one kernel on ``mem`` (buffer name -> flat numpy array)."""
    run = _RUN.get(type(k))
    if run is None:
        raise TypeError(k)
    run(k, mem)


def _operand(mem, op: ir.Operand, batch, rows, cols):
    buf = mem[op.buffer]
    b = np.arange(batch).reshape(-1, 1, 1)
    r = np.arange(rows).reshape(1, -1, 1)
    c = np.arange(cols).reshape(1, 1, -1)
    idx = int(op.offset) + b * int(op.batch_stride) + r * int(op.row_stride) + c * int(op.col_stride)
    return buf, idx


def _pack_b(k: ir.PackB, mem) -> None:
    kk, n, nb = int(k.k), int(k.n), int(k.batch)
    kp, np_ = -(-kk // 4) * 4, -(-n // 4) * 4
    buf, idx = _operand(mem, k.src, nb, kk, n)
    b = np.zeros((nb, kp, np_), np.float32)
    b[:, :kk, :n] = buf[idx]
    # panels of 4 columns; within a panel, blocks of 4 rows stored column by column
    packed = b.reshape(nb, kp // 4, 4, np_ // 4, 4).transpose(0, 3, 1, 4, 2).reshape(-1)
    mem[k.out][: packed.size] = packed


def _gemm(k: ir.Gemm, mem) -> None:
    B, M, N, K = (int(x) for x in (k.batch, k.m, k.n, k.k))
    abuf, aidx = _operand(mem, k.a, B, M, K)
    bbuf, bidx = _operand(mem, k.b, B, K, N)
    cbuf, cidx = _operand(mem, k.c, B, M, N)
    acc = np.matmul(abuf[aidx].astype(np.float64), bbuf[bidx].astype(np.float64)) if K else np.zeros((B, M, N))
    if k.bias is not None:
        bias = mem[k.bias].astype(np.float64)
        acc = acc + (bias[:N].reshape(1, 1, N) if k.bias_axis == 1 else bias[:M].reshape(1, M, 1))
    if k.relu:
        acc = np.where(acc > 0, acc, np.where(np.isnan(acc), acc, 0))
    cbuf[cidx.reshape(-1)] = acc.astype(np.float32).reshape(-1)


# --------------------------------------------------------------------------- matrix routines
# The meaning of each ``ir.MatrixCall`` routine (``ir.matrix_call_floats`` states the
# result layout): the same algorithm as csrc/wat/linalg_f32.wat, step for step, in float64.
def _pivot_row(col: np.ndarray) -> int:
    """LAPACK's ``i?amax`` as the WAT runs it: the first largest |value| (a later entry
    wins only when strictly larger, so NaN never wins unless it comes first)."""
    best, p = abs(col[0]), 0
    for i in range(1, len(col)):
        if abs(col[i]) > best:
            best, p = abs(col[i]), i
    return p


def _lu(a, m: int, n: int) -> np.ndarray:
    """Right-looking LU with partial pivoting (LAPACK ``getf2``): at step j the row of the
    largest |a[i, j]|, i >= j, is swapped up (pivot j+1 recorded 1-based), the column below
    is divided by the pivot and the trailing block updated; a zero pivot sets ``info`` to
    j+1 (first only) and leaves its column alone. Square: sign and log|det| from U's
    diagonal and the parity of the row swaps (sign 0 and -inf for a zero on it; sign NaN
    for a NaN), det as the product of the diagonal, both in order."""
    a = a.astype(np.float64).copy()
    k = min(m, n)
    piv = np.zeros(k)
    info = 0
    sign, logabs, det = 0.0, 0.0, 0.0
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + _pivot_row(a[j:, j])
            piv[j] = p + 1
            if a[p, j] != 0:
                a[[j, p]] = a[[p, j]]
                a[j + 1:, j] /= a[j, j]
            elif info == 0:
                info = j + 1
            a[j + 1:, j + 1:] -= a[j + 1:, j:j + 1] * a[j:j + 1, j + 1:]
        if m == n:
            sign = det = -1.0 if int(np.sum(piv != np.arange(1, k + 1))) % 2 else 1.0
            for d in np.diag(a):
                sign = math.nan if d != d else sign * (1.0 if d > 0 else -1.0 if d < 0 else 0.0)
                logabs += float(np.log(abs(d)))
                det *= d
    return np.concatenate([a.reshape(-1), piv, [info, sign, logabs, det]])


def _apply_pivots(x, piv, reverse=False):
    """Swap rows j and piv[j]-1 of ``x`` for j up (or, ``reverse``, down) the pivots."""
    n = len(piv)
    for j in (range(n - 1, -1, -1) if reverse else range(n)):
        p = int(piv[j]) - 1
        if p != j:
            x[[j, p]] = x[[p, j]]
    return x


def _solve_tri(t, x, upper: bool, unit: bool):
    """Solve ``T X = B`` in place (``x`` holds B, float64) by substitution, T the upper or
    lower triangle of ``t`` (unit diagonal if ``unit``): row by row, each row minus the
    rows already solved in order, then divided by the diagonal."""
    n = t.shape[0]
    t = t.astype(np.float64)
    with np.errstate(all="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            for r in (range(i + 1, n) if upper else range(i)):
                x[i] -= t[i, r] * x[r]
            if not unit:
                x[i] /= t[i, i]
    return x


def _lu_solve(lu, piv, b, n: int, k: int, adjoint: int) -> np.ndarray:
    """X with ``P L U X = B`` (pivots applied to B first, then L, then U) or, with
    ``adjoint``, ``U^T L^T P^T X = B`` (U^T, L^T, then the pivots in reverse order)."""
    x = b.astype(np.float64).copy()
    piv = piv.reshape(-1)[:n]
    if adjoint:
        x = _solve_tri(lu.T, x, False, False)
        x = _solve_tri(lu.T, x, True, True)
        return _apply_pivots(x, piv, reverse=True).reshape(-1)
    x = _apply_pivots(x, piv)
    x = _solve_tri(lu, x, False, True)
    return _solve_tri(lu, x, True, False).reshape(-1)


def _cholesky(a, n: int) -> np.ndarray:
    """``A = L L^T`` from the lower triangle of A, column by column (LAPACK ``potf2``'s
    order): d = a[j, j] minus the squares of row j of L so far; a d that is not > 0 (or
    NaN) stops it with ``info`` = j+1, leaving the columns not reached zero; else L[j, j] =
    sqrt(d) and the column below is (a[i, j] - sum L[i, r] L[j, r]) / L[j, j]."""
    a = a.astype(np.float64)
    low = np.zeros((n, n))
    info = 0
    for j in range(n):
        d = a[j, j]
        for r in range(j):
            d -= low[j, r] * low[j, r]
        if not d > 0:
            info = j + 1
            break
        low[j, j] = np.sqrt(d)
        col = a[j + 1:, j].copy()
        for r in range(j):
            col -= low[j + 1:, r] * low[j, r]
        low[j + 1:, j] = col / low[j, j]
    return np.concatenate([low.reshape(-1), [info]])


def _lu_perm(piv, m: int, k: int) -> np.ndarray:
    """Start from rows 0..m-1 and swap entries j and piv[j]-1 for j = 0..k-1 in order."""
    return _apply_pivots(np.arange(m, dtype=np.float64), piv.reshape(-1)[:k])


def _reflect(m, v, tau, first: int) -> None:
    """Apply H = I - tau v v^T (v over rows ``first``.., v[0] = 1) to ``m`` from the left,
    column by column: w = v^T m (rows in order), m -= v (tau w)."""
    rows = m[first:]
    w = np.zeros(m.shape[1])
    for i in range(len(v)):
        w += v[i] * rows[i]
    t = tau * w
    for i in range(len(v)):
        rows[i] -= v[i] * t


def _qr(a, m: int, n: int, complete: int) -> np.ndarray:
    """Householder QR, LAPACK's ``geqrf`` (``larfg``: beta = -sign(alpha) * ||x||, tau =
    (beta - alpha) / beta, v = x[1:] / (alpha - beta) as a product by its reciprocal; tau = 0
    when x[1:] is zero), then ``orgqr`` (Q = H_0 .. H_{k-1} applied to the identity's first
    columns, the last reflector first)."""
    a = a.astype(np.float64).copy()
    k = min(m, n)
    taus = np.zeros(k)
    with np.errstate(all="ignore"):
        for j in range(k):
            alpha, xnorm = a[j, j], 0.0
            for i in range(j + 1, m):
                xnorm += a[i, j] * a[i, j]
            if xnorm == 0:
                continue
            norm = math.sqrt(alpha * alpha + xnorm)
            beta = -norm if alpha >= 0 else norm
            taus[j] = (beta - alpha) / beta
            a[j + 1:, j] *= 1.0 / (alpha - beta)
            a[j, j] = beta
            v = np.concatenate([[1.0], a[j + 1:, j]])
            _reflect(a[:, j + 1:], v, taus[j], j)
        cols = m if complete else k
        q = np.eye(m, cols)
        for j in range(k - 1, -1, -1):
            _reflect(q, np.concatenate([[1.0], a[j + 1:, j]]), taus[j], j)
    return np.concatenate([a.reshape(-1), taus, q.reshape(-1)])


EIGH_SWEEPS = 40  # cyclic Jacobi sweeps at most (each ~squares the off-diagonal; 6-10 are typical)


def _eigh(a, n: int, upper: int) -> np.ndarray:
    """Cyclic Jacobi (Golub & Van Loan, Algorithm 8.5.3) in float64: sweep the pairs p < q
    in row order, rotating each a[p, q] != 0 to zero (t = sign(theta) / (|theta| +
    sqrt(1 + theta^2)), theta = (a[q, q] - a[p, p]) / (2 a[p, q]); columns then rows; V
    accumulates the rotations) until the squared off-diagonal is at most 1e-30 times the
    squared Frobenius norm (or is not a number) or after EIGH_SWEEPS sweeps. Then the
    eigenvalues (the diagonal) are sorted ascending (selection sort, the first smallest
    first) with their vectors, and each vector's first largest |entry| is made positive."""
    a = a.astype(np.float64)
    a = np.triu(a) + np.triu(a, 1).T if upper else np.tril(a) + np.tril(a, -1).T
    v = np.eye(n)
    with np.errstate(all="ignore"):
        total = 0.0
        for i in range(n):
            for j in range(n):
                total += a[i, j] * a[i, j]
        for _ in range(EIGH_SWEEPS):
            off = 0.0
            for i in range(n):
                for j in range(i + 1, n):
                    off += a[i, j] * a[i, j]
            if not off > 1e-30 * total:
                break
            for p in range(n):
                for q in range(p + 1, n):
                    if a[p, q] == 0:
                        continue
                    theta = (a[q, q] - a[p, p]) / (2 * a[p, q])
                    t = 1.0 / (abs(theta) + math.sqrt(1.0 + theta * theta)) if abs(theta) < 1e150 else 0.5 / abs(theta)
                    t = -t if theta < 0 else t
                    c = 1.0 / math.sqrt(1.0 + t * t)
                    s = t * c
                    for m in (a, v):
                        mp, mq = m[:, p].copy(), m[:, q].copy()
                        m[:, p], m[:, q] = c * mp - s * mq, s * mp + c * mq
                    ap, aq = a[p].copy(), a[q].copy()
                    a[p], a[q] = c * ap - s * aq, s * ap + c * aq
        w = np.diag(a).copy()
        for i in range(n):
            j = i
            for k in range(i + 1, n):
                if w[k] < w[j]:
                    j = k
            w[[i, j]], v[:, [i, j]] = w[[j, i]], v[:, [j, i]]
        for j in range(n):
            if v[_pivot_row(v[:, j]), j] < 0:
                v[:, j] = -v[:, j]
    return np.concatenate([w, v.reshape(-1)])


def _dot(x, y) -> float:
    s = 0.0
    for a, b in zip(x, y):
        s += a * b
    return s


def _svd(a, m: int, n: int) -> np.ndarray:
    """One-sided Jacobi (Hestenes; Demmel & Veselic) in float64 on the columns of W = A
    (m >= n): sweep the pairs p < q in row order; with alpha, beta = |W_p|^2, |W_q|^2 and
    gamma = W_p . W_q (sums in order), rotate when |gamma| > 1e-15 sqrt(alpha beta) by the
    rotation of ``_eigh`` for [[alpha, gamma], [gamma, beta]] (W and V alike); stop after a
    sweep without rotations or EIGH_SWEEPS sweeps. sigma_j = |W_j|, sorted descending
    (selection sort, the first largest first) with W's and V's columns; U_j = W_j / sigma_j,
    and for sigma_j = 0 and j >= n the first unit vector e_i that keeps |u| > 1/2 after two
    passes of Gram-Schmidt against the columns before, normalised."""
    w = a.astype(np.float64).copy()
    v = np.eye(n)
    with np.errstate(all="ignore"):
        for _ in range(EIGH_SWEEPS):
            rotated = False
            for p in range(n):
                for q in range(p + 1, n):
                    alpha, beta, gamma = _dot(w[:, p], w[:, p]), _dot(w[:, q], w[:, q]), _dot(w[:, p], w[:, q])
                    if not abs(gamma) > 1e-15 * math.sqrt(alpha * beta):
                        continue
                    rotated = True
                    zeta = (beta - alpha) / (2 * gamma)
                    t = 1.0 / (abs(zeta) + math.sqrt(1.0 + zeta * zeta)) if abs(zeta) < 1e150 else 0.5 / abs(zeta)
                    t = -t if zeta < 0 else t
                    c = 1.0 / math.sqrt(1.0 + t * t)
                    s = t * c
                    for mat in (w, v):
                        mp, mq = mat[:, p].copy(), mat[:, q].copy()
                        mat[:, p], mat[:, q] = c * mp - s * mq, s * mp + c * mq
            if not rotated:
                break
        sig = np.array([math.sqrt(_dot(w[:, j], w[:, j])) for j in range(n)])
        for i in range(n):
            j = i
            for k in range(i + 1, n):
                if sig[k] > sig[j]:
                    j = k
            sig[[i, j]], w[:, [i, j]], v[:, [i, j]] = sig[[j, i]], w[:, [j, i]], v[:, [j, i]]
        u = np.zeros((m, m))
        for j in range(m):
            if j < n and sig[j] != 0:
                u[:, j] = w[:, j] / sig[j]
                continue
            for i in range(m):
                x = np.zeros(m)
                x[i] = 1.0
                for _ in range(2):
                    for col in range(j):
                        x -= _dot(u[:, col], x) * u[:, col]
                norm = math.sqrt(_dot(x, x))
                if norm > 0.5:
                    u[:, j] = x / norm
                    break
    return np.concatenate([sig, u.reshape(-1), v.reshape(-1)])


def _ormqr(v, tau, c, m: int, p: int, k: int, transpose: int) -> np.ndarray:
    """Q C = H_0 (.. (H_{k-1} C)) (reflectors last to first) or Q^T C (first to last)."""
    v, x = v.astype(np.float64), c.astype(np.float64).copy()
    tau = tau.reshape(-1).astype(np.float64)
    with np.errstate(all="ignore"):
        for j in (range(k) if transpose else range(k - 1, -1, -1)):
            _reflect(x, np.concatenate([[1.0], v[j + 1:, j]]), tau[j], j)
    return x.reshape(-1)


BK_ALPHA = (1 + math.sqrt(17)) / 8  # Bunch-Kaufman's pivot threshold


def _ldl(a, n: int) -> np.ndarray:
    """Bunch-Kaufman LDL^T of the lower triangle of A, step for step LAPACK's unblocked
    ``sytf2`` (UPLO = L): at column k, with colmax the largest |a[i, k]| below the diagonal
    (row imax; ``i?amax``'s first largest) take a 1x1 pivot without interchange if |a[k, k]|
    >= alpha colmax; else, with rowmax the largest |.| off the diagonal in row/column imax,
    1x1 without interchange if |a[k, k]| >= alpha colmax (colmax / rowmax), 1x1 with row imax
    if |a[imax, imax]| >= alpha rowmax, else a 2x2 pivot with rows k+1 and imax swapped. A
    zero (or NaN) column sets ``info`` (first only) and is skipped. Pivots are 1-based, a
    2x2 block's two entries -(imax+1). out: LD (n, n, lower; zeros above), pivots, info."""
    a = a.astype(np.float64)
    a = np.tril(a) + np.tril(a, -1).T  # only the lower triangle is read
    piv = np.zeros(n)
    info = 0
    k = 0
    with np.errstate(all="ignore"):
        while k < n:
            kstep = 1
            absakk = abs(a[k, k])
            imax = k + 1 + _pivot_row(a[k + 1:, k]) if k + 1 < n else k
            colmax = abs(a[imax, k]) if k + 1 < n else 0.0
            if max(absakk, colmax) == 0 or absakk != absakk:
                info = info or k + 1
                kp = k
            else:
                if absakk >= BK_ALPHA * colmax:
                    kp = k
                else:
                    jmax = k + _pivot_row(a[imax, k:imax])
                    rowmax = abs(a[imax, jmax])
                    if imax + 1 < n:
                        jmax = imax + 1 + _pivot_row(a[imax + 1:, imax])
                        rowmax = max(rowmax, abs(a[jmax, imax]))
                    if absakk >= BK_ALPHA * colmax * (colmax / rowmax):
                        kp = k
                    elif abs(a[imax, imax]) >= BK_ALPHA * rowmax:
                        kp = imax
                    else:
                        kp, kstep = imax, 2
                kk = k + kstep - 1
                if kp != kk:  # symmetric interchange of rows/columns kk and kp (trailing part)
                    perm = np.arange(n)
                    perm[kk], perm[kp] = kp, kk
                    a[k:, k:] = a[np.ix_(perm, perm)][k:, k:]  # (for a 2x2 pivot: column k's rows too)
                if kstep == 1:
                    if k + 1 < n:
                        d11 = 1.0 / a[k, k]
                        x = a[k + 1:, k].copy()
                        a[k + 1:, k + 1:] -= np.outer(x, x * d11)
                        a[k + 1:, k] = x * d11
                elif k + 2 < n:
                    d21 = a[k + 1, k]
                    d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                    t = 1.0 / (d11 * d22 - 1.0)
                    d21 = t / d21
                    for j in range(k + 2, n):
                        wk = d21 * (d11 * a[j, k] - a[j, k + 1])
                        wkp1 = d21 * (d22 * a[j, k + 1] - a[j, k])
                        a[j:, j] -= a[j:, k] * wk + a[j:, k + 1] * wkp1
                        a[j, k], a[j, k + 1] = wk, wkp1
                        a[j, j + 1:] = a[j + 1:, j]  # keep the trailing part symmetric
            if kstep == 1:
                piv[k] = kp + 1
            else:
                piv[k] = piv[k + 1] = -(kp + 1)
            k += kstep
    return np.concatenate([np.tril(a).reshape(-1), piv, [info]])


def _ldl_solve(ld, piv, b, n: int, k: int) -> np.ndarray:
    """LAPACK's ``sytrs`` (lower): L D Y = B block by block down (row swaps, then the column
    of L, then D's 1x1 or 2x2 block), then L^T X = Y block by block up (then the swaps)."""
    a, x = ld.astype(np.float64), b.astype(np.float64).copy()
    piv = piv.reshape(-1)[:n].astype(np.int64)
    with np.errstate(all="ignore"):
        j = 0
        while j < n:
            if piv[j] > 0:
                p = piv[j] - 1
                x[[j, p]] = x[[p, j]]
                for i in range(j + 1, n):
                    x[i] -= a[i, j] * x[j]
                x[j] /= a[j, j]
                j += 1
            else:
                p = -piv[j] - 1
                x[[j + 1, p]] = x[[p, j + 1]]
                for i in range(j + 2, n):
                    x[i] -= a[i, j] * x[j]
                    x[i] -= a[i, j + 1] * x[j + 1]
                akm1k = a[j + 1, j]
                akm1, ak = a[j, j] / akm1k, a[j + 1, j + 1] / akm1k
                denom = akm1 * ak - 1.0
                bkm1, bk = x[j] / akm1k, x[j + 1] / akm1k
                x[j], x[j + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
                j += 2
        j = n - 1
        while j >= 0:
            step = 1 if piv[j] > 0 else 2
            for r in range(j - step + 1, j + 1):
                for i in range(j + 1, n):
                    x[r] -= a[i, r] * x[i]
            p = abs(piv[j]) - 1
            x[[j, p]] = x[[p, j]]
            j -= step
    return x.reshape(-1)


_ROUTINES = {
    "lu": lambda args, m, n: _lu(args[0], m, n),
    "lu_solve": lambda args, n, k, adjoint: _lu_solve(args[0], args[1], args[2], n, k, adjoint),
    "cholesky": lambda args, n: _cholesky(args[0], n),
    "trsm": lambda args, n, k, upper, unit: _solve_tri(args[0].astype(np.float64), args[1].astype(np.float64).copy(),
                                                       bool(upper), bool(unit)).reshape(-1),
    "lu_perm": lambda args, m, k: _lu_perm(args[0], m, k),
    "qr": lambda args, m, n, complete: _qr(args[0], m, n, complete),
    "eigh": lambda args, n, upper: _eigh(args[0], n, upper),
    "svd": lambda args, m, n: _svd(args[0], m, n),
    "ormqr": lambda args, m, p, k, transpose: _ormqr(args[0], args[1], args[2], m, p, k, transpose),
    "ldl": lambda args, n: _ldl(args[0], n),
    "ldl_solve": lambda args, n, k: _ldl_solve(args[0], args[1], args[2], n, k),
}


def _matrix_shapes(k: ir.MatrixCall) -> list:
    """(rows, cols) of each operand of ``k``."""
    s = k.sizes
    return {"lu": lambda: [(s[0], s[1])],
            "lu_solve": lambda: [(s[0], s[0]), (1, s[0]), (s[0], s[1])],
            "cholesky": lambda: [(s[0], s[0])],
            "trsm": lambda: [(s[0], s[0]), (s[0], s[1])],
            "lu_perm": lambda: [(1, s[1])],
            "qr": lambda: [(s[0], s[1])],
            "eigh": lambda: [(s[0], s[0])],
            "svd": lambda: [(s[0], s[1])],
            "ormqr": lambda: [(s[0], s[2]), (1, s[2]), (s[0], s[1])],
            "ldl": lambda: [(s[0], s[0])],
            "ldl_solve": lambda: [(s[0], s[0]), (1, s[0]), (s[0], s[1])]}[k.routine]()


def _matrix_call(k: ir.MatrixCall, mem) -> None:
    stride = k.stride
    out = mem[k.out]
    shapes = _matrix_shapes(k)
    for b in range(int(k.batch)):
        args = []
        for op, (r, c) in zip(k.args, shapes):
            buf, idx = _operand(mem, op, 1, r, c)
            args.append(buf[idx + b * int(op.batch_stride)][0] if r * c else np.zeros((r, c), np.float32))
        res = _ROUTINES[k.routine](args, *k.sizes)
        with np.errstate(all="ignore"):
            out[b * stride:(b + 1) * stride] = np.asarray(res, np.float64).astype(np.float32)


def run(prog: ir.Program, inputs: list) -> list:
    """Run ``prog`` on numpy ``inputs`` (one array per InputSpec); return output arrays."""
    binding = prog.bind(inputs) if prog.symbols else {}

    def sub(e):
        return int(sympy.sympify(e).xreplace(binding))

    mem = {}
    for b in prog.buffers:
        mem[b.name] = np.zeros(sub(b.numel), dtype=_NP[b.dtype])
    for spec, arr in zip(prog.inputs, inputs):
        if not isinstance(spec, ir.InputSpec) or np.size(arr) == 0:
            continue
        mem[spec.buffer][...] = np.ascontiguousarray(arr, dtype=_NP[spec.dtype]).reshape(-1)
    for name, arr in prog.constants.items():
        mem[name][...] = arr.reshape(-1)
    for k in prog.kernels:
        run_kernel(_bound(k, binding), mem)
    outs = []
    for o in prog.outputs:
        buf = mem[o.buffer]
        shape = tuple(sub(s) for s in o.shape)
        if 0 in shape:
            outs.append(np.zeros(shape, dtype=_NP[o.dtype]))
            continue
        strides = [sub(s) for s in o.strides]
        idx = sub(o.offset) + sum(
            np.arange(n).reshape([-1 if d == j else 1 for j in range(len(shape))]) * s
            for d, (n, s) in enumerate(zip(shape, strides))
        ) if shape else np.array(int(o.offset))
        outs.append(buf[np.asarray(idx)].copy())
    return outs


# a packed B is a layout of the same values: GEMMs read the original, PackB only fills its buffer
_RUN = {ir.Pointwise: _run_pointwise, ir.Reduce: _run_reduce, ir.Scan: _run_scan, ir.Gemm: _gemm, ir.PackB: _pack_b,
        ir.MatrixCall: _matrix_call}
