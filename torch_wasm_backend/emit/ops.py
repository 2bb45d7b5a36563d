"""The op table: one entry per IR operator and lane type -> WAT instructions.

Scalar booleans are i32 0/1; vector booleans are i32x4 lane masks (0 or -1), which is what
SIMD comparisons produce and ``v128.bitselect`` consumes. ``tmp(type)`` gives a fresh local
for operators that need an operand twice.
"""

from __future__ import annotations

from ..target import FLOAT64_MATH, FLOATS, WIDENED

MATH = ("exp", "log", "tanh", "erf", "sigmoid")  # routines in csrc/wat/math_f32x4.wat
# routines in csrc/wat/math_f32x4_f64.wat (evaluated in float64, correctly rounded): unary, binary
MATH_F64 = ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
            "log1p", "expm1", "log2", "log10", "exp2", "erfc", "erfinv", "erfcx",
            "i0", "i0e", "i1", "i1e", "digamma", "lgamma")
MATH_F64_BINARY = ("atan2", "hypot", "pow", "polygamma")  # polygamma(n, x): n the same in every lane
# scalar float64 routines in csrc/wat/math_f64.wat (float64 tensors)
MATH_F64_SCALAR = FLOAT64_MATH
# PyTorch's orthogonal polynomials p(x, n), float32 recurrences in csrc/wat/poly_f32.wat
POLY = ("chebyshev_t", "chebyshev_u", "chebyshev_v", "chebyshev_w", "shifted_chebyshev_t", "shifted_chebyshev_u",
        "shifted_chebyshev_v", "shifted_chebyshev_w", "hermite_h", "hermite_he", "laguerre_l", "legendre_p")

_SIMPLE_SCALAR = {
    "f32": {"add": "f32.add", "sub": "f32.sub", "mul": "f32.mul", "div": "f32.div", "copysign": "f32.copysign", "neg": "f32.neg", "abs": "f32.abs", "sqrt": "f32.sqrt", "floor": "f32.floor",
            "ceil": "f32.ceil", "round": "f32.nearest", "trunc": "f32.trunc", "lt": "f32.lt", "le": "f32.le",
            "gt": "f32.gt", "ge": "f32.ge", "eq": "f32.eq", "ne": "f32.ne"},
    "f64": {"add": "f64.add", "sub": "f64.sub", "mul": "f64.mul", "div": "f64.div", "copysign": "f64.copysign",
            "neg": "f64.neg", "abs": "f64.abs", "sqrt": "f64.sqrt", "floor": "f64.floor", "ceil": "f64.ceil",
            "round": "f64.nearest", "trunc": "f64.trunc", "lt": "f64.lt", "le": "f64.le", "gt": "f64.gt",
            "ge": "f64.ge", "eq": "f64.eq", "ne": "f64.ne"},
    "i32": {"add": "i32.add", "sub": "i32.sub", "mul": "i32.mul", "div": "i32.div_s", "lt": "i32.lt_s",
            "le": "i32.le_s", "gt": "i32.gt_s", "ge": "i32.ge_s", "eq": "i32.eq", "ne": "i32.ne",
            "and": "i32.and", "or": "i32.or", "xor": "i32.xor"},
    "i64": {"add": "i64.add", "sub": "i64.sub", "mul": "i64.mul", "div": "i64.div_s", "lt": "i64.lt_s",
            "le": "i64.le_s", "gt": "i64.gt_s", "ge": "i64.ge_s", "eq": "i64.eq", "ne": "i64.ne",
            "and": "i64.and", "or": "i64.or", "xor": "i64.xor"},
    "bool": {"and": "i32.and", "or": "i32.or", "xor": "i32.xor", "eq": "i32.eq", "ne": "i32.ne",
             "lt": "i32.lt_u", "le": "i32.le_u", "gt": "i32.gt_u", "ge": "i32.ge_u"},
}


def _zero(t):
    return f"({'i32' if t == 'bool' else t}.const 0)"


