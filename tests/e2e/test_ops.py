"""End-to-end operator tests: every operator the compiler claims, compiled with
``backend="wasm"`` in strict mode and compared with eager PyTorch.

Each test compiles one graph that covers many cases at once (all innermost sizes, layouts,
NaN/Inf, ...) as separate outputs, which keeps compilation cost down. ``check`` (see
helpers.py) asserts that the wasm module really ran; ``interp=True`` additionally compares
the IR interpreter with the eager ATen graph, so a failure points at lowering or emission.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

from tests.e2e.helpers import check, expect_unsupported, make_input, unlowered

SIZES = (1, 3, 4, 5, 17, 64, 127)
NAN, INF = float("nan"), float("inf")


def with_nonfinite(x: torch.Tensor, values=(NAN, INF, -INF)) -> torch.Tensor:
    """``x`` with NaN/+Inf/-Inf spread in (at flat positions 1, 4, 7, ...)."""
    x = x.clone()
    flat = x.view(-1)
    for i, v in enumerate(values):
        if 3 * i + 1 < flat.numel():
            flat[3 * i + 1] = v
    return x


def sized_inputs(dtype=torch.float32, nonfinite=(), **kw):
    """One 1-D input per size n. (A contiguous (rows, n) kernel is collapsed into one loop
    of rows * n, so 1-D inputs are what make n the extent of the vectorised loop; 2-D
    loops with a tail per row come from the broadcast and layout cases.)"""
    xs = [make_input((n,), dtype, specials=dtype.is_floating_point, **kw) for n in SIZES]
    return [with_nonfinite(x, nonfinite) for x in xs] if nonfinite else xs


def layout_inputs(dtype=torch.float32, **kw):
    """Inputs that the graph turns into non-contiguous views (see ``layouts``), plus a
    non-contiguous graph input and empty tensors."""
    return [
        make_input((17, 5), dtype, specials=dtype.is_floating_point, **kw),  # .t() in graph
        make_input((3, 34), dtype, specials=dtype.is_floating_point, **kw),  # [:, ::2] in graph
        make_input((1, 17), dtype, specials=dtype.is_floating_point, **kw),  # .expand(3, 17) in graph
        make_input((6, 9), dtype, **kw).t(),  # non-contiguous graph input
        make_input((0, 5), dtype, **kw),  # empty
        make_input((3, 0), dtype, **kw),  # empty innermost
    ]


def layouts(xs):
    a, b, c, d, e0, e1 = xs
    return [a.t(), b[:, 1::2], c.expand(3, 17), d, e0, e1]


def apply_all(op, sized, laid=None):
    """A function applying ``op`` to every input (size sweep and layouts)."""
    n = len(sized)

    def fn(*xs):
        outs = [op(x) for x in xs[:n]]
        if laid is not None:
            outs += [op(x) for x in layouts(xs[n:])]
        return tuple(outs)

    return fn


# --------------------------------------------------------------------------- unary float
UNARY_FLOAT = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "erf": torch.erf,
    "reciprocal": torch.reciprocal,
    "abs": torch.abs,
    "neg": torch.neg,
    "sign": torch.sign,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "round": torch.round,
    "trunc": torch.trunc,
    "hardtanh": F.hardtanh,
    "hardtanh_bounds": lambda x: F.hardtanh(x, -0.5, 2.0),
    "relu6": F.relu6,
    "leaky_relu": F.leaky_relu,
    "leaky_relu_0.2": lambda x: F.leaky_relu(x, 0.2),
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "pow2": lambda x: x ** 2,
    "pow3": lambda x: torch.pow(x, 3),
    "pow0": lambda x: x ** 0,
    "pow1": lambda x: x ** 1,
    "pow_m1": lambda x: x ** -1,
    "pow_m2": lambda x: x ** -2,
    "pow_half": lambda x: x ** 0.5,
    "pow_mhalf": lambda x: x ** -0.5,
    "pow_2.0": lambda x: x ** 2.0,
    "clamp": lambda x: torch.clamp(x, -0.5, 1.0),
    "clamp_int_bounds": lambda x: torch.clamp(x, -1, 2),
    "clamp_min": lambda x: torch.clamp(x, min=0.2),
    "clamp_max": lambda x: x.clamp(max=-0.1),
    "sqrt_abs": lambda x: torch.sqrt(torch.abs(x)),  # a fused chain
    "softplus_like": lambda x: torch.log(1 + torch.exp(-torch.abs(x))) + torch.relu(x),
}

# PyTorch's own vectorised gelu gives NaN for +-inf (mathematically +inf/0); don't pin that
NO_INF = {"gelu"}


# ops also run on every layout (views are orthogonal to the op, so a sample suffices)
LAYOUT_OPS = {"relu", "gelu", "sigmoid", "exp", "abs", "sign", "round", "clamp", "hardswish", "pow2", "leaky_relu",
              "softplus_like", "hardtanh", "neg", "floor", "tanh"}


@pytest.mark.parametrize("name", list(UNARY_FLOAT))
def test_unary_float(name):
    op = UNARY_FLOAT[name]
    nonfinite = (NAN,) if name in NO_INF else (NAN, INF, -INF)
    sized = sized_inputs(nonfinite=nonfinite)
    laid = layout_inputs() if name in LAYOUT_OPS else None
    if laid is None:
        check(apply_all(op, sized), *sized)
        return
    check(apply_all(op, sized, laid), *sized, *laid, interp=name in ("sign", "round", "hardswish", "gelu"))


UNARY_INT = {
    "abs": torch.abs,
    "neg": torch.neg,
    "sign": torch.sign,
    "relu": torch.relu,
    "clamp": lambda x: torch.clamp(x, -2, 3),
    "clamp_min": lambda x: torch.clamp(x, min=1),
    "floor": torch.floor,
    "bitwise_not": torch.bitwise_not,
    "square": lambda x: x * x,
    "pow": lambda x: (x ** 2, x ** 3, x ** 0, torch.pow(x, 1), x ** 0.5),
    "float": lambda x: x.float(),
    "bool": lambda x: x.bool(),
    "to_int32": lambda x: x.to(torch.int32),
}


INT32_FAST = {"abs", "neg", "sign", "clamp", "float", "bool"}


@pytest.mark.parametrize("name,dtype", [
    pytest.param(name, dtype, id=f"{name}-{str(dtype)[6:]}",
                 marks=pytest.mark.slow if dtype == torch.int32 and name not in INT32_FAST else ())
    for name in UNARY_INT for dtype in (torch.int64, torch.int32)])
def test_unary_int(name, dtype):
    sized = sized_inputs(dtype)
    laid = layout_inputs(dtype)
    check(apply_all(UNARY_INT[name], sized, laid), *sized, *laid)


UNARY_BOOL = {
    "logical_not": torch.logical_not,
    "bitwise_not": torch.bitwise_not,
    "not_op": lambda x: ~x,
    "float": lambda x: x.float(),
    "long": lambda x: x.long(),
    "int": lambda x: x.int(),
    "neg_float": lambda x: -(x.float()),
    "sum_with_int": lambda x: x + 1,
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in ("not_op", "int") else n
                                  for n in UNARY_BOOL])
def test_unary_bool(name):
    sized = sized_inputs(torch.bool)
    laid = layout_inputs(torch.bool)
    check(apply_all(UNARY_BOOL[name], sized, laid), *sized, *laid)


CASTS = {
    "long": lambda x: x.long(),
    "int": lambda x: x.int(),
    "bool": lambda x: x.bool(),
    "float_roundtrip": lambda x: x.long().float(),
    "to_dtype": lambda x: x.to(torch.int64),
    "type_as": lambda x: x.type(torch.bool).float(),
}


@pytest.mark.parametrize("name", list(CASTS))
def test_float_casts(name):
    # large magnitudes and fractional negatives: truncation toward zero; NaN -> bool True
    sized = [x * 10 for x in sized_inputs()]
    nonfinite = (NAN,) if name == "bool" or name == "type_as" else ()
    sized = [with_nonfinite(x, nonfinite) for x in sized] if nonfinite else sized
    laid = layout_inputs()
    check(apply_all(CASTS[name], sized, laid), *sized, *laid)


# --------------------------------------------------------------------------- binary
def _rev(op):
    return lambda a, b: op(b, a)


BINARY = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "div_floor": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda a, b: torch.div(a, b, rounding_mode="trunc"),
    "floor_divide": torch.floor_divide,
    "remainder": torch.remainder,
    "fmod": torch.fmod,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "lt": torch.lt,
    "le": torch.le,
    "gt": torch.gt,
    "ge": torch.ge,
    "eq": torch.eq,
    "ne": torch.ne,
    "logical_and": torch.logical_and,
    "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor,
    "add_alpha": lambda a, b: torch.add(a, b, alpha=2),
    "sub_alpha": lambda a, b: torch.sub(a, b, alpha=3),
    "rsub": lambda a, b: torch.rsub(a, b),
}
DIVISIONS = {"div", "div_floor", "div_trunc", "floor_divide", "remainder", "fmod"}
LOGICAL = {"logical_and", "logical_or", "logical_xor"}
SCALARS = (2.5, -3, 0.5)
BROADCAST_OPS = {"add", "mul", "div", "remainder", "floor_divide", "maximum", "lt", "eq", "logical_and", "fmod",
                 "div_trunc", "sub_alpha"}


def _operand(shape, dtype, divisor, seed):
    gen = torch.Generator().manual_seed(seed)
    x = make_input(shape, dtype, gen=gen, specials=dtype.is_floating_point and not divisor)
    if divisor and not dtype.is_floating_point:
        x = torch.where(x == 0, torch.full_like(x, 3), x)  # integer division by zero raises
    if divisor and dtype.is_floating_point:
        x = torch.where(x.abs() < 0.1, torch.full_like(x, -0.75), x)
    if dtype == torch.bool:
        x = make_input(shape, dtype, gen=gen)
    return x


def binary_cases(name, da, db, scalars=True):
    """(function, inputs): same shapes for every size, broadcasting, Python scalars on
    either side, a rank-0 tensor, non-contiguous views and empty tensors."""
    op = BINARY[name]
    div = name in DIVISIONS
    # the size sweep for same-dtype float32/int64 pairs; promotion needs fewer sizes
    sizes = SIZES if da == db and da in (torch.float32, torch.int64) else (1, 5, 17)
    shapes = [((n,), (n,)) for n in sizes]  # 1-D: n is the vectorised extent (see sized_inputs)
    layouts = name in BROADCAST_OPS
    if layouts:  # broadcasting is the registry's job, the same for every op: a sample suffices
        shapes += [((3, 1), (1, 17)), ((17,), (4, 17)), ((4, 1, 5), (3, 5)), ((5, 4), (1,)), ((), (3, 7)),
                   ((2, 5), (2, 5)),
                   ((0, 5), (1, 5)), ((3, 0), (3, 1))]
    ins = []
    for i, (sa, sb) in enumerate(shapes):
        ins += [_operand(sa, da, False, 2 * i), _operand(sb, db, div, 2 * i + 1)]
    t_a, t_b = _operand((17, 3), da, False, 99), _operand((3, 34), db, div, 98)
    ins += [t_a, t_b]
    use_scalars = scalars and name not in LOGICAL | {"maximum", "minimum"}
    n = len(shapes)

    def fn(*xs):
        outs = [op(xs[2 * k], xs[2 * k + 1]) for k in range(n)]
        a, b = xs[2 * n], xs[2 * n + 1]
        if layouts:
            outs.append(op(a.t(), b[:, ::2]))  # both operands non-contiguous
            outs.append(op(a.t().expand(2, 3, 17), b[:, 1::2]))
        if use_scalars:
            x = xs[2 * sizes.index(17)]  # (17,)
            for s in SCALARS if da.is_floating_point or db.is_floating_point else (3, -2):
                outs.append(op(x, s))
        return tuple(outs)

    return fn, ins


BINARY_DTYPES = [
    (torch.float32, torch.float32),
    (torch.int64, torch.int64),
    (torch.int64, torch.float32),
    (torch.bool, torch.bool),
    (torch.int32, torch.int64),
]
# what runs by default (every op in float32, more for the others); the rest is @slow
BINARY_FAST = {
    (torch.int64, torch.int64): DIVISIONS | {"add", "sub", "mul", "maximum", "lt", "eq", "logical_and", "rsub"},
    (torch.int64, torch.float32): {"add", "div", "remainder", "maximum", "ge", "floor_divide"},
    (torch.bool, torch.bool): {"add", "mul", "logical_xor", "eq", "maximum"},
    (torch.int32, torch.int64): {"add", "remainder"},
}


def _binary_params():
    out = []
    for name in BINARY:
        for da, db in BINARY_DTYPES:
            if da == torch.bool and name not in LOGICAL | {"add", "mul", "maximum", "minimum", "eq", "ne", "lt",
                                                           "ge"}:
                continue
            if name in {"rsub", "sub", "sub_alpha"} and torch.bool in (da, db):
                continue
            if (da, db) == (torch.int32, torch.int64) and name not in {"add", "mul", "remainder", "lt"}:
                continue
            fast = da == torch.float32 or name in BINARY_FAST.get((da, db), ())
            out.append(pytest.param(name, da, db, id=f"{name}-{str(da)[6:]}-{str(db)[6:]}",
                                    marks=() if fast else pytest.mark.slow))
    return out


@pytest.mark.parametrize("name,da,db", _binary_params())
def test_binary(name, da, db):
    fn, ins = binary_cases(name, da, db)
    check(fn, *ins, interp=da == torch.int64 and name in DIVISIONS)


@pytest.mark.parametrize("name", ["add", "mul", "div", "remainder", "maximum", "minimum", "lt", "eq", "fmod"])
def test_binary_nonfinite(name):
    op = BINARY[name]
    vals = torch.tensor([NAN, INF, -INF, 0.0, -0.0, 1.5, -2.0, NAN])
    a = vals.repeat_interleave(8)
    b = vals.repeat(8)
    check(lambda a, b: (op(a, b), op(a.view(8, 8), b.view(8, 8)[:, :5].sum(1, keepdim=True))), a, b)


@pytest.mark.parametrize("simd", [True, False], ids=["simd", "scalar"])
def test_max_min_signed_zero_ties(simd):
    """PyTorch's max/min keep the first operand on a tie: maximum(-0.0, 0.0) is -0.0 (was
    0.0, f32.max / f32x4.max); visible through 1 / x. Elementwise, clamp, and reductions
    (amax of [-0.0, 0.0, ...] is -0.0, as eager), NaN still propagating from either side."""
    z = torch.tensor([-0.0, 0.0] * 9)
    n = torch.tensor([NAN, 1.0, 2.0, NAN, -0.0, 0.0, INF, -INF, 0.0])

    def fn(z, n):
        a, b = z.view(9, 2).unbind(1)
        return (1 / torch.maximum(a, b), 1 / torch.maximum(b, a), 1 / torch.minimum(a, b), 1 / torch.minimum(b, a),
                1 / a.clamp(min=0.0), 1 / b.clamp(max=-0.0), 1 / z.amax(), 1 / z.flip(0).amin(),
                torch.maximum(n, n.flip(0)), torch.minimum(n.flip(0), n))
    check(fn, z, n, simd=simd)


@pytest.mark.parametrize("name", ["remainder", "fmod", "div_floor", "floor_divide", "div_trunc"])
def test_division_signs(name):
    """Every sign combination, exact multiples and non-representable quotients."""
    op = BINARY[name]
    av = torch.tensor([7.0, -7.0, 7.0, -7.0, 6.0, -6.0, 0.0, -0.0, 5.5, -5.5, 1.0, 1e6, -1e-3, 0.3])
    bv = torch.tensor([2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 3.0, -3.0, 0.5, 0.25, 0.1, 7.0, 2.0, 0.1])
    ai, bi = av.long() * 3 + 1, torch.tensor([2, 2, -2, -2, 3, 3, 3, -3, 1, 4, 7, 5, -2, 1])
    check(lambda a, b, c, d: (op(a, b), op(c, d), op(c, 3), op(c, -3), op(a, 2.0)), av, bv, ai, bi)


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.bool], ids=str)
def test_python_operators(dtype):
    """Scalars on the left (rsub, reversed division), rank-0 tensors and chains."""
    x = make_input((3, 17), dtype)
    y = make_input((), dtype)
    if dtype == torch.bool:
        def fn(x, y):
            return x & y, x | ~x, x ^ y, x == y, x != True, x.float() * 2, x + 1, 3 * x, x & True  # noqa: E712
    else:
        def fn(x, y):
            outs = [2 - x, 1 + x, 3 * x, x * y, x - y, y - x, x > 1, 1 < x, x == 0, -x, x + 0.5, 2.5 * x,
                    x / 2, x * 1.5 - 1]
            if dtype.is_floating_point:
                outs += [3 / x, x // 0.5, x % 0.7, y / x]
            else:
                nz = torch.where(x == 0, torch.ones_like(x), x)
                outs += [x // 2, x % 3, x // -2, x % -3, 7 // nz, 7 % nz, x / nz, x & 6, x | 1, x ^ y, ~x]
            return tuple(outs)
    check(fn, x, y)


# --------------------------------------------------------------------------- reductions
def _values_indices(r):
    return (r.values, r.indices)


REDUCTIONS = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k) if d is not None else x.sum(),
    "mean": lambda x, d, k: x.mean(d, keepdim=k) if d is not None else x.mean(),
    "amax": lambda x, d, k: x.amax(d, keepdim=k) if d is not None else x.amax(),
    "amin": lambda x, d, k: x.amin(d, keepdim=k) if d is not None else x.amin(),
    "max": lambda x, d, k: _values_indices(x.max(d, keepdim=k)) if isinstance(d, int) else x.max(),
    "min": lambda x, d, k: _values_indices(x.min(d, keepdim=k)) if isinstance(d, int) else x.min(),
    "argmax": lambda x, d, k: x.argmax(d, keepdim=k) if isinstance(d, int) or d is None else x.argmax(),
    "argmin": lambda x, d, k: x.argmin(d, keepdim=k) if isinstance(d, int) or d is None else x.argmin(),
    "var0": lambda x, d, k: torch.var(x, d, correction=0, keepdim=k),
    "var1": lambda x, d, k: torch.var(x, d, correction=1, keepdim=k),
    "var_unbiased": lambda x, d, k: x.var(d, unbiased=False, keepdim=k) if d is not None else x.var(),
    "prod": lambda x, d, k: x.prod(d, keepdim=k) if isinstance(d, int) else x.prod(),
    "any": lambda x, d, k: x.any(d, keepdim=k) if d is not None else x.any(),
    "all": lambda x, d, k: x.all(d, keepdim=k) if d is not None else x.all(),
    "sum_dtype": lambda x, d, k: x.sum(d, keepdim=k, dtype=torch.float32) if d is not None else x.sum(),
}
# (dims, keepdim) applied to a (2, 3, n) input for every n, and more on (2, 3, 17)
DIMS_ALL_SIZES = [(-1, False), (1, False), (None, False)]  # innermost / middle (vector lanes on n) / all
DIMS_SOME = [(0, False), (1, True), (-1, True), ((0, 2), False), ((1, 2), True), ((0, 1, 2), False), (2, False),
             (None, True)]
INT_OK = {"sum", "amax", "amin", "max", "min", "argmax", "argmin", "prod", "any", "all", "sum_dtype"}
BOOL_OK = {"sum", "amax", "amin", "max", "min", "any", "all", "prod"}
NO_EMPTY = {"amax", "amin", "max", "min", "argmax", "argmin"}  # PyTorch raises on empty dims


def _reduction_fn(name, n_sized):
    op = REDUCTIONS[name]

    def fn(*xs):
        outs = []
        for x in xs[:n_sized]:
            for d, k in DIMS_ALL_SIZES:
                outs.append(op(x, d, k))
        a, b, e = xs[n_sized:]
        for d, k in DIMS_SOME:
            outs.append(op(a, d, k))
        outs.append(op(b.transpose(1, 2), -1, False))  # non-contiguous
        outs.append(op(b[:, ::2], 1, True))
        if name not in NO_EMPTY:
            outs.append(op(e, 1, False))  # reduce over an empty dim
            outs.append(op(e, None, False))
        outs.append(op(e, 0, False) if name not in {"max", "min", "argmax", "argmin"} else op(e, -1, False))
        return tuple(outs)

    return fn


def _reduction_inputs(name, dtype):
    if name == "prod" and dtype.is_floating_point:
        mk = lambda s: make_input(s, dtype, low=0.6, high=1.4)  # noqa: E731
    elif dtype.is_floating_point:
        mk = lambda s: make_input(s, dtype)  # noqa: E731
    else:
        mk = lambda s: make_input(s, dtype, low=-2 if name == "prod" else -50,  # noqa: E731
                                  high=3 if name == "prod" else 50)
    sized = [mk((2, 3, n)) for n in SIZES]
    extra = [mk((2, 3, 17)), mk((2, 5, 6)), mk((4, 0, 3))]
    if name in {"any", "all"} and dtype.is_floating_point:
        sized = [torch.where(x.abs() < 1.5, torch.zeros_like(x), x) for x in sized]
        extra[:2] = [torch.where(x.abs() < 1.5, torch.zeros_like(x), x) for x in extra[:2]]
        extra[1][0] = 0  # an all-zero slice
    return sized, extra


def _reduction_params():
    out = []
    for name in REDUCTIONS:
        for dtype in (torch.float32, torch.int64, torch.bool):
            if dtype == torch.int64 and name not in INT_OK:
                continue
            if dtype == torch.bool and name not in BOOL_OK:
                continue
            slow = (dtype, name) in REDUCTION_SLOW
            out.append(pytest.param(name, dtype, id=f"{name}-{str(dtype)[6:]}", marks=pytest.mark.slow if slow else ()))
    return out


# covered by their twins (amax ~ amin, ...) in the default run
REDUCTION_SLOW = {(torch.bool, "amin"), (torch.bool, "min"), (torch.bool, "prod"), (torch.int64, "sum_dtype"),
                  (torch.int64, "amin"), (torch.int64, "min"), (torch.float32, "var_unbiased")}


@pytest.mark.filterwarnings("ignore:var.... degrees of freedom")
@pytest.mark.parametrize("name,dtype", _reduction_params())
def test_reduction(name, dtype):
    sized, extra = _reduction_inputs(name, dtype)
    if dtype == torch.bool and name in NO_EMPTY | {"prod"}:
        extra[2] = make_input((4, 2, 3), dtype)
    check(_reduction_fn(name, len(sized)), *sized, *extra, interp=name in ("var1", "argmax"))


@pytest.mark.parametrize("name", ["amax", "amin", "max", "min", "argmax", "argmin", "sum", "mean", "prod"])
def test_reduction_nonfinite(name):
    """NaN propagates through max/min/amax (and argmax picks the first NaN); +-inf are
    ordinary values."""
    op = REDUCTIONS[name]
    x = make_input((4, 6, 9))
    x[0, 1, 3] = NAN
    x[0, 2, 0] = NAN
    x[0, 2, 7] = NAN
    x[1, 0, 4] = INF
    x[1, 3, 2] = -INF
    x[2, :, 5] = NAN  # a whole column
    x[3, 4, :] = -INF
    x[3, 5, :] = INF
    y = make_input((2, 130))
    y[0, 77] = NAN
    y[1, 128] = NAN
    check(lambda x, y: (op(x, -1, False), op(x, 1, True), op(x, 0, False), op(x, None, False),
                        op(y, -1, False), op(y, 0, False)), x, y)


# --------------------------------------------------------------------------- softmax, norms
@pytest.mark.parametrize("fn", [torch.softmax, torch.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax(fn):
    sized = [make_input((2, 3, n)) * 3 for n in SIZES]
    a = make_input((3, 4, 17)) * 3
    a[0, 0, 3] = -INF  # one -inf in a row -> 0 probability
    a[0, 1, :] = -INF  # a whole row of -inf -> NaN, as in PyTorch
    a[1, 2, 5] = INF  # +inf -> NaN row in PyTorch
    a[2, 3, 0] = NAN
    b = make_input((5, 6)) * 50  # large logits: the max must be subtracted
    e = make_input((0, 4))

    def f(*xs):
        outs = []
        for x in xs[:len(sized)]:
            outs += [fn(x, -1), fn(x, 0)]
        a, b, e = xs[len(sized):]
        outs += [fn(a, d) for d in (0, 1, 2, -1)]
        outs += [fn(b, 0), fn(b, 1), fn(b.t(), 1), fn(e, 1), fn(e, 0)]
        return tuple(outs)

    check(f, *sized, a, b, e, interp=True)


def test_layer_norm():
    shapes = [(2, 3, n) for n in SIZES]
    xs = [make_input(s) * 3 + 1 for s in shapes]
    ws = [make_input(s[-1:]) for s in shapes]
    bs = [make_input(s[-1:]) for s in shapes]
    x2, w2, b2 = make_input((4, 5, 6)), make_input((5, 6)), make_input((5, 6))
    x2[1] = 3.3  # constant rows: exactly 0 in PyTorch (rstd = 1/sqrt(eps) amplifies any error)
    x2[2, 1] = -0.7
    n = len(shapes)

    def f(*t):
        outs = [F.layer_norm(t[i], t[i].shape[-1:], t[n + i], t[2 * n + i]) for i in range(n)]
        x2, w2, b2 = t[3 * n:]
        outs += [F.layer_norm(x2, (5, 6), w2, b2, eps=1e-3), F.layer_norm(x2, (6,)),
                 F.layer_norm(x2.transpose(0, 2), (4,)), F.layer_norm(x2[:, :, ::2], (5, 3), w2[:, ::2])]
        return tuple(outs)

    check(f, *xs, *ws, *bs, x2, w2, b2, interp=True)


def test_batch_norm_eval():
    cases = []
    for c, rest in [(3, (5,)), (4, (4, 17)), (5, (3, 3)), (2, ()), (17, (2, 1))]:
        x = make_input((2, c) + rest)
        stats = [make_input((c,)), make_input((c,), low=0.5, high=2.0), make_input((c,)), make_input((c,))]
        cases.append([x] + stats)

    def f(*t):
        outs = []
        for k in range(len(cases)):
            x, rm, rv, w, b = t[5 * k: 5 * k + 5]
            outs.append(F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5))
            outs.append(F.batch_norm(x, rm, rv, training=False, eps=1e-3))
        return tuple(outs)

    check(f, *[v for case in cases for v in case])


def test_batch_norm_module():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU()).eval()
    with torch.no_grad():
        m[1].running_mean.normal_()
        m[1].running_var.uniform_(0.5, 2)
        m[1].weight.normal_()
        m[1].bias.normal_()
    check(m, make_input((2, 3, 9, 10)))


# --------------------------------------------------------------------------- views, cat
VIEWS = {
    "view": lambda x: (x.view(-1), x.view(x.shape[0], -1), x.reshape(x.shape[1], x.shape[0], -1)),
    "reshape_noncontig": lambda x: (x.transpose(0, 2).reshape(-1), x[:, :, ::2].reshape(x.shape[0], -1),
                                    x.transpose(1, 2).reshape(x.shape[0] * x.shape[2], -1)),
    "permute": lambda x: (x.permute(2, 0, 1), x.permute(1, 2, 0) * 2, x.permute(0, 2, 1)),
    "transpose_t": lambda x: (x.transpose(0, 1), x.transpose(-1, -2), x[0].t(), x[0, 0].t()),
    "expand": lambda x: (x[:, :1].expand(-1, 4, -1), x[0, 0].expand(3, 2, -1), x[:1, :1, :1].expand(2, 3, 5)),
    "squeeze_unsqueeze": lambda x: (x.unsqueeze(0), x.unsqueeze(-1), x.unsqueeze(2), x[:, :1].squeeze(1),
                                    x[:1, :1].squeeze(), x.squeeze(), x[:1].squeeze(0), x.unsqueeze(1).squeeze(1)),
    "slice_step": lambda x: (x[:, :, ::2], x[:, 1:, 1::3], x[..., 2:-1], x[:, :, -3:], x[:, :, 100:],
                             x[::2, ::2, ::5], x[:, 2:1], x[:, :, 1:2]),
    "select": lambda x: (x[0], x[:, -1], x[..., 0], x[1, 2], x[..., -1] + 1),
    "narrow": lambda x: (x.narrow(2, 1, 2), x.narrow(1, 0, 2), x.narrow(-1, x.shape[-1] - 1, 1)),
    "flatten": lambda x: (x.flatten(), x.flatten(1), x.flatten(0, 1), x.transpose(0, 1).flatten(1)),
    "chunk": lambda x: tuple(x.chunk(2, -1)) + tuple(x.chunk(3, 1)) + tuple(x.chunk(4, 0)),
    "split": lambda x: tuple(x.split(2, -1)) + tuple(x.split([1, 2], 1)) + tuple(x.split(1, 0)),
    "unbind": lambda x: tuple(x.unbind(1)) + tuple(x.unbind(0)),
    "cat": lambda x: (torch.cat([x, x * 2], -1), torch.cat([x, x[:, :1]], 1), torch.cat([x[:1], x], 0),
                      torch.cat([x.transpose(1, 2), x.transpose(1, 2)], 1), torch.cat([x], 0),
                      torch.cat([x[:, :, :0], x], 2)),
    "stack": lambda x: (torch.stack([x, x + 1], 0), torch.stack([x, x * 3], -1), torch.stack([x[0], x[1]], 1)),
    # reversed indices (size - 1 - i): loads whose address has a negative coefficient
    "flip": lambda x: (x.flip(-1), x.flip(0, 2) * 2, x.flip(1)[:, :, 1::2], x.transpose(1, 2).flip(1),
                       torch.flip(x, [0, 1, 2]).sum(-1)),
    "chain": lambda x: (x.transpose(0, 2)[1:, ::2].reshape(-1, 2).t().unsqueeze(0) * 2,
                        x.permute(2, 1, 0)[..., 0].flatten().relu()),
}


def _view_sizes(name):
    sizes = SIZES
    if name in ("split", "chunk", "unbind", "stack"):
        sizes = (1, 4, 17)
    return sizes


@pytest.mark.parametrize("name", list(VIEWS))
def test_views(name):
    op = VIEWS[name]
    sizes = _view_sizes(name)
    xs = [make_input((2, 3, n)) for n in sizes]
    if name in ("slice_step", "narrow", "chain", "reshape_noncontig"):
        xs = [make_input((2, 3, n)) for n in sizes if n >= 4]

    def fn(*xs):
        return tuple(o for x in xs for o in op(x))

    check(fn, *xs, interp=name in ("reshape_noncontig", "chain"))


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool], ids=str)
def test_views_int(dtype):
    x = make_input((2, 3, 17), dtype)
    check(lambda x: (x.t() if x.ndim == 2 else x.transpose(0, 2), x[:, ::2].reshape(-1), torch.cat([x, x], 1),
                     torch.stack([x, x], 0), x.unsqueeze(0).expand(2, -1, -1, -1), x.flatten()[::3]), x)


def test_cat_mixed_dtypes():
    a, b, c = make_input((3, 5)), make_input((3, 2), torch.int64), make_input((3, 1), torch.bool)
    check(lambda a, b, c: (torch.cat([a, b], 1), torch.cat([b, c], 1), torch.cat([a, b, c], 1),
                           torch.cat([a, torch.empty(0)], 0)), a, b, c)


# --------------------------------------------------------------------------- matrix products
MM_SIZES = (1, 3, 4, 5, 17, 64, 127)


@pytest.mark.parametrize("n", MM_SIZES)
def test_mm_sizes(n):
    """m, k and n each take the size (the microkernel has 4- and 16-wide paths and tails)."""
    a1, b1 = make_input((5, 7)), make_input((7, n))
    a2, b2 = make_input((n, 6)), make_input((6, 3))
    a3, b3 = make_input((4, n)), make_input((n, 9))
    bias = make_input((n,))
    check(lambda a1, b1, a2, b2, a3, b3, bias: (
        torch.mm(a1, b1), a2 @ b2, torch.mm(a3, b3), torch.addmm(bias, a1, b1), torch.mm(a1, b1).relu()),
        a1, b1, a2, b2, a3, b3, bias)


def test_mm_layouts():
    a, b = make_input((9, 6)), make_input((6, 11))
    at, bt = make_input((6, 9)), make_input((11, 6))
    big = make_input((12, 20))
    check(lambda a, b, at, bt, big: (
        torch.mm(at.t(), b), torch.mm(a, bt.t()), torch.mm(at.t(), bt.t()), torch.mm(big[::2, :6], b),
        torch.mm(a, big[:6, ::2][:, :11]), torch.mm(a[:, 1:5], b[1:5]), torch.mm(a[:0], b), torch.mm(a[:, :0], b[:0]),
        torch.mm(a[:1], b), torch.mm(a, b[:, :1]), torch.mm(a.expand(9, 6), b)),
        a, b, at, bt, big)


def test_addmm_variants():
    a, b = make_input((5, 7)), make_input((7, 6))
    v, row, col, full = make_input((6,)), make_input((1, 6)), make_input((5, 1)), make_input((5, 6))
    check(lambda a, b, v, row, col, full: (
        torch.addmm(v, a, b), torch.addmm(row, a, b), torch.addmm(col, a, b), torch.addmm(full, a, b),
        torch.addmm(full, a, b, beta=0.5, alpha=2.0), torch.addmm(v, a, b, beta=0), torch.addmm(full.t().t(), a, b),
        torch.addmm(v, a, b, alpha=-1)),
        a, b, v, row, col, full)


def test_bmm_matmul():
    a3, b3 = make_input((3, 5, 7)), make_input((3, 7, 6))
    a4, b4 = make_input((2, 3, 5, 7)), make_input((2, 3, 7, 4))
    bb = make_input((1, 7, 6))
    v7, v5 = make_input((7,)), make_input((5,))
    m2 = make_input((7, 6))
    c3 = make_input((3, 5, 6))
    check(lambda a3, b3, a4, b4, bb, v7, v5, m2, c3: (
        torch.bmm(a3, b3), a3 @ b3, a4 @ b4,  # batched
        a3 @ m2, a4 @ m2, m2.t() @ a3.transpose(1, 2),  # broadcast batch
        a3 @ bb, bb.transpose(1, 2) @ a3.transpose(1, 2),
        a3 @ v7, v5 @ a3, v7 @ m2, m2.t() @ v7, v7 @ v7,  # vectors
        torch.bmm(a3.transpose(1, 2), a3), torch.matmul(a3[:, ::2], b3),
        torch.baddbmm(c3, a3, b3, beta=0.5, alpha=2.0), torch.baddbmm(c3[:1, :, :1], a3, b3)),
        a3, b3, a4, b4, bb, v7, v5, m2, c3, interp=True)


@pytest.mark.parametrize("n", (1, 3, 17, 64))
def test_linear(n):
    x2, x3, x1 = make_input((4, n)), make_input((2, 3, n)), make_input((n,))
    w, b = make_input((5, n)), make_input((5,))
    check(lambda x2, x3, x1, w, b: (F.linear(x2, w, b), F.linear(x2, w), F.linear(x3, w, b), F.linear(x3, w),
                                    F.linear(x1, w, b), F.linear(x3.transpose(0, 1), w, b)),
          x2, x3, x1, w, b)


def test_linear_module():
    m = torch.nn.Sequential(torch.nn.Linear(17, 32), torch.nn.GELU(), torch.nn.Linear(32, 5, bias=False)).eval()
    check(m, make_input((3, 17)))
    check(m, make_input((2, 4, 17)))


# --------------------------------------------------------------------------- convolution
CONV2D = [
    # (N, Cin, H, W), (Cout, Cin/groups, KH, KW), stride, padding, dilation, groups, bias
    ((2, 3, 9, 17), (4, 3, 3, 3), 1, 0, 1, 1, True),
    ((1, 3, 8, 8), (5, 3, 3, 3), 1, 1, 1, 1, False),
    ((2, 4, 10, 11), (6, 4, 3, 2), 2, (1, 2), 1, 1, True),
    ((1, 2, 12, 13), (3, 2, 3, 3), (2, 3), 2, 2, 1, True),
    ((1, 4, 7, 5), (8, 1, 3, 3), 1, 1, 1, 4, True),  # grouped, 2 outputs per group
    ((2, 6, 9, 9), (6, 2, 3, 3), 2, 1, 1, 3, False),  # grouped
    ((2, 8, 10, 127), (8, 1, 3, 3), 1, 1, 1, 8, True),  # depthwise, wide
    ((1, 5, 9, 6), (5, 1, 5, 3), 2, (2, 1), (1, 2), 5, False),  # depthwise, strided, dilated
    ((2, 16, 5, 4), (32, 16, 1, 1), 1, 0, 1, 1, True),  # pointwise 1x1
    ((1, 4, 6, 6), (8, 4, 1, 1), 2, 0, 1, 1, False),  # 1x1 strided
    ((1, 3, 4, 64), (4, 3, 4, 4), 4, 0, 1, 1, True),  # patchify
    ((1, 1, 1, 1), (3, 1, 1, 1), 1, 0, 1, 1, True),
    ((1, 2, 3, 3), (2, 2, 3, 3), 1, 0, 1, 1, True),  # 1x1 output
    ((1, 2, 5, 5), (4, 2, 5, 5), 1, 2, 1, 1, True),  # kernel as large as the input
]


@pytest.mark.parametrize("case", CONV2D, ids=[f"conv{i}" for i in range(len(CONV2D))])
def test_conv2d(case):
    xs, ws, stride, padding, dilation, groups, has_bias = case
    x, w = make_input(xs), make_input(ws)
    b = make_input(ws[:1]) if has_bias else None
    check(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b,
          interp=case is CONV2D[3] or case is CONV2D[7])


def test_conv2d_noncontig_and_module():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.Conv2d(8, 8, 3, groups=8, stride=2), torch.nn.Conv2d(8, 4, 1)).eval()
    check(m, make_input((2, 3, 12, 17)))
    x, w = make_input((2, 9, 3, 8)), make_input((4, 3, 2, 2))
    check(lambda x, w: F.conv2d(x.transpose(1, 2), w, padding=1), x, w)


@pytest.mark.parametrize("length", (1, 5, 17, 64))
def test_conv1d(length):
    x = make_input((2, 4, length))
    w1, w2, w3 = make_input((6, 4, 3)), make_input((4, 1, 3)), make_input((8, 2, 1))
    b = make_input((6,))
    check(lambda x, w1, w2, w3, b: (F.conv1d(x, w1, b, padding=1), F.conv1d(x, w2, groups=4, padding=2, dilation=2),
                                    F.conv1d(x, w3, groups=2), F.conv1d(x, w1, b, stride=2, padding=1)),
          x, w1, w2, w3, b)


# --------------------------------------------------------------------------- pooling
MAXPOOL = [
    # (shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((1, 2, 9, 17), 3, 2, 1, 1, False),
    ((1, 2, 9, 17), 3, 2, 1, 1, True),
    ((1, 3, 10, 11), (3, 2), (2, 1), (1, 0), (2, 1), False),
    ((1, 3, 10, 11), 2, 3, 1, 2, True),
    ((2, 4, 5, 127), 3, 1, 1, 1, False),
    ((1, 1, 4, 4), 4, 4, 0, 1, False),
    ((3, 7, 7), 3, 2, 0, 1, True),  # unbatched
]


@pytest.mark.parametrize("case", MAXPOOL, ids=[f"maxpool{i}" for i in range(len(MAXPOOL))])
def test_max_pool2d(case):
    shape, k, s, p, d, ceil = case
    x = make_input(shape)
    x.view(-1)[::7] = -INF  # -inf values must not be confused with padding
    check(lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil), x)


def test_max_pool2d_nan():
    x = make_input((1, 2, 6, 6))
    x[0, 0, 1, 1] = NAN
    x[0, 1, 4, 5] = NAN
    check(lambda x: (F.max_pool2d(x, 2), F.max_pool2d(x, 3, 1, 1)), x)


AVGPOOL = [
    # (shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((1, 2, 9, 17), 3, 2, 1, False, True, None),
    ((1, 2, 9, 17), 3, 2, 1, False, False, None),
    ((1, 2, 9, 17), 3, 2, 1, True, True, None),
    ((1, 2, 9, 17), 3, 2, 1, True, False, None),
    ((1, 3, 10, 11), (3, 2), (2, 1), (1, 0), True, True, None),
    ((1, 3, 10, 11), 3, 2, 1, False, True, 5),
    ((2, 4, 5, 127), 3, 1, 1, False, False, None),
    ((3, 7, 7), 2, 2, 1, True, True, None),  # unbatched
]


@pytest.mark.parametrize("case", AVGPOOL, ids=[f"avgpool{i}" for i in range(len(AVGPOOL))])
def test_avg_pool2d(case):
    shape, k, s, p, ceil, cip, div = case
    check(lambda x: F.avg_pool2d(x, k, s, p, ceil, cip, div), make_input(shape))


@pytest.mark.parametrize("out", [(1, 1), (2, 2), (3, 3), (4, 5), (7, 7), (1, 3), 5, (9, 12)])
def test_adaptive_avg_pool2d(out):
    x1, x2 = make_input((2, 3, 8, 10)), make_input((1, 2, 7, 17))
    check(lambda x1, x2, x3: (F.adaptive_avg_pool2d(x1, out), F.adaptive_avg_pool2d(x2, out),
                              F.adaptive_avg_pool2d(x3, out)), x1, x2, make_input((3, 9, 9)))


# --------------------------------------------------------------------------- where, masks
@pytest.mark.parametrize("n", SIZES)
def test_where_masked_fill(n):
    c, x, y = make_input((3, n), torch.bool), make_input((3, n)), make_input((1, n))
    i, j = make_input((3, n), torch.int64), make_input((n,), torch.int64)
    row = make_input((3, 1), torch.bool)
    check(lambda c, x, y, i, j, row: (
        torch.where(c, x, y), torch.where(c, x, 0.0), torch.where(c, 1.5, x), torch.where(c, 2.0, -1.0),
        torch.where(c, i, j), torch.where(c, i, 7), torch.where(row, x, y), torch.where(x > 0, x, i),
        torch.where(c, x, torch.tensor(NAN)), torch.where(c.t().t(), x.t().t(), y),
        x.masked_fill(c, -INF), x.masked_fill(row, 3), i.masked_fill(c, -1), x.masked_fill(c, y[0, 0]),
        x.masked_fill(x < 0, 0.0), c.masked_fill(row, True), torch.where(c, c, row)),
        c, x, y, i, j, row)


# --------------------------------------------------------------------------- indexing
def test_embedding():
    w = make_input((11, 17))
    idx2 = torch.tensor([[0, 3, 10], [10, 2, 2]])
    idx1 = torch.tensor([5, 0, 9, 9])
    wide = make_input((7, 127))
    check(lambda w, i2, i1, wide: (F.embedding(i2, w), F.embedding(i1, w), F.embedding(i1[:2], wide),
                                   F.embedding(i2, w) * 2 + 1, F.embedding(i1.int(), w)),
          w, idx2, idx1, wide, interp=True)
    emb = torch.nn.Embedding(20, 8, padding_idx=0).eval()
    check(emb, torch.tensor([[0, 1, 19], [4, 0, 3]]))


def test_index_select_gather():
    x = make_input((5, 6, 7))
    i = torch.tensor([4, 0, 0, 2])
    g0 = torch.randint(0, 5, (3, 6, 7))
    g2 = torch.randint(0, 7, (5, 6, 3))
    g1 = torch.randint(0, 6, (2, 4, 7))
    check(lambda x, i, g0, g1, g2: (
        torch.index_select(x, 0, i), torch.index_select(x, 1, i), torch.index_select(x, 2, i),
        torch.index_select(x, -1, i[:1]), torch.index_select(x.transpose(0, 2), 1, i),
        torch.gather(x, 0, g0), torch.gather(x, 1, g1), torch.gather(x, 2, g2), torch.gather(x, -1, g2[..., :1]),
        torch.gather(x * 2, 2, g2), torch.index_select(x.long(), 0, i)),
        x, i, g0, g1, g2, interp=True)


def test_advanced_indexing():
    x = make_input((6, 5, 17))
    i = torch.tensor([0, 5, -1, 2])
    j = torch.tensor([[1, -2], [0, 4]])
    k = torch.tensor([3, 0])
    check(lambda x, i, j, k: (x[i], x[j], x[:, k], x[i, :, 1:3], x[:, j], x[k, k], x[j, k], x[i] + 1,
                              x.long()[i], x[:, :, k]),
          x, i, j, k, interp=True)


# --------------------------------------------------------------------------- factories
def test_factories():
    x = make_input((3, 17))
    check(lambda x: (
        torch.arange(17) + x, torch.arange(5), torch.arange(2, 11, 3), torch.arange(1.0, 4.0, 0.5),
        torch.arange(0, -10, -2), torch.arange(6, dtype=torch.float32) * x[0, :6],
        torch.full((2, 3), 7.5), torch.full((4,), 3, dtype=torch.int64), torch.full((2, 2), True),
        torch.zeros(3, 5) + x[:, :5], torch.ones(2, 17, dtype=torch.int64), torch.zeros(0, 3),
        torch.ones_like(x), torch.zeros_like(x, dtype=torch.bool), torch.full_like(x, -2.0), x.new_zeros(2),
        torch.arange(x.shape[1]).float().unsqueeze(0) * x, torch.arange(127)),
        x)


# --------------------------------------------------------------------------- assorted
def test_clamp_promotion_and_tensor_bounds():
    x, lo, hi = make_input((3, 17)), make_input((17,)) - 1, make_input((3, 1)) + 1
    i = make_input((3, 17), torch.int64)
    check(lambda x, lo, hi, i: (
        torch.clamp(x, lo, hi), torch.clamp(x, min=lo), torch.clamp(x, max=hi), x.clamp(lo[0], hi),
        i.clamp(min=0.5), i.clamp(max=2.5), i.clamp(-2, 3), i.clamp(lo, hi), x.clamp(NAN, 1.0),
        torch.clamp_min(x, lo), torch.clamp_max(i, 1)),
        x, lo, hi, i)


def test_statistics_and_products():
    x = make_input((4, 3, 17))
    a, b = make_input((17,)), make_input((5, 17))
    check(lambda x, a, b: (torch.var_mean(x, 1), torch.std(x, (0, 2)), torch.var(x, 1, correction=2),
                           torch.dot(a, a), torch.mv(b, a), torch.einsum("ij,j->i", b, a),
                           torch.einsum("bij,bkj->bik", x, x)),
          x, a, b)


def test_inplace_and_conv_padding_modes():
    x, w = make_input((1, 3, 8, 9)), make_input((4, 3, 3, 3))
    check(lambda x, w: (F.conv2d(x, w, padding="same"), F.conv2d(x, w, padding="same", dilation=2),
                        F.conv2d(x, w, padding="valid"), F.silu(x.clone(), inplace=True),
                        x.clone().relu_().add_(1).mul_(2)),
          x, w)


_OUT_OF_RANGE = {
    "embedding": lambda w, i: F.embedding(i, w), "index": lambda w, i: w[i],
    "index_select": lambda w, i: torch.index_select(w, 0, i), "int_div_zero": lambda w, i: i // (i - 1),
    "int_mod_zero": lambda w, i: i % (i - 7),
}


@pytest.mark.parametrize("name,bad", [(n, 7) for n in _OUT_OF_RANGE]
                         + [(n, b) for n in ("embedding", "index", "index_select") for b in (2**32 + 1, -2**32 + 1)])
def test_index_out_of_range_raises(name, bad):
    """PyTorch raises for an out-of-range index or an integer division by zero; the module
    traps (never reads garbage or returns a made-up value). An int64 index beyond the i32
    range must not wrap into range on its way to an i32 address."""
    from tests.e2e.helpers import compile_wasm

    w, i = make_input((5, 3)), torch.tensor([1, bad])
    compiled = compile_wasm(_OUT_OF_RANGE[name])
    with pytest.raises(Exception, match="unreachable|divide by zero"), torch.no_grad():
        compiled(w, i)


# --------------------------------------------------------------------------- unsupported
UNSUPPORTED = {
    # float32 pow of any exponent is lowered (tests/e2e/test_math_ops.py); integer tensors are not
    "pow_int_tensor": (lambda x, y: x ** y, lambda: [make_input((3, 4), torch.int64, low=0, high=4),
                                                     make_input((3, 4), torch.int64, low=0, high=4)], "pow"),
    "pow_int_large": (lambda x: x ** 9, lambda: [make_input((3, 4), torch.int64)], "pow"),
    "bfloat16": (lambda x: x + 1, lambda: [make_input((3, 4), torch.bfloat16)], "dtype"),
    "float64_sin": (lambda x: x.sin(), lambda: [make_input((3, 4), torch.float64)], "float64"),
    "mm_int": (lambda a, b: a @ b, lambda: [make_input((3, 4), torch.int64), make_input((4, 2), torch.int64)],
               "matrix product"),
    "nonadjacent_index": (lambda x, i: x[i, :, i], lambda: [make_input((4, 3, 4)), torch.tensor([0, 3])],
                          "non-adjacent"),
    "unlowered": (unlowered, lambda: [make_input((3, 4), low=0.0, high=3.0)], "no lowering"),
    "interpolate_antialias": (lambda x: F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True),
                              lambda: [make_input((1, 2, 4, 4))], "no lowering"),
    # PyTorch raises for these; Dynamo's fake tensors let them through, the lowering must not
    "relu_bool": (torch.relu, lambda: [make_input((5,), torch.bool)], "bool"),
    "abs_bool": (torch.abs, lambda: [make_input((5,), torch.bool)], "bool"),
    "round_bool": (torch.round, lambda: [make_input((5,), torch.bool)], "bool"),
    "argmax_bool": (lambda x: x.argmax(), lambda: [make_input((5,), torch.bool)], "bool"),
    "rsub_bool": (lambda x: 1 - x, lambda: [make_input((5,), torch.bool)], "bool"),
    "remainder_bool": (lambda x: x % x, lambda: [make_input((5,), torch.bool)], "bool"),
    "view_not_viewable": (lambda x: x.view(-1) * 2, lambda: [torch.arange(16 * 7.0).reshape(16, 1, 7)[..., 1::3]],
                          "not viewable"),
}


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_unsupported_raises(name):
    fn, make, match = UNSUPPORTED[name]
    expect_unsupported(fn, *make(), match=match)


def test_fallback_without_strict():
    """Without strict mode an unsupported graph warns and runs eagerly (right answer)."""
    from torch_wasm_backend.backend import WasmFallbackWarning
    from tests.e2e.helpers import compile_wasm

    x = make_input((3, 4), low=0.0, high=3.0)
    fn = compile_wasm(unlowered, strict=False)
    with pytest.warns(WasmFallbackWarning), torch.no_grad():
        out = fn(x)
    torch.testing.assert_close(out, unlowered(x))
