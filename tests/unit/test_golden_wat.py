"""Golden WAT: the emitter's output for small graphs, byte for byte.

A change to lowering, scheduling, memory planning or emission that alters generated code
shows up here as a diff to review. Regenerate with ``pytest tests/unit/test_golden_wat.py
--regen-golden`` and read the diff before committing it. Hand-written library routines
(csrc/wat) are replaced by a marker so that tuning them does not churn these files.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from torch_wasm_backend.config import Options
from torch_wasm_backend.emit.module import emit_module, library_source
from torch_wasm_backend.memory import plan_memory
from torch_wasm_backend.schedule import schedule

from .helpers import lower_fn

GOLDEN = Path(__file__).parents[1] / "golden"

GRAPHS = {
    "axpb_17": (lambda x: x * 2 + 1, [(17,)]),
    "broadcast_where_3x5": (lambda x, y: torch.where(x > y, x - y, y * 0.5), [(3, 5), (5,)]),
    "sum_rows_6x9": (lambda x: x.sum(-1), [(6, 9)]),
    "amax_cols_8x12": (lambda x: x.amax(0), [(8, 12)]),
    "sum_cols_5x22": (lambda x: x.sum(0), [(5, 22)]),  # 16 outputs per pass, then 4, then 1
    "sum_long_2x4103": (lambda x: x.sum(-1), [(2, 4103)]),  # four blocks, a 4-lane step, scalar tail
    "argmax_4x5": (lambda x: x.argmax(-1), [(4, 5)]),
    "cumsum_cols_5x21": (lambda x: x.cumsum(0), [(5, 21)]),  # f64x2 lanes: 16 columns per pass, 4, then 1
    "cumsum_rows_6x9": (lambda x: x.cumsum(-1), [(6, 9)]),  # scalar, 4 lines a row apart at a time, then 1
    "transpose_add_4x6": (lambda x: x.t() + 1, [(4, 6)]),
    # W is a runtime input here: W^T is packed straight from W ($f32_gemm_pack_bt), no copy
    "linear_3x5x6": (lambda x, w, b: F.linear(x, w, b).relu(), [(3, 5), (6, 5), (6,)]),
    "linear_fma_3x5x6": (lambda x, w, b: F.linear(x, w, b), [(3, 5), (6, 5), (6,)], {"relaxed_simd": True}),
    "mm_small_5x7x6": (lambda a, b: a @ b, [(5, 7), (7, 6)]),  # too few rows to pack B: $f32_gemm
    "bmm_packed_2x32x36x5": (lambda a, b: a @ b, [(2, 32, 36), (2, 36, 5)]),  # B packed per batch entry
    # MatrixCalls: LU, then the solve with its pivots, per batch entry; the info check traps
    "solve_2x3x3": (lambda a, b: torch.linalg.solve(a, b), [(2, 3, 3), (2, 3, 2)]),
}


def emitted(name: str) -> str:
    fn, shapes, *opts = GRAPHS[name]
    inputs = [torch.zeros(s) for s in shapes]
    sched = schedule(lower_fn(fn, *inputs), Options(**(opts[0] if opts else {})))
    wat = emit_module(sched, plan_memory(sched)).text
    for lib, relaxed in (("math_f32x4.wat", False), ("f32_gemm.wat", False), ("f32_gemm_packed.wat", True),
                         ("f32_gemm_packed.wat", False), ("math_f32x4_f64.wat", False), ("linalg_f32.wat", False)):
        wat = wat.replace(library_source(lib, relaxed), f";; library: {lib}{' (relaxed)' if relaxed else ''}")
    return wat


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_golden(name, request):
    path = GOLDEN / f"{name}.wat"
    text = emitted(name)
    if request.config.getoption("--regen-golden"):
        path.write_text(text)
        pytest.skip("regenerated")
    assert path.exists(), f"missing {path}: run pytest {__file__} --regen-golden"
    assert text == path.read_text(), f"generated WAT for {name} changed; review and regenerate"


def test_vectorised_kernel_uses_v128():
    text = emitted("axpb_17")
    assert "v128.load" in text and "f32x4.mul" in text and "v128.store" in text
    assert "(f32.store" in text  # scalar tail: 17 = 4*4 + 1


def test_same_graph_same_text_across_processes():
    code = ("import sys; sys.path.insert(0, %r); from tests.unit.test_golden_wat import emitted; "
            "sys.stdout.write(emitted('broadcast_where_3x5'))") % str(Path(__file__).parents[2])
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert len(outs) == 1 and outs.pop() == emitted("broadcast_where_3x5")