def scalar(name: str, src: str, dst: str, args: list, tmp) -> str:
    """WAT for ``name`` on scalar operands of dtype ``src`` producing ``dst``."""
    if (src in WIDENED or dst in WIDENED) and name not in ("cast", "where"):
        # float16, uint8 and int16 are computed in float32 / int32 (lower/registry.py): only
        # casts and selects see them
        raise NotImplementedError(f"no scalar WAT for {name} on {src}")
    if src in WIDENED and name == "where":
        src = WIDENED[src]
    t = "i32" if src == "bool" else src
    simple = _SIMPLE_SCALAR.get(src, {})
    if name in simple:
        return f"({simple[name]} {' '.join(args)})"
    a = args[0]
    if name == "cast":
        return _scalar_cast(src, dst, a)
    if name == "where":
        return f"(select {args[1]} {args[2]} {args[0]})"
    if name in MATH_F64_SCALAR and src == "f64":
        return f"(call $f64_{name} {a})"
    if (name in MATH or name in MATH_F64) and src == "f32":
        return f"(f32x4.extract_lane 0 (call $f32x4_{name} (f32x4.splat {a})))"
    if name in MATH_F64_BINARY and src == "f32":
        return f"(f32x4.extract_lane 0 (call $f32x4_{name} (f32x4.splat {a}) (f32x4.splat {args[1]})))"
    if name in POLY and src == "f32":
        return f"(call $poly_{name} {a} {args[1]})"
    if name == "rsqrt":
        return f"({t}.div ({t}.const 1) ({t}.sqrt {a}))"
    if name == "recip":
        return f"({t}.div ({t}.const 1) {a})"
    if name == "relu":
        if src in FLOATS:  # where(x < 0, 0, x), as PyTorch: keeps -0.0 and NaN
            x = tmp(t)
            return f"(select ({t}.const 0) (local.tee {x} {a}) ({t}.lt (local.get {x}) ({t}.const 0)))"
        x = tmp(t)
        return f"(select (local.tee {x} {a}) {_zero(t)} ({t}.gt_s (local.get {x}) {_zero(t)}))"
    if name == "isnan":
        x = tmp(t)
        return f"({t}.ne (local.tee {x} {a}) (local.get {x}))"
    if name == "not":
        return f"({t}.eqz {a})"
    if name == "neg":
        return f"({t}.sub {_zero(t)} {a})"
    if name in ("max", "min") and src in FLOATS:
        # as PyTorch: NaN propagates, and a tie keeps the first operand (max(-0.0, 0.0) is
        # -0.0; f32.max would give 0.0)
        x, y = tmp(t), tmp(t)
        keep = f"({t}.{'ge' if name == 'max' else 'le'} (local.get {x}) (local.get {y}))"
        return (f"(select (local.tee {x} {a}) (local.tee {y} {args[1]}) "
                f"(i32.or {keep} ({t}.ne (local.get {x}) (local.get {x}))))")
    if name in ("max", "min", "abs", "sign"):
        x, y = tmp(t), tmp(t)
        b = args[1] if len(args) > 1 else _zero(t)
        cmp = {"max": "gt_s", "min": "lt_s", "abs": "gt_s"}.get(name)
        if name == "abs":
            return f"(select (local.tee {x} {a}) ({t}.sub {_zero(t)} (local.get {x})) ({t}.gt_s (local.get {x}) {_zero(t)}))"
        if name == "sign":
            g = f"(local.get {x})"
            if src in FLOATS:  # NaN and +-0 pass through
                return (f"(block (result {t}) (local.set {x} {a}) (select ({t}.const 1) (select ({t}.const -1) "
                        f"{g} ({t}.lt {g} ({t}.const 0))) ({t}.gt {g} ({t}.const 0))))")
            gt, lt = f"({t}.gt_s {g} {_zero(t)})", f"({t}.lt_s {g} {_zero(t)})"
            if t == "i64":
                gt, lt = f"(i64.extend_i32_u {gt})", f"(i64.extend_i32_u {lt})"
            return f"(block (result {t}) (local.set {x} {a}) ({t}.sub {gt} {lt}))"
        return f"(select (local.tee {x} {a}) (local.tee {y} {b}) ({t}.{cmp} (local.get {x}) (local.get {y})))"
    if name == "mod" and src == "f32":
        return _f32_mod(a, args[1], tmp)
    if name in ("mod", "pow") and src == "f64":  # csrc/wat/math_f64.wat
        return f"(call $f64_{name} {a} {args[1]})"
    if name in ("floordiv", "mod"):
        if src == "f64":
            raise NotImplementedError(f"no scalar WAT for {name} on f64 (the lowering refuses it)")
        x, y = tmp(t), tmp(t)
        if src == "f32":
            q = f"(f32.floor (f32.div (local.get {x}) (local.get {y})))"
            if name == "floordiv":
                return f"(block (result f32) (local.set {x} {a}) (local.set {y} {args[1]}) {q})"
            return (f"(block (result f32) (local.set {x} {a}) (local.set {y} {args[1]}) "
                    f"(f32.sub (local.get {x}) (f32.mul {q} (local.get {y}))))")
        # integers: C division, then adjust toward -inf when signs differ and rem != 0
        r = tmp(t)
        fix = (f"(i32.and ({t}.ne (local.get {r}) {_zero(t)}) "
               f"(i32.ne ({t}.lt_s (local.get {r}) {_zero(t)}) ({t}.lt_s (local.get {y}) {_zero(t)})))")
        head = f"(local.set {x} {a}) (local.set {y} {args[1]}) (local.set {r} ({t}.rem_s (local.get {x}) (local.get {y})))"
        if name == "mod":
            return f"(block (result {t}) {head} (select ({t}.add (local.get {r}) (local.get {y})) (local.get {r}) {fix}))"
        q = f"({t}.div_s (local.get {x}) (local.get {y}))"
        one = f"({t}.const 1)"
        return f"(block (result {t}) {head} (select ({t}.sub {q} {one}) {q} {fix}))"
    raise NotImplementedError(f"no scalar WAT for {name} on {src}")


