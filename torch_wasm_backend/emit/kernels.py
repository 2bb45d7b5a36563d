"""The kernel emitter: one WAT function per scheduled kernel.

Loops are structured and always the same shape: ``(loop ... (br_if ...))`` counting up,
entered only when the extent is non-zero (extents are static today, so empty loops are
simply not emitted). A vectorised loop runs in steps of 4 lanes up to the largest multiple
of 4, then a scalar tail loop finishes the remainder. Every buffer address is a constant
from the memory plan, folded into the ``offset=`` immediate of loads and stores.
"""

from __future__ import annotations

import sympy

from .. import ir
from ..indexing import affine_coeffs, index_vars, reduction_vars
from ..schedule import KernelPlan
from . import ops, text

INIT = {"sum": 0, "prod": 1}


class FunctionWriter:
    def __init__(self, name: str, offsets: dict):
        self.name = name
        self.offsets = offsets
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
        decl = "".join(f"\n  (local {n} {t})" for n, t in self.locals.items())
        body = "".join(f"\n  {line}" for line in self.body)
        return f"(func {self.name}{decl}{body})"

    # -- loops
    def loop(self, var: str, start: int, stop: int, step: int, body: list[str]) -> list[str]:
        """``for var in range(start, stop, step)``; caller guarantees start < stop."""
        lbl = self.label("L")
        out = [f"(local.set {var} (i32.const {start}))", f"(loop {lbl}"]
        out += ["  " + line for line in body]
        out.append(f"  (br_if {lbl} (i32.lt_u (local.tee {var} (i32.add (local.get {var}) (i32.const {step}))) "
                   f"(i32.const {stop}))))")
        return out

    def nest(self, vars_ranges: list, inner: list[str]) -> list[str]:
        lines = inner
        for var, extent in reversed(vars_ranges):
            lines = self.loop(var, 0, int(extent), 1, lines)
        return lines

    # -- expressions
    def _load_address(self, node: ir.Load, env: dict, pre: list[str]) -> tuple[str, int]:
        env = dict(env)
        for sym, e, bound in node.indirect:
            t = self.tmp("i32")
            pre.append(f"(local.set {t} {self.scalar(e, env)})")
            pre.append(f"(if (i32.ge_u (local.get {t}) (i32.const {int(bound)})) (then unreachable))")
            env[sym] = f"(local.get {t})"
        return text.address(self.offsets[node.buffer], node.index, text.ITEMSIZE[node.dtype], env)

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
        addr, off = text.address(self.offsets[buf], idx, text.ITEMSIZE[dtype], env)
        return f"({text.STORE[dtype]} offset={off} {addr} {value})"

    def vstore(self, buf: str, idx, value: str, env: dict) -> str:
        addr, off = text.address(self.offsets[buf], idx, 4, env)
        return f"(v128.store offset={off} align=4 {addr} {value})"


def _src_dtype(node: ir.Op) -> str:
    if node.name == "where":
        return node.dtype
    if node.name == "cast" or node.name in ir.COMPARE_OPS:
        return node.args[0].dtype
    return node.dtype


def _env(fw: FunctionWriter, variables) -> dict:
    return {v: f"(local.get {fw.local('$' + str(v), 'i32')})" for v in variables}


# --------------------------------------------------------------------------- pointwise
def pointwise(fw: FunctionWriter, k: ir.Pointwise, mode: str, out_dtype: str) -> None:
    vs = index_vars(len(k.ranges))
    env = _env(fw, vs)
    loops = [(f"${v}", r) for v, r in zip(vs, k.ranges)]
    if mode != "vector":
        fw.body += fw.nest(loops, [fw.store(k.out, k.out_index, out_dtype, fw.scalar(k.body, env), env)])
        return
    v = vs[-1]
    extent = int(k.ranges[-1])
    vec_end = extent // 4 * 4
    inner = fw.loop(f"${v}", 0, vec_end, 4, [fw.vstore(k.out, k.out_index, fw.vector(k.body, env, v), env)])
    if vec_end < extent:
        inner += fw.loop(f"${v}", vec_end, extent, 1,
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
    empty_red = any(int(e) == 0 for e in k.red_ranges)

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
        extent = int(k.ranges[-1])
        vec_end = extent // 4 * 4
        step = f"(local.set {vacc} {_combine_vector(k.op, dt, f'(local.get {vacc})', fw.vector(k.body, env, v), fw.tmp)})"
        body = [f"(local.set {vacc} {text.vconst(_init(k.op, dt), dt)})"] + fw.nest(red_loops, [step])
        body.append(fw.vstore(k.out, k.out_index, f"(local.get {vacc})", env))
        inner = fw.loop(f"${v}", 0, vec_end, 4, body)
        if vec_end < extent:
            inner += fw.loop(f"${v}", vec_end, extent, 1, scalar_point())
        fw.body += fw.nest(out_loops[:-1], inner)
        return

    if mode == "vector_reduce" and not empty_red:
        r = rs[-1]
        vacc = fw.local("$vacc", "v128")
        extent = int(k.red_ranges[-1])
        vec_end = extent // 4 * 4
        vstep = f"(local.set {vacc} {_combine_vector(k.op, dt, f'(local.get {vacc})', fw.vector(k.body, env, r), fw.tmp)})"
        sstep = f"(local.set {acc} {_combine_scalar(k.op, dt, f'(local.get {acc})', fw.scalar(k.body, env), fw.tmp)})"
        last = fw.loop(f"${r}", 0, vec_end, 4, [vstep])
        if vec_end < extent:
            last += fw.loop(f"${r}", vec_end, extent, 1, [sstep])
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
    batch = int(k.batch)
    b = fw.local("$b", "i32")

    def addr(op: ir.Operand) -> str:
        base = fw.offsets[op.buffer] + 4 * int(op.offset)
        stride = 4 * int(op.batch_stride)
        if batch == 1 or stride == 0:
            return f"(i32.const {base})"
        return f"(i32.add (i32.const {base}) (i32.mul (local.get {b}) (i32.const {stride})))"

    bias = f"(i32.const {fw.offsets[k.bias]})" if k.bias else "(i32.const 0)"
    bias_row, bias_col = (bias, "(i32.const 0)") if k.bias_axis == 0 else ("(i32.const 0)", bias)
    flags = 2 if k.relu else 0
    call = (f"(call $f32_gemm {addr(k.a)} {addr(k.b)} {addr(k.c)} (i32.const {int(k.m)}) (i32.const {int(k.n)}) "
            f"(i32.const {int(k.k)}) (i32.const {int(k.a.row_stride)}) (i32.const {int(k.b.row_stride)}) "
            f"(i32.const {int(k.c.row_stride)}) {bias_row} {bias_col} (i32.const {flags}))")
    fw.body += [call] if batch == 1 else fw.loop(b, 0, batch, 1, [call])


def emit_kernel(plan: KernelPlan, offsets: dict, buffers: dict) -> str | None:
    """The WAT function for one kernel, or None when its iteration space is empty."""
    k = plan.kernel
    fw = FunctionWriter(f"${k.name}", offsets)
    if isinstance(k, ir.Gemm):
        if int(k.batch) * int(k.m) * int(k.n) == 0:
            return None
        gemm(fw, k)
    else:
        if any(sympy.sympify(r) == 0 for r in k.ranges):
            return None
        out_dtype = buffers[k.out].dtype
        (pointwise if isinstance(k, ir.Pointwise) else reduce)(fw, k, plan.mode, out_dtype)
    return fw.text()
