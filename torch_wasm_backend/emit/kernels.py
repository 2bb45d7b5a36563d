"""The kernel emitter: one WAT function per scheduled kernel.

Loops are structured and always the same shape. With a static extent: ``(loop ...
(br_if ...))`` counting up (an empty loop is not emitted at all). With a symbolic extent the
loop is guarded at the top: ``(block (loop (br_if exit) ... (br loop)))``. A vectorised
loop runs in steps of 4 lanes up to the largest multiple of 4, then a scalar tail loop
finishes the remainder. A static buffer address is a constant from the memory plan, folded
into the ``offset=`` immediate of loads and stores; in a dynamic-shape module, sizes and the
addresses of moving buffers are read from the parameter block once at function entry.
"""

from __future__ import annotations

import sympy

from .. import ir
from ..indexing import affine_coeffs, index_vars, reduction_vars
from ..schedule import KernelPlan
from . import ops, text

INIT = {"sum": 0, "prod": 1}


class FunctionWriter:
    def __init__(self, name: str, offsets: dict, params=None):
        self.name = name
        self.offsets = offsets  # buffer -> static byte offset (persistent buffers, static programs)
        self.params = params  # memory.ParamBlock of a dynamic-shape program, else None
        self.sizes = {s: f"(local.get $sz_{s})" for s in params.symbols} if params else {}
        self.locals: dict[str, str] = {}
        self.body: list[str] = []
        self._tmp = 0
        self._label = 0

    # -- locals and text
    def local(self, name: str, typ: str) -> str:
        self.locals.setdefault(name, typ)
        return name

    def tmp(self, typ: str) -> str:
        self._tmp += 1
        return self.local(f"$t{self._tmp}", typ)

    def label(self, stem: str) -> str:
        self._label += 1
        return f"${stem}{self._label}"

    def text(self) -> str:
        body = "".join(f"\n  {line}" for line in self.body)
        prologue = ""
        if self.params:  # read sizes and moving offsets the body uses, once
            for sym in self.params.symbols:
                if f"$sz_{sym})" in body:
                    self.local(f"$sz_{sym}", "i32")
                    prologue += f"\n  (local.set $sz_{sym} (i32.load offset={self.params.symbol_addr(sym)} (i32.const 0)))"
            for buf in self.params.buffers:
                if f"$b_{buf})" in body:
                    self.local(f"$b_{buf}", "i32")
                    prologue += f"\n  (local.set $b_{buf} (i32.load offset={self.params.buffer_addr(buf)} (i32.const 0)))"
        decl = "".join(f"\n  (local {n} {t})" for n, t in self.locals.items())
        return f"(func {self.name}{decl}{prologue}{body})"

    # -- sizes and addresses
    def bound(self, x):
        """A loop bound: an int when static, else WAT computing it."""
        x = sympy.sympify(x)
        return int(x) if x.is_Integer else text.index(x, self.sizes)

    def address(self, buf: str, idx, itemsize: int, env: dict) -> tuple[str, int]:
        """(dynamic part, static offset) of element ``idx`` of ``buf``."""
        if self.params and buf in self.params.buffers:
            dyn, static = text.address(0, idx, itemsize, env)
            base = f"(local.get $b_{buf})"
            return (base if dyn == "(i32.const 0)" else f"(i32.add {base} {dyn})"), static
        return text.address(self.offsets[buf], idx, itemsize, env)

    # -- loops
    def loop(self, var: str, start, stop, step: int, body: list[str]) -> list[str]:
        """``for var in range(start, stop, step)``. Static bounds: the caller guarantees
        start < stop. A bound may be WAT text (symbolic sizes): then the loop is guarded."""
        lbl = self.label("L")
        if isinstance(start, int) and isinstance(stop, int):
            out = [f"(local.set {var} (i32.const {start}))", f"(loop {lbl}"]
            out += ["  " + line for line in body]
            out.append(f"  (br_if {lbl} (i32.lt_u (local.tee {var} (i32.add (local.get {var}) (i32.const {step}))) "
                       f"(i32.const {stop}))))")
            return out
        wat = (lambda b: f"(i32.const {b})" if isinstance(b, int) else b)
        done = self.label("B")
        last = f"(i32.gt_s (i32.add (local.get {var}) (i32.const {step})) {wat(stop)})" if step > 1 else \
            f"(i32.ge_s (local.get {var}) {wat(stop)})"
        out = [f"(local.set {var} {wat(start)})", f"(block {done} (loop {lbl}", f"  (br_if {done} {last})"]
        out += ["  " + line for line in body]
        out.append(f"  (local.set {var} (i32.add (local.get {var}) (i32.const {step})))")
        out.append(f"  (br {lbl})))")
        return out

    def nest(self, vars_ranges: list, inner: list[str]) -> list[str]:
        lines = inner
        for var, extent in reversed(vars_ranges):
            lines = self.loop(var, 0, self.bound(extent), 1, lines)
        return lines

    def vector_split(self, extent):
        """(end of the 4-lane loop, whether a scalar tail may run) for ``extent``."""
        b = self.bound(extent)
        if isinstance(b, int):
            return b // 4 * 4, b % 4 != 0
        return f"(i32.and {b} (i32.const -4))", True

    # -- expressions
    def _load_address(self, node: ir.Load, env: dict, pre: list[str]) -> tuple[str, int]:
        env = dict(env)
        for sym, e, bound in node.indirect:
            t = self.tmp("i32")
            pre.append(f"(local.set {t} {self.scalar(e, env)})")
            pre.append(f"(if (i32.ge_u (local.get {t}) (i32.const {int(bound)})) (then unreachable))")
            env[sym] = f"(local.get {t})"
        return self.address(node.buffer, node.index, text.ITEMSIZE[node.dtype], env)

    def _wrap(self, pre: list[str], typ: str, value: str) -> str:
        if not pre:
            return value
        return f"(block (result {typ}) {' '.join(pre)} {value})"

    def scalar(self, node, env: dict) -> str:
        if isinstance(node, ir.Load):
            pre: list[str] = []
            addr, off = self._load_address(node, env, pre)
            return self._wrap(pre, text.WASM_TYPE[node.dtype], f"({text.LOAD[node.dtype]} offset={off} {addr})")
        if isinstance(node, ir.Const):
            return text.const(node.value, node.dtype)
        if isinstance(node, ir.Index):
            idx = text.index(node.expr, env)
            return f"(i64.extend_i32_s {idx})" if node.dtype == "i64" else idx
        args = [self.scalar(a, env) for a in node.args]
        return ops.scalar(node.name, _src_dtype(node), node.dtype, args, self.tmp)

    def vector(self, node, env: dict, var) -> str:
        """4 lanes along ``var`` (lane k sees ``var + k``)."""
        if isinstance(node, ir.Load):
            syms = [var] + [s for s, _, _ in node.indirect]
            coeff = affine_coeffs(node.index, syms)[1][var]
            if coeff == 0:
                s = self.scalar(node, env)
                if node.dtype == "bool":
                    return f"(i32x4.splat (i32.sub (i32.const 0) {s}))"
                return f"({node.dtype}x4.splat {s})"
            pre: list[str] = []
            addr, off = self._load_address(node, env, pre)
            if node.dtype == "bool":
                v = (f"(i32x4.ne (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u "
                     f"(v128.load32_zero offset={off} align=1 {addr}))) {ops.ZERO})")
            else:
                v = f"(v128.load offset={off} align=4 {addr})"
            return self._wrap(pre, "v128", v)
        if isinstance(node, ir.Const):
            return text.vconst(node.value, node.dtype)
        if isinstance(node, ir.Index):
            c = int(affine_coeffs(node.expr, [var])[1][var])
            return (f"(i32x4.add (i32x4.splat {text.index(node.expr, env)}) "
                    f"(v128.const i32x4 0 {c} {2 * c} {3 * c}))")
        args = [self.vector(a, env, var) for a in node.args]
        return ops.vector(node.name, _src_dtype(node), node.dtype, args, self.tmp)

    # -- stores
    def store(self, buf: str, idx, dtype: str, value: str, env: dict) -> str:
        addr, off = self.address(buf, idx, text.ITEMSIZE[dtype], env)
        return f"({text.STORE[dtype]} offset={off} {addr} {value})"

    def vstore(self, buf: str, idx, value: str, env: dict) -> str:
        addr, off = self.address(buf, idx, 4, env)
        return f"(v128.store offset={off} align=4 {addr} {value})"