def _f32_mod(a: str, b: str, tmp) -> str:
    """Exact floored remainder ``a - floor(a / b) * b`` of two f32 values (Python's and
    PyTorch's ``remainder``: the sign of ``b``; NaN when ``b == 0``, ``a`` is infinite or
    either is NaN). ``x - floor(x / y) * y`` in f32 is off by up to ``|y|`` when the
    quotient rounds to an integer (1.0 % 0.1), so: C ``fmod`` of the magnitudes in f64, a
    long division that removes up to 28 quotient bits per step (every step is exact: the
    partial quotient has < 29 bits, so ``q * m`` fits the 53-bit mantissa), then the sign
    fix-up PyTorch applies (``mod += b`` when the signs differ)."""
    x, y, f = tmp("f32"), tmp("f32"), tmp("f32")
    A, B, M, q, n = tmp("f64"), tmp("f64"), tmp("f64"), tmp("f64"), tmp("i32")
    g = lambda v: f"(local.get {v})"
    done, again = f"$mod_done_{x[1:]}", f"$mod_next_{x[1:]}"  # unique: derived from a fresh local
    scale = (f"(f64.reinterpret_i64 (i64.shl (i64.sub (i64.shr_u (i64.reinterpret_f64 {g(q)}) (i64.const 52)) "
             f"(i64.const 28)) (i64.const 52)))")
    step = (f"(block {done} (loop {again} "
            f"(br_if {done} (i32.or (i32.eqz (f64.ge {g(A)} {g(B)})) (i32.gt_u {g(n)} (i32.const 24)))) "
            f"(local.set {n} (i32.add {g(n)} (i32.const 1))) "
            f"(local.set {q} (f64.div {g(A)} {g(B)})) "
            f"(local.set {M} (select (f64.mul {g(B)} {scale}) {g(B)} (f64.ge {g(q)} (f64.const 0x1p29)))) "
            f"(local.set {A} (f64.sub {g(A)} (f64.mul (f64.trunc (f64.div {g(A)} {g(M)})) {g(M)}))) "
            f"(br {again})))")
    return (f"(block (result f32) (local.set {x} {a}) (local.set {y} {b}) "
            f"(local.set {A} (f64.abs (f64.promote_f32 {g(x)}))) (local.set {B} (f64.abs (f64.promote_f32 {g(y)}))) "
            f"(local.set {n} (i32.const 0)) "
            f"(if (i32.and (f64.gt {g(B)} (f64.const 0)) (f64.lt {g(A)} (f64.const inf))) "
            f"(then {step}) (else (local.set {A} (f64.const nan)))) "
            f"(local.set {f} (f32.copysign (f32.demote_f64 {g(A)}) {g(x)})) "
            f"(select (f32.add {g(f)} {g(y)}) {g(f)} (i32.and (f32.ne {g(f)} (f32.const 0)) "
            f"(i32.ne (f32.lt {g(f)} (f32.const 0)) (f32.lt {g(y)} (f32.const 0))))))")


