"""The loop IR: a program is buffers plus a list of kernels run in order.

Strategy
--------
Everything the later stages need is data in frozen dataclasses:

* ``Buffer``   a named region of linear memory with a dtype and an element count.
* ``Expr``     a scalar expression tree (``Load``, ``Const``, ``Index``, ``Op``) evaluated
               once per point of a kernel's iteration space.
* Kernels      ``Pointwise`` (a loop nest that stores one expression per point),
               ``Reduce`` (a loop nest with inner reduction loops), ``Scan`` (an inclusive
               prefix reduction along one dim, stored at every step), ``Gemm`` (a call
               into a hand-written WAT microkernel, looped over a batch) and
               ``MatrixCall`` (a hand-written linear-algebra routine on each matrix of a batch).
* ``Program``  the kernels in execution order, the graph inputs/outputs and constants.

Sizes and indices are sympy expressions over loop variables ``i0, i1, ...`` (iteration
space) and ``r0, r1, ...`` (reduction space). Static sizes are sympy Integers, so symbolic
sizes slot in later without changing the data structures.

``verify()`` states what a valid program is; ``interp.py`` gives it meaning.
"""

from __future__ import annotations

from ..errors import IRError  # noqa: F401  (raised by every stage that checks IR)
from ..target import FLOAT_STORAGE, FLOATS, ITEMSIZE, NUMPY_DTYPE  # noqa: F401
from ..target import IR_DTYPES as DTYPES  # noqa: F401  (the IR's dtypes, re-exported)
from .expr import (  # noqa: F401
    BINARY_OPS,
    COMPARE_OPS,
    REDUCE_OPS,
    SCAN_OPS,
    UNARY_OPS,
    Const,
    Expr,
    Index,
    Load,
    Op,
    loads,
    map_expr,
    trap_messages,
    walk,
)
from .kernels import (  # noqa: F401
    KERNEL_KINDS,
    QGEMM_THREADS,
    Buffer,
    Gemm,
    Kernel,
    Operand,
    PackB,
    Pointwise,
    QGemm,
    QRequant,
    Reduce,
    Scan,
    packed_size,
    qgemm_q_work_offset,
    qgemm_work_bytes,
    qgemm_workspace,
    qpacked_size,
)
from .matrix import MATRIX_ROUTINES, MatrixCall, matrix_call_floats  # noqa: F401
from .program import InputSpec, OutputSpec, Program, ResultLayout, SizeSpec  # noqa: F401