def _src_dtype(node: ir.Op) -> str:
    if node.name == "where":
        return node.dtype
    if node.name == "cast" or node.name in ir.COMPARE_OPS:
        return node.args[0].dtype
    return node.dtype


def _env(fw: FunctionWriter, variables) -> dict:
    return {**fw.sizes, **{v: f"(local.get {fw.local('$' + str(v), 'i32')})" for v in variables}}


# --------------------------------------------------------------------------- pointwise
def pointwise(fw: FunctionWriter, k: ir.Pointwise, mode: str, out_dtype: str) -> None:
    vs = index_vars(len(k.ranges))
    env = _env(fw, vs)
    loops = [(f"${v}", r) for v, r in zip(vs, k.ranges)]
    if mode != "vector":
        fw.body += fw.nest(loops, [fw.store(k.out, k.out_index, out_dtype, fw.scalar(k.body, env), env)])
        return
    v = vs[-1]
    vec_end, tail = fw.vector_split(k.ranges[-1])
    inner = fw.loop(f"${v}", 0, vec_end, 4, [fw.vstore(k.out, k.out_index, fw.vector(k.body, env, v), env)])
    if tail:
        inner += fw.loop(f"${v}", vec_end, fw.bound(k.ranges[-1]), 1,
                         [fw.store(k.out, k.out_index, out_dtype, fw.scalar(k.body, env), env)])
    fw.body += fw.nest(loops[:-1], inner)