def _lanewise(name: str, src: str, args: list, tmp) -> str:
    """A 4-lane f32 op computed one lane at a time with the scalar code."""
    vs = [tmp("v128") for _ in args]
    out = "(v128.const i32x4 0 0 0 0)"
    for lane in range(4):
        lane_args = [f"(f32x4.extract_lane {lane} (local.get {v}))" for v in vs]
        out = f"(f32x4.replace_lane {lane} {out} {scalar(name, src, src, lane_args, tmp)})"
    sets = " ".join(f"(local.set {v} {a})" for v, a in zip(vs, args))
    return f"(block (result v128) {sets} {out})"


def _scalar_cast(src: str, dst: str, a: str) -> str:
    if src == dst or (src, dst) in (("bool", "i32"),):
        return a
    # float16 values sit in f32 locals, uint8 and int16 in i32 ones (zero/sign-extended): from
    # them as from f32 / i32; to them by way of f32 / i32 (PyTorch converts double and
    # integers to half through float too), then rounded or wrapped
    if src in WIDENED:
        return _scalar_cast(WIDENED[src], dst, a)
    if dst in WIDENED:
        wide = _scalar_cast(src, WIDENED[dst], a)
        return {"f16": f"(call $f16_round {wide})", "u8": f"(i32.and {wide} (i32.const 255))",
                "i16": f"(i32.extend16_s {wide})"}[dst]
    table = {
        ("f32", "i32"): "i32.trunc_sat_f32_s", ("f32", "i64"): "i64.trunc_sat_f32_s",
        ("i32", "f32"): "f32.convert_i32_s", ("i64", "f32"): "f32.convert_i64_s",
        ("i32", "i64"): "i64.extend_i32_s", ("i64", "i32"): "i32.wrap_i64",
        ("bool", "f32"): "f32.convert_i32_u", ("bool", "i64"): "i64.extend_i32_u",
        # int8 values sit in i32 sign-extended (i32.load8_s); a cast to int8 wraps as PyTorch's does
        ("i8", "f32"): "f32.convert_i32_s", ("i8", "i64"): "i64.extend_i32_s", ("i32", "i8"): "i32.extend8_s",
        ("f32", "f64"): "f64.promote_f32", ("f64", "f32"): "f32.demote_f64",
        ("f64", "i32"): "i32.trunc_sat_f64_s", ("f64", "i64"): "i64.trunc_sat_f64_s",
        ("i32", "f64"): "f64.convert_i32_s", ("i64", "f64"): "f64.convert_i64_s",
        ("bool", "f64"): "f64.convert_i32_u", ("i8", "f64"): "f64.convert_i32_s",
    }
    if (src, dst) in (("i8", "i32"), ("bool", "i8")):
        return a
    if (src, dst) in (("f32", "i8"), ("f64", "i8")):
        return f"(i32.extend8_s (i32.trunc_sat_{src}_s {a}))"
    if (src, dst) == ("i64", "i8"):
        return f"(i32.extend8_s (i32.wrap_i64 {a}))"
    if (src, dst) in table:
        return f"({table[(src, dst)]} {a})"
    if dst == "bool":
        return {"f32": f"(f32.ne {a} (f32.const 0))", "f64": f"(f64.ne {a} (f64.const 0))", "i32": f"(i32.ne {a} (i32.const 0))",
                "i64": f"(i64.ne {a} (i64.const 0))", "i8": f"(i32.ne {a} (i32.const 0))"}[src]
    raise NotImplementedError(f"cast {src} -> {dst}")


