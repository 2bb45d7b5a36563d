"""torch.special's orthogonal polynomials against eager PyTorch, every x and n pair of a grid
that reaches each branch of PyTorch's kernels: n < 0, 0, 1, non-integer and NaN n, the trig
forms for large n with |x| < 1, |x| = 1 and x = 0 (shifted kinds), the Hermite NaN above 128,
recurrences that overflow (|x| > 1, large n). The routines run PyTorch's float32 operations in
its order, but PyTorch's AVX2 kernels are compiled with multiply-add contraction (a*q - k*p
fused), so long recurrences drift apart in the last bits (3e-5 relative at n = 129 for
Laguerre), and the trig forms (cos(n acos x) and kin) multiply a last-bit difference of acos by
n (3e-5 at n = 129): hence rtol and atol 1e-4."""

from __future__ import annotations

import pytest
import torch

from tests.e2e.helpers import check
from torch_wasm_backend.lower.special import POLYNOMIALS

NAN, INF = float("nan"), float("inf")
XS = torch.tensor([-1.0, 1.0, 0.0, -0.0, 0.5, -0.5, 0.25, 0.75, 0.999, -0.3, 1.5, -2.0, 3.0, 1e-3, 0.1, 0.9,
                   NAN, INF, -INF])
NS = torch.tensor([-1.0, 0.0, 1.0, 2.0, 3.7, 5.0, 6.0, 7.0, 9.0, 12.0, 40.0, 129.0, NAN])


@pytest.mark.parametrize("aten_name", sorted(POLYNOMIALS.values()))
def test_polynomial(aten_name):
    fn = getattr(torch.special, aten_name)
    x, n = XS.repeat_interleave(len(NS)), NS.repeat(len(XS))
    check(lambda x, n: (fn(x, n), fn(x[:7], 3.0)), x, n, interp=True, rtol=1e-4, atol=1e-4)