# --------------------------------------------------------------------------- reductions
def _init(op: str, dtype: str):
    if op in INIT:
        return INIT[op]
    big = {"f32": float("inf"), "i32": 2**31 - 1, "i64": 2**63 - 1}[dtype]
    return -big - (0 if dtype == "f32" else 1) if op in ("max", "argmax") else big


def _combine_scalar(op: str, dtype: str, acc: str, x: str, tmp) -> str:
    name = {"sum": "add", "prod": "mul", "max": "max", "min": "min"}[op]
    return ops.scalar(name, dtype, dtype, [acc, x], tmp)


def _combine_vector(op: str, dtype: str, acc: str, x: str, tmp) -> str:
    name = {"sum": "add", "prod": "mul", "max": "max", "min": "min"}[op]
    return ops.vector(name, dtype, dtype, [acc, x], tmp)


def reduce(fw: FunctionWriter, k: ir.Reduce, mode: str, out_dtype: str) -> None:
    vs, rs = index_vars(len(k.ranges)), reduction_vars(len(k.red_ranges))
    env = _env(fw, vs + rs)
    dt = k.body.dtype
    wt = text.WASM_TYPE[dt]
    out_loops = [(f"${v}", r) for v, r in zip(vs, k.ranges)]
    red_loops = [(f"${r}", e) for r, e in zip(rs, k.red_ranges)]
    empty_red = any(e == 0 for e in k.red_ranges)

    if k.op in ("argmax", "argmin"):
        acc = fw.local("$bidx", "i32")
        best, pos, x = fw.local("$best", wt), fw.local("$pos", "i32"), fw.local("$x", wt)
        pick = _arg_pick(k.op, dt, x, best)
        update = [f"(local.set {x} {fw.scalar(k.body, env)})",
                  f"(if {pick} (then (local.set {best} (local.get {x})) (local.set {acc} (local.get {pos}))))",
                  f"(local.set {pos} (i32.add (local.get {pos}) (i32.const 1)))"]
        inner = [f"(local.set {best} {text.const(_init(k.op, dt), dt)})", f"(local.set {acc} (i32.const 0))",
                 f"(local.set {pos} (i32.const 0))"] + fw.nest(red_loops, update)
        inner.append(fw.store(k.out, k.out_index, "i64", f"(i64.extend_i32_u (local.get {acc}))", env))
        fw.body += fw.nest(out_loops, inner)
        return

    acc = fw.local("$acc", wt)
    init = text.const(_init(k.op, dt), dt)

    def scalar_point() -> list[str]:
        lines = [f"(local.set {acc} {init})"]
        if not empty_red:
            step = f"(local.set {acc} {_combine_scalar(k.op, dt, f'(local.get {acc})', fw.scalar(k.body, env), fw.tmp)})"
            lines += fw.nest(red_loops, [step])
        lines.append(fw.store(k.out, k.out_index, out_dtype, f"(local.get {acc})", env))
        return lines

    if mode == "vector" and not empty_red:
        v = vs[-1]
        vacc = fw.local("$vacc", "v128")
        vec_end, tail = fw.vector_split(k.ranges[-1])
        step = f"(local.set {vacc} {_combine_vector(k.op, dt, f'(local.get {vacc})', fw.vector(k.body, env, v), fw.tmp)})"
        body = [f"(local.set {vacc} {text.vconst(_init(k.op, dt), dt)})"] + fw.nest(red_loops, [step])
        body.append(fw.vstore(k.out, k.out_index, f"(local.get {vacc})", env))
        inner = fw.loop(f"${v}", 0, vec_end, 4, body)
        if tail:
            inner += fw.loop(f"${v}", vec_end, fw.bound(k.ranges[-1]), 1, scalar_point())
        fw.body += fw.nest(out_loops[:-1], inner)
        return

    if mode == "vector_reduce" and not empty_red:
        r = rs[-1]
        vacc = fw.local("$vacc", "v128")
        vec_end, tail = fw.vector_split(k.red_ranges[-1])
        vstep = f"(local.set {vacc} {_combine_vector(k.op, dt, f'(local.get {vacc})', fw.vector(k.body, env, r), fw.tmp)})"
        sstep = f"(local.set {acc} {_combine_scalar(k.op, dt, f'(local.get {acc})', fw.scalar(k.body, env), fw.tmp)})"
        last = fw.loop(f"${r}", 0, vec_end, 4, [vstep])
        if tail:
            last += fw.loop(f"${r}", vec_end, fw.bound(k.red_ranges[-1]), 1, [sstep])
        lanes = [f"({dt}x4.extract_lane {i} (local.get {vacc}))" for i in range(4)]
        pair = [_combine_scalar(k.op, dt, lanes[0], lanes[1], fw.tmp), _combine_scalar(k.op, dt, lanes[2], lanes[3], fw.tmp)]
        total = _combine_scalar(k.op, dt, _combine_scalar(k.op, dt, pair[0], pair[1], fw.tmp), f"(local.get {acc})", fw.tmp)
        point = [f"(local.set {acc} {init})", f"(local.set {vacc} {text.vconst(_init(k.op, dt), dt)})"]
        point += fw.nest(red_loops[:-1], last)
        point.append(fw.store(k.out, k.out_index, out_dtype, total, env))
        fw.body += fw.nest(out_loops, point)
        return

    fw.body += fw.nest(out_loops, scalar_point())


