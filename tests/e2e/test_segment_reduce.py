"""segment_reduce against eager PyTorch: every reduction, lengths and offsets, empty
segments with and without ``initial``, NaN and Inf in the data, rows of more than one column."""

from __future__ import annotations

import pytest
import torch

from tests.e2e.helpers import check, make_input

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
def test_segment_reduce(reduce):
    data = make_input((9, 3))
    data[4, 1], data[6, 0], data[7, 2] = NAN, INF, -INF
    lengths = torch.tensor([0, 2, 3, 0, 4])
    offsets = torch.tensor([0, 0, 2, 5, 5, 9])
    check(lambda d, l, o: (torch.segment_reduce(d, reduce, lengths=l), torch.segment_reduce(d, reduce, offsets=o),
                           torch.segment_reduce(d, reduce, lengths=l, initial=1.5),
                           torch.segment_reduce(d[:, 0], reduce, offsets=o, initial=-2.0)),
          data, lengths, offsets, rtol=1e-5, atol=1e-5)