_SIMPLE_VECTOR = {
    "f32": {"add": "f32x4.add", "sub": "f32x4.sub", "mul": "f32x4.mul", "div": "f32x4.div", "neg": "f32x4.neg", "abs": "f32x4.abs", "sqrt": "f32x4.sqrt",
            "floor": "f32x4.floor", "ceil": "f32x4.ceil", "round": "f32x4.nearest", "trunc": "f32x4.trunc",
            "lt": "f32x4.lt", "le": "f32x4.le", "gt": "f32x4.gt", "ge": "f32x4.ge", "eq": "f32x4.eq",
            "ne": "f32x4.ne"},
    "i32": {"add": "i32x4.add", "sub": "i32x4.sub", "mul": "i32x4.mul", "max": "i32x4.max_s",
            "min": "i32x4.min_s", "neg": "i32x4.neg", "abs": "i32x4.abs", "lt": "i32x4.lt_s",
            "le": "i32x4.le_s", "gt": "i32x4.gt_s", "ge": "i32x4.ge_s", "eq": "i32x4.eq", "ne": "i32x4.ne",
            "and": "v128.and", "or": "v128.or", "xor": "v128.xor"},
    "bool": {"and": "v128.and", "or": "v128.or", "xor": "v128.xor", "eq": "i32x4.eq", "ne": "i32x4.ne"},
}

ONE_F = "(v128.const f32x4 1 1 1 1)"
ZERO = "(v128.const i32x4 0 0 0 0)"
ONE_I = "(v128.const i32x4 1 1 1 1)"
SIGN_BITS = "(v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)"


def _v_pmaxmin(name):
    def write(src, dst, args, tmp):
        # as PyTorch (and the scalar form): pmax/pmin keep the first operand on a tie
        # (-0.0 vs 0.0) or when either is NaN; a NaN second operand is or-ed in as all ones
        # (not needed for a constant that is no NaN: clamp bounds, relu6)
        if args[1].startswith("(v128.const f32x4 ") and "nan" not in args[1] and "(" not in args[1][1:]:
            return f"(f32x4.p{name} {args[0]} {args[1]})"
        y = tmp("v128")
        return f"(v128.or (f32x4.p{name} {args[0]} (local.tee {y} {args[1]})) (f32x4.ne (local.get {y}) (local.get {y})))"
    return write


def _v_isnan(src, dst, args, tmp):
    x = tmp("v128")
    return f"(f32x4.ne (local.tee {x} {args[0]}) (local.get {x}))"


def _v_sign(src, dst, args, tmp):
    x = tmp("v128")
    g = f"(local.get {x})"
    if src == "f32":
        body = (f"(v128.bitselect {ONE_F} (v128.bitselect (v128.const f32x4 -1 -1 -1 -1) {g} "
                f"(f32x4.lt {g} {ZERO})) (f32x4.gt {g} {ZERO}))")
    else:
        body = (f"(i32x4.sub (v128.and (i32x4.gt_s {g} {ZERO}) {ONE_I}) "
                f"(v128.and (i32x4.lt_s {g} {ZERO}) {ONE_I}))")
    return f"(block (result v128) (local.set {x} {args[0]}) {body})"


def _v_floordiv(src, dst, args, tmp):
    x, y = tmp("v128"), tmp("v128")
    q = f"(f32x4.floor (f32x4.div (local.get {x}) (local.get {y})))"
    return f"(block (result v128) (local.set {x} {args[0]}) (local.set {y} {args[1]}) {q})"


def _v_routine(name):
    return lambda src, dst, args, tmp: f"(call $f32x4_{name} {' '.join(args)})"


