"""Emitting an ``ir.MatrixCall``: a loop over the batch calling one routine of
``csrc/wat/linalg_f32.wat`` per matrix.

Each call passes, per operand, the address of the batch entry's matrix and its row and
column strides (elements), then the routine's sizes, then the address of the entry's
results in ``out`` and the address of the f64 scratch after the batch's results (see
``ir.MatrixCall``). Operands and sizes are static, so every address is a constant plus
the batch index times a constant.
"""

from __future__ import annotations

from .. import ir
from .writer import FunctionWriter


def matrix_call(fw: FunctionWriter, k: ir.MatrixCall) -> None:
    b = fw.local("$b", "i32")

    def addr(buffer: str, offset, batch_stride) -> str:
        base = fw.offsets[buffer] + 4 * int(offset)
        step = 4 * int(batch_stride)
        if int(k.batch) == 1 or step == 0:
            return f"(i32.const {base})"
        return f"(i32.add (i32.const {base}) (i32.mul (local.get {b}) (i32.const {step})))"

    args = []
    for op in k.args:
        args += [
            addr(op.buffer, op.offset, op.batch_stride),
            f"(i32.const {int(op.row_stride)})",
            f"(i32.const {int(op.col_stride)})",
        ]
    args += [f"(i32.const {s})" for s in k.sizes]
    args += [addr(k.out, 0, k.stride), f"(i32.const {fw.offsets[k.out] + 4 * k.scratch_at})"]
    call = f"(call $linalg_{k.routine} {' '.join(args)})"
    fw.body += [call] if int(k.batch) == 1 else fw.loop(b, 0, int(k.batch), 1, [call])
