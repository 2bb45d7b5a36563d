"""What a valid IR program is: ``verify(program)`` raises ``IRError`` otherwise."""

from __future__ import annotations

import sympy

from .errors import IRError
from .indexing import index_vars, reduction_vars
from .ir import (BINARY_OPS, COMPARE_OPS, DTYPES, NUMPY_DTYPE, REDUCE_OPS, SCAN_OPS, UNARY_OPS, Gemm, Index, Load,
                 MATRIX_ROUTINES, MatrixCall, Op, PackB, Pointwise, Program, QGemm, Reduce, Scan, loads, packed_size,
                 qgemm_q_work_offset, qgemm_workspace, qpacked_size, walk)

def _check_expr(expr, bufs: dict, allowed_syms: set, where: str) -> None:
    for node in walk(expr):
        if node.dtype not in DTYPES:
            raise IRError(f"{where}: bad dtype {node.dtype!r} in {node}")
        if isinstance(node, Load):
            if node.buffer not in bufs:
                raise IRError(f"{where}: load from unknown buffer {node.buffer}")
            if bufs[node.buffer].dtype != node.dtype:
                raise IRError(f"{where}: load of {node.buffer} as {node.dtype}, buffer is "
                              f"{bufs[node.buffer].dtype}")
            for sym, e, _ in node.indirect:
                if e.dtype != "i32":
                    raise IRError(f"{where}: indirect index {sym} must be i32")
            _check_index(node.index, allowed_syms | {s for s, _, _ in node.indirect}, where)
        elif isinstance(node, Index):
            _check_index(node.expr, allowed_syms, where)
        elif isinstance(node, Op):
            arity = {**{n: 1 for n in UNARY_OPS}, **{n: 2 for n in BINARY_OPS},
                     "where": 3, "cast": 1}
            if node.name not in arity:
                raise IRError(f"{where}: unknown op {node.name}")
            if len(node.args) != arity[node.name]:
                raise IRError(f"{where}: {node.name} takes {arity[node.name]} args")
            if node.name in COMPARE_OPS and node.dtype != "bool":
                raise IRError(f"{where}: comparison {node.name} must give bool")
            if node.name == "where" and node.args[0].dtype != "bool":
                raise IRError(f"{where}: where() condition must be bool")
            if node.dtype == "i8" and node.name != "cast":
                raise IRError(f"{where}: int8 is a storage dtype, {node.name} of int8 (cast first): {node}")
            if node.name not in ("cast", "where") and node.name not in COMPARE_OPS:
                if any(a.dtype != node.dtype for a in node.args):
                    raise IRError(f"{where}: operands of {node.name} must share its dtype: {node}")


def _check_index(expr, allowed_syms: set, where: str) -> None:
    extra = {s for s in sympy.sympify(expr).free_symbols} - allowed_syms
    if extra:
        raise IRError(f"{where}: index {expr} uses unbound symbols {sorted(map(str, extra))}")


def _check_scan(k: Scan, bufs: dict, written: set, size_syms: set) -> None:
    if k.out not in bufs:
        raise IRError(f"{k.name}: unknown output buffer {k.out}")
    if bufs[k.out].kind in ("input", "weight", "const"):
        raise IRError(f"{k.name}: writes read-only buffer {k.out}")
    if k.op not in SCAN_OPS:
        raise IRError(f"{k.name}: unknown scan {k.op}")
    want = "i64" if k.op in ("argmax", "argmin") else k.body.dtype
    if bufs[k.out].dtype != want:
        raise IRError(f"{k.name}: scan {k.op} of {k.body.dtype} stores {want}, buffer {k.out} is {bufs[k.out].dtype}")
    if k.body.dtype == "bool":
        raise IRError(f"{k.name}: scan of bool (cast to i32 first)")
    if k.op == "logsumexp" and k.body.dtype != "f32":
        raise IRError(f"{k.name}: logsumexp scan of {k.body.dtype} (f32 only)")
    syms = set(index_vars(len(k.ranges))) | set(reduction_vars(1)) | size_syms
    _check_expr(k.body, bufs, syms, k.name)
    for ld in loads(k.body):
        if ld.buffer not in written:
            raise IRError(f"{k.name}: reads {ld.buffer} before anything writes it")
    _check_index(k.out_index, syms, k.name)
    _check_index(k.length, size_syms, k.name)