# name -> (source lane types, writer(src, dst, args, tmp)) for operators that are not one
# instruction; with _SIMPLE_VECTOR this is the whole vector op table
_VECTOR_WRITERS = {
    "cast": (("f32", "i32", "bool", "i8"), lambda src, dst, args, tmp: _vector_cast(src, dst, args[0])),
    "where": (("f32", "i32", "bool"), lambda src, dst, args, tmp: f"(v128.bitselect {args[1]} {args[2]} {args[0]})"),
    "not": (("bool",), lambda src, dst, args, tmp: f"(v128.not {args[0]})"),
    "rsqrt": (("f32",), lambda src, dst, args, tmp: f"(f32x4.div {ONE_F} (f32x4.sqrt {args[0]}))"),
    # |a| with b's sign bit (NaN's sign bit too), as f32.copysign
    "copysign": (("f32",), lambda src, dst, args, tmp: f"(v128.bitselect {args[1]} {args[0]} {SIGN_BITS})"),
    "recip": (("f32",), lambda src, dst, args, tmp: f"(f32x4.div {ONE_F} {args[0]})"),
    # where(x < 0, 0, x), keeps -0.0 and NaN: exactly pmax(x, 0) = x < 0 ? 0 : x
    "relu": (("f32",), lambda src, dst, args, tmp: f"(f32x4.pmax {args[0]} {ZERO})"),
    "max": (("f32",), _v_pmaxmin("max")),
    "min": (("f32",), _v_pmaxmin("min")),
    "isnan": (("f32",), _v_isnan),
    "sign": (("f32", "i32"), _v_sign),
    "floordiv": (("f32",), _v_floordiv),
    "mod": (("f32",), lambda src, dst, args, tmp: _lanewise("mod", src, args, tmp)),
    **{name: (("f32",), _v_routine(name)) for name in MATH + MATH_F64 + MATH_F64_BINARY + POLY},
}

# what the scheduler may vectorise, by source lane type: derived from the table above
VECTOR_OPS = {
    src: frozenset(_SIMPLE_VECTOR.get(src, {})) | {n for n, (srcs, _) in _VECTOR_WRITERS.items() if src in srcs}
    for src in ("f32", "i32", "bool")
}


def vector(name: str, src: str, dst: str, args: list, tmp) -> str:
    """WAT for ``name`` on 4-lane operands (v128)."""
    simple = _SIMPLE_VECTOR.get(src, {})
    if name in simple:
        return f"({simple[name]} {' '.join(args)})"
    srcs, write = _VECTOR_WRITERS.get(name, ((), None))
    if src not in srcs:
        raise NotImplementedError(f"no vector WAT for {name} on {src}")
    return write(src, dst, args, tmp)


def _vector_cast(src: str, dst: str, a: str) -> str:
    if src == dst:
        return a
    if (src, dst) == ("f32", "i32"):
        return f"(i32x4.trunc_sat_f32x4_s {a})"
    if (src, dst) == ("i32", "f32"):
        return f"(f32x4.convert_i32x4_s {a})"
    if (src, dst) == ("bool", "f32"):
        return f"(f32x4.convert_i32x4_s (v128.and {a} {ONE_I}))"
    if (src, dst) == ("bool", "i32"):
        return f"(v128.and {a} {ONE_I})"
    if (src, dst) == ("i8", "i32"):
        return a
    if (src, dst) == ("i8", "f32"):
        return f"(f32x4.convert_i32x4_s {a})"
    if (src, dst) in (("f32", "i8"), ("i32", "i8")):  # int8 lanes: i32x4 sign-extended from 8 bits
        v = f"(i32x4.trunc_sat_f32x4_s {a})" if src == "f32" else a
        return f"(i32x4.shr_s (i32x4.shl {v} (i32.const 24)) (i32.const 24))"
    if dst == "bool":
        return f"(v128.not ({'f32x4' if src == 'f32' else 'i32x4'}.eq {a} {ZERO}))"
    raise NotImplementedError(f"vector cast {src} -> {dst}")
