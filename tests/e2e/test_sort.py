"""sort, argsort and msort as a rank-and-gather (lower/sort.py) against eager PyTorch:
ties (0.0 and -0.0 too) in their original order, NaN/Inf placed as PyTorch places them,
ascending and descending, any dim, non-contiguous, integer and float64 inputs."""

from __future__ import annotations

import pytest
import torch

from tests.e2e.helpers import check, make_input


def _ties():
    x = make_input((4, 9), specials=True)
    x[1, :4] = 1.0
    x[2, :3] = 0.0
    x[2, 3] = -0.0
    return x


@pytest.mark.parametrize("fn", [
    lambda x: torch.sort(x),
    lambda x: torch.sort(x, 0, descending=True),
    lambda x: torch.sort(x.t(), 1, True),
    lambda x: torch.sort(x, stable=True, dim=-1),
    lambda x: torch.argsort(x, dim=-1, stable=True),
    lambda x: torch.argsort(x, 0, True),
    lambda x: torch.msort(x),
    lambda x: torch.sort(x[0, 0]),
    lambda x: torch.sort(x[:, :0]),
])
def test_sort_float32(fn):
    check(fn, _ties())


def test_sort_other_dtypes():
    check(lambda x: torch.sort(x, descending=True), make_input((3, 11), torch.int64))
    check(lambda x: torch.argsort(x.double(), 0), _ties())
