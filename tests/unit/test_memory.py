"""Memory plan invariants: alignment, no overlap between buffers that are live together,
and real reuse of the arena."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_wasm_backend.config import Options
from torch_wasm_backend.memory import MemoryPlanError, plan_memory
from torch_wasm_backend.schedule import schedule

from torch_wasm_backend.lower import lower_graph

from .helpers import aten_graph, lower_fn


def _plan(fn, *inputs):
    return plan_memory(schedule(lower_fn(fn, *inputs), Options()))


def _mlp(depth, width):
    layers = []
    for _ in range(depth):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers).eval()


def test_twenty_layer_mlp_reuses_the_arena():
    mlp = _mlp(20, 64)
    params = list(mlp.parameters())

    def fn(x, *ps):
        return torch.func.functional_call(mlp, dict(zip(dict(mlp.named_parameters()), ps)), (x,))

    inputs = [torch.randn(8, 64), *params]
    prog = lower_graph(aten_graph(fn, *inputs), inputs, weight_indices=frozenset(range(1, len(inputs))))
    plan = plan_memory(schedule(prog, Options()))
    plan.verify()
    # 20 activations (+ transposed weights in the persistent region) but only a few live at once
    assert plan.arena_bytes * 5 < plan.intermediate_bytes, str(plan)
    text = str(plan)
    assert "arena" in text and "persistent" in text


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(["relu", "t", "softmax", "sum", "mm", "cat"]), min_size=1, max_size=8),
       st.integers(1, 9))
def test_random_chains_never_overlap_live_buffers(ops, n):
    def fn(x):
        y = x
        for op in ops:
            if op == "relu":
                y = torch.relu(y) + y
            elif op == "t":
                y = y.t().contiguous() * 2
            elif op == "softmax":
                y = torch.softmax(y, -1)
            elif op == "sum":
                y = y + y.sum(0, keepdim=True)
            elif op == "mm":
                y = y @ y.t() @ y
            else:
                y = torch.cat([y, y * 3], 0)[: y.shape[0]]
        return y, x * 3

    plan = _plan(fn, torch.randn(n, n))
    plan.verify()  # raises on overlap or misalignment
    for p in plan.placements.values():
        assert p.offset % 16 == 0 and p.offset >= 16


def test_too_large_for_32_bit_memory_is_a_clear_error():
    def fn(x):  # an intermediate of 2**30 floats
        return x.expand(2**15, 2**15) + 1

    with pytest.raises(MemoryPlanError, match="4 GiB"):
        _plan(fn, torch.randn(1, 2**15))
