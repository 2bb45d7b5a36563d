"""Scheduling decisions: loop collapsing, vectorisation modes, the prepare split."""

import torch
import torch.nn.functional as F

from torch_wasm_backend.config import Options
from torch_wasm_backend.schedule import schedule

from .helpers import lower_fn


def _modes(sched):
    return [p.mode for p in sched.forward]


def test_contiguous_pointwise_collapses_to_one_vector_loop():
    sched = schedule(lower_fn(lambda x: x.relu() * 2, torch.randn(2, 3, 5, 7)), Options())
    (plan,) = sched.forward
    assert plan.mode == "vector" and len(plan.kernel.ranges) == 1 and plan.kernel.ranges[0] == 210


def test_transposed_read_stays_scalar_along_strided_axis():
    sched = schedule(lower_fn(lambda x: x.t() + 1, torch.randn(8, 8)), Options())
    assert _modes(sched) == ["scalar"]


def test_broadcast_row_vectorises():
    sched = schedule(lower_fn(lambda x, b: x + b, torch.randn(3, 8), torch.randn(8)), Options())
    assert _modes(sched) == ["vector"]


def test_reductions_pick_lane_axis():
    inner = schedule(lower_fn(lambda x: x.sum(-1), torch.randn(5, 64)), Options())
    outer = schedule(lower_fn(lambda x: x.sum(0), torch.randn(64, 5 * 4)), Options())
    assert _modes(inner) == ["vector_reduce"]
    assert _modes(outer) == ["vector"]


def test_simd_off_gives_scalar_only():
    sched = schedule(lower_fn(lambda x: x.relu() * 2, torch.randn(64)), Options(simd=False))
    assert _modes(sched) == ["scalar"]


def test_prepare_split_with_weight_inputs():
    from torch_wasm_backend.lower import lower_graph

    from .helpers import aten_graph

    x, w, b = torch.randn(3, 5), torch.randn(6, 5), torch.randn(6)
    gm = aten_graph(lambda x, w, b: F.linear(x, w, b), x, w, b)
    prog = lower_graph(gm, [x, w, b], weight_indices=frozenset({1, 2}))
    sched = schedule(prog, Options())
    # W^T packed straight from W for the GEMM microkernel: once per weight update
    assert [type(p.kernel).__name__ for p in sched.prepare] == ["PackB"]
    assert sched.prepare[0].kernel.transposed
    assert [type(p.kernel).__name__ for p in sched.forward] == ["Gemm"]
    assert sched.forward[0].kernel.packed == sched.prepare[0].kernel.out in sched.persistent
    unpacked = schedule(prog, Options(gemm_packing=False))  # W^T copied once instead
    assert [type(p.kernel).__name__ for p in unpacked.prepare] == ["Pointwise"]
    assert unpacked.prepare[0].kernel.out in unpacked.persistent
    assert unpacked.forward[0].kernel.packed is None


def test_reduction_dims_collapse_in_order():
    # a full sum walks one contiguous axis; argmax keeps its flat (row-major) position
    full = schedule(lower_fn(lambda x: x.sum(), torch.randn(6, 7, 8)), Options())
    (plan,) = full.forward
    assert plan.mode == "vector_reduce" and plan.kernel.red_ranges == (336,)
    inner = schedule(lower_fn(lambda x: x.argmax(), torch.randn(3, 1, 5)), Options())
    assert inner.forward[0].kernel.red_ranges == (15,)
    # dims 0 and 2 of (100, 5, 30) are not adjacent in memory: two reduction loops remain
    split = schedule(lower_fn(lambda x: x.sum((0, 2)), torch.randn(100, 5, 30)), Options())
    assert split.forward[0].kernel.red_ranges == (100, 30)
