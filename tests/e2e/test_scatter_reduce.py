"""scatter_reduce, scatter(reduce=) and index_reduce against eager PyTorch: every reduction,
with and without ``include_self``, duplicate indices, positions nothing writes to, NaN and
Inf, odd sizes, an index shorter than self outside the scatter dim, integer tensors, empty
indices, non-contiguous inputs, and an out-of-range index (a trap, as PyTorch raises)."""

from __future__ import annotations

import pytest
import torch

from tests.e2e.helpers import check, expect_unsupported, make_input, run_wasm

NAN, INF = float("nan"), float("inf")
REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _index(shape, high, seed):
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


def _with_nonfinite(x):
    x = x.clone()
    x.view(-1)[1:8:3] = torch.tensor([NAN, INF, -INF])[: len(range(1, min(8, x.numel()), 3))]
    return x


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce(reduce, include_self):
    x = make_input((7, 5))
    src = make_input((9, 5), low=-2.0, high=2.0)
    cases = [
        (x, 0, _index((9, 5), 7, 1), src),  # duplicates along dim 0, some rows never written
        (x, 1, _index((7, 3), 5, 2), make_input((7, 3))),  # along dim 1
        (x, 0, _index((4, 3), 7, 3), make_input((6, 4))),  # index shorter than self and src
        (_with_nonfinite(x), 0, _index((9, 5), 7, 4), _with_nonfinite(src)),  # NaN and Inf propagate
        (x.t().contiguous().t(), -1, _index((7, 2), 5, 5), make_input((7, 2))),  # non-contiguous self
    ]

    def fn(*flat):
        return [torch.scatter_reduce(flat[k], flat[k + 1], flat[k + 2], flat[k + 3], reduce, include_self=include_self)
                for k in range(0, len(flat), 4)]

    flat = [a for case in cases for a in case]
    # float sums and products are added in another order than PyTorch's sequential kernel
    check(fn, *flat, interp=True, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("reduce", ["sum", "prod", "amax", "amin"])
def test_scatter_reduce_integers_exact(dtype, reduce):
    x = make_input((6, 4), dtype, low=-4, high=5)
    src = make_input((8, 4), dtype, low=-3, high=4)
    idx = _index((8, 4), 6, 7)
    check(lambda x, i, s: (torch.scatter_reduce(x, 0, i, s, reduce),
                           torch.scatter_reduce(x, 0, i, s, reduce, include_self=False)), x, idx, src)


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_argument(reduce):
    x, src, idx = make_input((5, 6)), make_input((5, 6)), _index((3, 6), 5, 8)
    check(lambda x, i, s: (torch.scatter(x, 0, i, s, reduce=reduce), torch.scatter(x, 0, i, 2.5, reduce=reduce)),
          x, idx, src, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce(reduce, include_self):
    x = make_input((6, 5, 3))
    cases = [
        (x, 0, _index((9,), 6, 9), make_input((9, 5, 3))),
        (x, 2, _index((4,), 3, 10), _with_nonfinite(make_input((6, 5, 4)))),
        (make_input(()), 0, torch.tensor([0]), make_input(())),  # a 0-d self
    ]

    def fn(*flat):
        return [flat[k].index_reduce(flat[k + 1], flat[k + 2], flat[k + 3], reduce, include_self=include_self)
                for k in range(0, len(flat), 4)]

    check(fn, *[a for case in cases for a in case], interp=True, rtol=1e-5, atol=1e-5)


def test_empty_index_leaves_self():
    x = make_input((4, 3))
    check(lambda x, i, s: (torch.scatter_reduce(x, 0, i, s, "amax"), x.index_reduce(0, i[:, 0], s, "prod")),
          x, torch.zeros((0, 3), dtype=torch.int64), make_input((0, 3)))


def test_out_of_range_index_traps():
    x, src = make_input((4, 3)), make_input((2, 3))
    bad = torch.tensor([[0, 1, 4], [0, 0, 0]])
    with pytest.raises(Exception, match="index"):
        run_wasm(lambda x, i, s: torch.scatter_reduce(x, 0, i, s, "amax"), x, bad, src)


def test_integer_mean_and_unknown_reductions_are_unsupported():
    x = make_input((4, 3), torch.int32)
    idx = _index((4, 3), 4, 11)
    expect_unsupported(lambda x, i: torch.scatter_reduce(x, 0, i, x, "mean"), x, idx, match="mean")