def _arg_pick(op: str, dt: str, x: str, best: str) -> str:
    gx, gb = f"(local.get {x})", f"(local.get {best})"
    if dt == "f32":
        better = f"(f32.{'gt' if op == 'argmax' else 'lt'} {gx} {gb})"
        first_nan = f"(i32.and (f32.ne {gx} {gx}) (f32.eq {gb} {gb}))"
        return f"(i32.or {better} {first_nan})"
    return f"({text.WASM_TYPE[dt]}.{'gt_s' if op == 'argmax' else 'lt_s'} {gx} {gb})"


# --------------------------------------------------------------------------- gemm
def gemm(fw: FunctionWriter, k: ir.Gemm) -> None:
    batch = fw.bound(k.batch)
    b = fw.local("$b", "i32")
    env = {**fw.sizes, sympy.Symbol("gemm_b"): f"(local.get {b})"}

    def addr(op: ir.Operand) -> str:
        idx = op.offset + (0 if batch == 1 else op.batch_stride * sympy.Symbol("gemm_b"))
        dyn, static = fw.address(op.buffer, idx, 4, env)
        return f"(i32.const {static})" if dyn == "(i32.const 0)" else \
            (dyn if static == 0 else f"(i32.add {dyn} (i32.const {static}))")

    def val(x) -> str:
        b_ = fw.bound(x)
        return f"(i32.const {b_})" if isinstance(b_, int) else b_

    bias = "(i32.const 0)"
    if k.bias:
        dyn, static = fw.address(k.bias, 0, 4, env)
        bias = f"(i32.const {static})" if dyn == "(i32.const 0)" else dyn
    bias_row, bias_col = (bias, "(i32.const 0)") if k.bias_axis == 0 else ("(i32.const 0)", bias)
    flags = 2 if k.relu else 0
    if k.packed:  # B was packed once by a PackB kernel in prepare
        packed, static = fw.address(k.packed, 0, 4, env)
        packed = f"(i32.const {static})" if packed == "(i32.const 0)" else packed
        call = (f"(call $f32_gemm_packed {addr(k.a)} {packed} {addr(k.c)} {val(k.m)} {val(k.n)} {val(k.k)} "
                f"{val(k.a.row_stride)} {val(k.c.row_stride)} {bias_row} {bias_col} (i32.const {flags}))")
    else:
        call = (f"(call $f32_gemm {addr(k.a)} {addr(k.b)} {addr(k.c)} {val(k.m)} {val(k.n)} {val(k.k)} "
                f"{val(k.a.row_stride)} {val(k.b.row_stride)} {val(k.c.row_stride)} {bias_row} {bias_col} "
                f"(i32.const {flags}))")
    fw.body += [call] if batch == 1 else fw.loop(b, 0, batch, 1, [call])


