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

from . import ir, matrix_routines
from .indexing import index_vars, reduction_vars
from .interp_math import F64_UNARY, f64, polygamma64
from .interp_poly import POLY

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


def _pow(a, b):
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return f64(np.power)(a, b)  # C's pow special cases (pow(1, nan) = 1, ...), as numpy's
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
    **{name: f64(fn) for name, fn in F64_UNARY.items()},
}
BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": _div,
    "floordiv": _floordiv, "mod": _mod,
    # NaN propagates and a tie keeps the first operand (max(-0.0, 0.0) = -0.0), as PyTorch
    "max": lambda a, b: np.where((a >= b) | (a != a), a, b).astype(np.result_type(a, b)),
    "min": lambda a, b: np.where((a <= b) | (a != a), a, b).astype(np.result_type(a, b)),
    "pow": _pow, "atan2": f64(np.arctan2), "hypot": f64(np.hypot),
    "polygamma": f64(np.vectorize(polygamma64, otypes=[np.float64])),
    "copysign": np.copysign,
    **POLY, "lt": np.less, "le": np.less_equal, "gt": np.greater,
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
    if x.dtype.kind == "f" and dtype in ("i32", "i64", "i8", "u8", "i16"):
        with np.errstate(invalid="ignore"):
            t = np.trunc(x)
            # narrow integers wrap from int32, as the WebAssembly does (out of range: undefined in PyTorch)
            return t.astype(np.int32).astype(_NP[dtype]) if dtype in ("i8", "u8", "i16") else t.astype(_NP[dtype])
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

    if isinstance(k, ir.QGemm):
        return dataclasses.replace(k, m=sub(k.m))
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
def _matrix_call(k: ir.MatrixCall, mem) -> None:
    """Each batch entry's operands through the routine's numpy meaning (``matrix_routines``)."""
    stride = k.stride
    out = mem[k.out]
    shapes = matrix_routines.matrix_shapes(k)
    for b in range(int(k.batch)):
        args = []
        for op, (r, c) in zip(k.args, shapes):
            buf, idx = _operand(mem, op, 1, r, c)
            args.append(buf[idx + b * int(op.batch_stride)][0] if r * c else np.zeros((r, c), np.float32))
        res = matrix_routines.ROUTINES[k.routine](args, *k.sizes)
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


def _qgemm(k: ir.QGemm, mem) -> None:
    """Exact int8 products summed in int64, wrapped to int32; B unpacked from its panels
    (its padding included: the padding columns of C get the padding's products)."""
    m, n, kk, lda, ldc = (int(x) for x in (k.m, k.n, k.k, k.lda, k.ldc))
    kp, np_ = -(-kk // 16) * 16, -(-n // 4) * 4
    if m == 0:
        return
    b = mem[k.packed][: kp * np_].reshape(np_ // 4, kp // 16, 4, 16).transpose(1, 3, 0, 2).reshape(kp, np_)
    a = mem[k.a][(np.arange(m)[:, None] * lda + np.arange(kk)[None, :])]
    c = (a.astype(np.int64) @ b[:kk].astype(np.int64)).astype(np.int32)
    rq = k.requant
    if rq is not None:  # ir.QRequant, in float32 (numpy's float32 arithmetic is IEEE single, as the kernel's)
        inv, zp, lo, hi, floor = mem[rq.rq][0:20:4].astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            v = c[:, :n] - mem[rq.corr][:n]
            if rq.zw:
                v = v - mem[rq.zw][:n][None, :] * mem[rq.xsum][:m][:, None]
            y = v.astype(np.float32) * mem[rq.scale][:n] + mem[rq.bias][:n]
            y = np.where(y < floor, floor, y)  # f32x4.pmax(y, floor)
            q = np.rint(y * inv) + zp
            q = np.where(q < lo, lo, q)
            q = np.where(hi < q, hi, q)  # f32x4.pmin(q, hi)
            q = np.where(np.isnan(q), 0, q).astype(np.int8)  # i32x4.trunc_sat: NaN gives 0
        mem[k.c][np.arange(m)[:, None] * ldc + np.arange(n)[None, :]] = q
        return
    rows = np.arange(m)[:, None] * ldc + np.arange(np_)[None, :]
    mem[k.c][rows] = c


# a packed B is a layout of the same values: GEMMs read the original, PackB only fills its buffer
_RUN = {ir.Pointwise: _run_pointwise, ir.Reduce: _run_reduce, ir.Scan: _run_scan, ir.Gemm: _gemm, ir.PackB: _pack_b,
        ir.QGemm: _qgemm, ir.MatrixCall: _matrix_call}
