"""bucketize, searchsorted and histc against eager PyTorch: both sides, int32 and int64
results, NaN values (they pass every boundary, as PyTorch's binary search), ties on the
boundaries, batched sequences, a sorter, integer inputs, histc's own range (min = max) and
values on the edges."""

from __future__ import annotations

import pytest
import torch

from tests.e2e.helpers import check, make_input

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("right", [False, True])
def test_bucketize(right):
    b = torch.tensor([-2.0, -0.5, 0.0, 0.0, 1.0, 3.5])
    x = torch.cat([make_input((3, 7)).view(-1), b, torch.tensor([NAN, INF, -INF, -0.0])])
    xi, bi = make_input((5, 3), torch.int64, low=-6, high=7), torch.tensor([-3, 0, 0, 2, 5])
    check(lambda x, b, xi, bi: (torch.bucketize(x, b, right=right), torch.bucketize(x, b, out_int32=True, right=right),
                                torch.bucketize(xi, bi, right=right), torch.bucketize(x[:, ::2], b)),
          x.view(1, -1), b, xi, bi)


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(side):
    seq = torch.sort(make_input((4, 9)), dim=-1).values
    vals = torch.cat([make_input((4, 5)), seq[:, 2:4], torch.full((4, 1), NAN)], dim=1)
    flat = torch.sort(make_input((13,))).values
    perm = torch.randperm(13, generator=torch.Generator().manual_seed(3))
    check(lambda s, v, f, p, fs: (torch.searchsorted(s, v, side=side), torch.searchsorted(f, v, side=side),
                                  torch.searchsorted(fs, v, sorter=p, side=side),
                                  torch.searchsorted(f, 0.25, side=side, out_int32=True)),
          seq, vals, flat, torch.argsort(flat[perm]), flat[perm])


def test_histc():
    x = make_input((6, 7), specials=True)
    edges = torch.tensor([0.0, 1.0, 2.0, -1.0, 1.5, NAN, 3.0])  # on the edges, outside, NaN skipped
    check(lambda x, e: (torch.histc(x, bins=10, min=-3, max=3), torch.histc(x), torch.histc(x, bins=7),
                        torch.histc(e, bins=4, min=0, max=3), torch.histc(x[0, :1], bins=3),
                        torch.histc(torch.full((5,), 2.0) + x[0, 0] * 0, bins=4)), x, edges)