def _check_loop(k, bufs: dict, written: set, size_syms: set) -> None:
    """A Pointwise or Reduce kernel."""
    if k.out not in bufs:
        raise IRError(f"{k.name}: unknown output buffer {k.out}")
    if bufs[k.out].kind in ("input", "weight", "const"):
        raise IRError(f"{k.name}: writes read-only buffer {k.out}")
    syms = set(index_vars(len(k.ranges))) | size_syms
    if isinstance(k, Reduce):
        if k.op not in REDUCE_OPS:
            raise IRError(f"{k.name}: unknown reduction {k.op}")
        syms |= set(reduction_vars(len(k.red_ranges)))
    _check_expr(k.body, bufs, syms, k.name)
    for ld in loads(k.body):
        if ld.buffer not in written:
            raise IRError(f"{k.name}: reads {ld.buffer} before anything writes it")
    _check_index(k.out_index, set(index_vars(len(k.ranges))) | size_syms, k.name)


def _check_gemm(k: Gemm, bufs: dict, written: set, size_syms: set) -> None:
    for opnd in (k.a, k.b, k.c):
        if opnd.buffer not in bufs or bufs[opnd.buffer].dtype != "f32":
            raise IRError(f"{k.name}: gemm operand {opnd.buffer} must be an f32 buffer")
    for opnd in (k.a, k.b):
        if opnd.buffer not in written:
            raise IRError(f"{k.name}: reads {opnd.buffer} before anything writes it")
    if k.c.col_stride != 1 or (k.b.col_stride != 1 and k.n != 1 and k.b.row_stride != 1 and k.k != 1):
        raise IRError(f"{k.name}: C needs unit column stride, B unit column or row stride")
    if k.bias is not None and k.bias not in written:
        raise IRError(f"{k.name}: bias {k.bias} not written")
    if k.packed is not None and k.packed not in written:
        raise IRError(f"{k.name}: packed B {k.packed} not written")


def _check_pack(k: PackB, bufs: dict, written: set, size_syms: set) -> None:
    if k.src.buffer not in written:
        raise IRError(f"{k.name}: reads {k.src.buffer} before anything writes it")
    if k.transposed and k.src.row_stride != 1 and k.k != 1:
        raise IRError(f"{k.name}: B needs unit column or row stride")
    if bufs.get(k.out) is None or int(bufs[k.out].numel) < packed_size(k.k, k.n) * int(k.batch):
        raise IRError(f"{k.name}: packed buffer {k.out} too small")


