"""uint8 and int16 tensors are stored as such and computed as PyTorch computes them: in
int32, each operator's result wrapped to 8 or 16 bits (add, mul, negation and bitwise not
wrap; comparisons, division and reductions see the exact values); they round-trip through
an artifact. (A uint8 index tensor is a mask in PyTorch; Dynamo's fake tensors reject it
before a graph reaches the backend, and ``index``/``index_put`` refuse it all the same.)"""

from __future__ import annotations

import numpy as np
import torch

from tests.e2e.helpers import check

U8, I16 = torch.uint8, torch.int16


def _u8(shape, seed=0):
    return torch.randint(0, 256, shape, dtype=U8, generator=torch.Generator().manual_seed(seed))


def _i16(shape, seed=0):
    return torch.randint(-32768, 32768, shape, dtype=I16, generator=torch.Generator().manual_seed(seed))


def test_uint8_arithmetic_wraps():
    u, v = _u8((5, 7)), _u8((5, 7), 1)
    check(lambda u, v: (u + v, u - v, u * v, u // (v | 1), u % (v | 1), -u, ~u, u ^ v, u & v, u + 1000),
          u, v)
    check(lambda u, v: (u < v, u == v, torch.maximum(u, v), torch.where(u > v, u, v), u.clamp(10, 200)), u, v)


def test_uint8_and_int16_reductions_casts_and_views():
    u, i = _u8((5, 7)), _i16((5, 7))
    check(lambda u, i: (u.sum(), u.sum(1), u.amax(0), u.argmax(1), u.cumsum(0), u.float() / 3, u.to(torch.int16) - i,
                        i.abs(), i * 3, i.sum(1), i.float() * 0.5, i.to(U8), (i.float() * 0.5).to(I16),
                        torch.arange(7, dtype=I16) + i, u.t().contiguous(), torch.cat([u, u]), u.view(35)[::3],
                        torch.zeros(3, dtype=U8) + 7), u, i)
    check(lambda i: (i + i, torch.empty(0, 3, dtype=I16) + 1), _i16((4, 9)))


def test_artifact_round_trip(tmp_path):
    """Python's loader; Node's and Chromium's: tests/e2e/test_node.py, test_browser.py ("narrow_ints")."""
    from tests.e2e.js.models import save_case

    case = save_case("narrow_ints", tmp_path)
    assert [s["dtype"] for s in case.manifest["inputs"]] == ["uint8", "int16"]
    for got, want in zip(case.expected, case.eager):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