def pack_b(fw: FunctionWriter, k: ir.PackB) -> None:
    src, s_static = fw.address(k.src.buffer, k.src.offset, 4, fw.sizes)
    src = f"(i32.const {s_static})" if src == "(i32.const 0)" else f"(i32.add {src} (i32.const {s_static}))"
    dst, d_static = fw.address(k.out, 0, 4, fw.sizes)
    dst = f"(i32.const {d_static})" if dst == "(i32.const 0)" else dst
    fw.body.append(f"(call $f32_gemm_pack_b {src} (i32.const {int(k.src.row_stride)}) (i32.const {int(k.k)}) "
                   f"(i32.const {int(k.n)}) {dst})")


def emit_kernel(plan: KernelPlan, offsets: dict, buffers: dict, params=None) -> str | None:
    """The WAT function for one kernel, or None when its iteration space is empty."""
    k = plan.kernel
    fw = FunctionWriter(f"${k.name}", offsets, params)
    if isinstance(k, ir.PackB):
        pack_b(fw, k)
    elif isinstance(k, ir.Gemm):
        if k.batch * k.m * k.n == 0:
            return None
        gemm(fw, k)
    else:
        if any(sympy.sympify(r) == 0 for r in k.ranges):
            return None
        out_dtype = buffers[k.out].dtype
        (pointwise if isinstance(k, ir.Pointwise) else reduce)(fw, k, plan.mode, out_dtype)
    return fw.text()
