"""Small windows (3x3 depthwise convolution, pooling) whose straight-line expression would
have more than ``emit.reduce.STRAIGHT_LOADS`` loads are emitted with their rows as loops
(``_rows_unrolled``): the same operations in the same order as the straight-line form, so
bit for bit the same results, and eager's values. Odd widths leave vector and scalar tails;
the inputs carry NaN, infinities and signed zeros."""

import pytest
import torch
import torch.nn.functional as F

from torch_wasm_backend import ir
from torch_wasm_backend.emit import reduce as emit_reduce

from .helpers import make_input, run_wasm

W = make_input((13, 1, 3, 3))

CASES = {
    "depthwise_s1": lambda x: F.conv2d(x, W, None, 1, 1, 1, 13),
    "depthwise_s2": lambda x: F.conv2d(x, W, None, 2, 1, 1, 13),
    "depthwise_dilated": lambda x: F.conv2d(x, W, None, 1, 2, 2, 13),
    "max_pool_3x3_s2": lambda x: F.max_pool2d(x, 3, 2, 1),
    "avg_pool_3x3": lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
}


def _input():
    x = make_input((2, 13, 19, 23), specials=True)
    x[0, 0, 3, 4], x[1, 2, 5, 6], x[0, 5, 7, 8] = float("nan"), float("inf"), -float("inf")
    return x


def _window_reduces(rec):
    return [p.kernel for g in rec.graphs for p in g.schedule.forward
            if isinstance(p.kernel, ir.Reduce) and len(p.kernel.red_ranges) == 2]


@pytest.mark.parametrize("name", sorted(CASES))
def test_rows_as_loops_equal_straight_line(name, monkeypatch):
    fn, x = CASES[name], _input()
    rolled, rec = run_wasm(fn, x)
    kernels = _window_reduces(rec)
    assert kernels and not emit_reduce._straight(kernels[0], emit_reduce.ROW_GROUPS)  # rows as loops
    torch.testing.assert_close(rolled, fn(x), rtol=1e-5, atol=1e-5, equal_nan=True)
    assert rolled.stride() == fn(x).stride()
    monkeypatch.setattr(emit_reduce, "STRAIGHT_LOADS", 10**9)  # every small window straight-line
    straight, _ = run_wasm(fn, x)
    assert rolled.numpy().tobytes() == straight.numpy().tobytes()


def test_two_by_two_window_stays_straight():
    x = _input()
    out, rec = run_wasm(lambda x: F.max_pool2d(x, 2), x)
    torch.testing.assert_close(out, F.max_pool2d(x, 2), equal_nan=True)
    assert all(emit_reduce._straight(k, emit_reduce.OUTPUT_GROUPS) for k in _window_reduces(rec))