def _check_qgemm(k: QGemm, bufs: dict, written: set, size_syms: set) -> None:
    rq = k.requant
    operands = [(k.a, "i8"), (k.packed, "i8"), (k.c, "i32" if rq is None else "i8")]
    if rq is not None:
        operands += [(rq.rq, "f32"), (rq.corr, "i32"), (rq.scale, "f32"), (rq.bias, "f32")]
        operands += [(rq.zw, "i32"), (rq.xsum, "i32")] if rq.zw else []
    for name, dtype in operands:
        if name not in bufs or bufs[name].dtype != dtype:
            raise IRError(f"{k.name}: qgemm operand {name} must be an {dtype} buffer")
    for name in k.reads():
        if name not in written:
            raise IRError(f"{k.name}: reads {name} before anything writes it")
    if not (k.k.is_Integer and k.n.is_Integer and k.lda.is_Integer and k.ldc.is_Integer):
        raise IRError(f"{k.name}: qgemm needs static k, n and strides")
    np_ = -(-int(k.n) // 4) * 4
    if int(bufs[k.packed].numel) < qpacked_size(k.k, k.n) or int(k.ldc) < (np_ if rq is None else int(k.n)) or \
            int(k.lda) < int(k.k):
        raise IRError(f"{k.name}: packed B too small, or C rows shorter than n rounded up to 4, or lda < k")
    if rq is not None:
        np4 = -(-int(k.n) // 4) * 4
        cols = (rq.corr, rq.scale, rq.bias) + ((rq.zw,) if rq.zw else ())
        if rq.zw and sympy.simplify(bufs[rq.xsum].numel - k.m) < 0:
            raise IRError(f"{k.name}: xsum needs m values")
        if int(bufs[rq.rq].numel) < 20 or any(int(bufs[b].numel) < np4 for b in cols) or \
                sympy.simplify(bufs[k.c].numel - (qgemm_q_work_offset(k.m, k.ldc) + 4 * qgemm_workspace(k.k))) < 0 \
                or int(k.ldc) < int(k.n) or sympy.simplify(bufs[k.a].numel - ((k.m - 1) * k.lda + k.k + 15)) < 0:
            raise IRError(f"{k.name}: requantising qgemm needs 20 floats in rq, n rounded up to 4 values in corr, "
                          f"scale and bias, C rows of n bytes and the workspace at qgemm_q_work_offset, and A's slack")
        return
    if sympy.simplify(bufs[k.a].numel - ((k.m - 1) * k.lda + k.k + 15)) < 0 or \
            sympy.simplify(bufs[k.c].numel - (k.m * k.ldc + qgemm_workspace(k.k))) < 0:
        raise IRError(f"{k.name}: A needs 15 bytes of slack after its last row, C room for m rows and the "
                      f"kernel's workspace (qgemm_workspace(k) int32 after them)")


def _check_matrix_call(k: MatrixCall, bufs: dict, written: set, size_syms: set) -> None:
    if k.routine not in MATRIX_ROUTINES:
        raise IRError(f"{k.name}: unknown matrix routine {k.routine}")
    operands, params = MATRIX_ROUTINES[k.routine]
    if len(k.args) != len(operands) or len(k.sizes) != len(params):
        raise IRError(f"{k.name}: {k.routine} takes operands {operands} and sizes {params}")
    for opnd in k.args:
        if opnd.buffer not in bufs or bufs[opnd.buffer].dtype != "f32":
            raise IRError(f"{k.name}: matrix operand {opnd.buffer} must be an f32 buffer")
        if opnd.buffer not in written:
            raise IRError(f"{k.name}: reads {opnd.buffer} before anything writes it")
        for e in (opnd.offset, opnd.batch_stride, opnd.row_stride, opnd.col_stride):
            if not sympy.sympify(e).is_Integer:
                raise IRError(f"{k.name}: matrix operand {opnd} needs static strides")
    out = bufs.get(k.out)
    if out is None or out.dtype != "f32" or out.kind in ("input", "weight", "const"):
        raise IRError(f"{k.name}: output {k.out} must be a temporary f32 buffer")
    if not sympy.sympify(out.numel).is_Integer or int(out.numel) < k.out_floats():
        raise IRError(f"{k.name}: output {k.out} holds {out.numel} floats, {k.routine} needs {k.out_floats()}")


_CHECKS = {Pointwise: _check_loop, Reduce: _check_loop, Scan: _check_scan, Gemm: _check_gemm, PackB: _check_pack,
           QGemm: _check_qgemm, MatrixCall: _check_matrix_call}


def verify(prog: Program) -> None:
    """Raise IRError unless ``prog`` is well formed."""
    bufs = {}
    for b in prog.buffers:
        if b.name in bufs:
            raise IRError(f"duplicate buffer {b.name}")
        if b.dtype not in DTYPES:
            raise IRError(f"buffer {b.name}: bad dtype {b.dtype}")
        bufs[b.name] = b
    written = {s.buffer for _, s in prog.tensor_inputs} | set(prog.constants)
    size_syms = set(prog.symbols)
    names = set()
    for k in prog.kernels:
        if k.name in names:
            raise IRError(f"duplicate kernel name {k.name}")
        names.add(k.name)
        check = _CHECKS.get(type(k))
        if check is None:
            raise IRError(f"unknown kernel type {type(k).__name__}")
        check(k, bufs, written, size_syms)
        written.add(k.writes())
    for o in prog.outputs:
        if o.buffer not in written:
            raise IRError(f"output reads {o.buffer}, which nothing writes")
    for name, arr in prog.constants.items():
        if name not in bufs or bufs[name].kind != "const":
            raise IRError(f"constant {name} has no const buffer")
        if arr.dtype != NUMPY_DTYPE[bufs[name].dtype]:
            raise IRError(f"constant {name} has numpy dtype {arr.dtype}")
