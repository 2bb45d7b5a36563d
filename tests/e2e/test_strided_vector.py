"""Vector kernels whose loads stride along the lanes (pooling windows, strided slices,
im2col of strided convolutions: ``FunctionWriter.gather``), loop-invariant sub-expressions
hoisted out of windows (batch norm + relu fused into a pool), and softmax's shared exp
buffer: WebAssembly vs eager, with output widths that leave scalar tails."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.e2e.helpers import check, make_input

NAN, INF = float("nan"), float("inf")

POOLS = [
    # (shape, kernel, stride, padding, dilation, ceil_mode): output widths 1..9 and 16+
    ((1, 3, 7, 19), 2, 2, 0, 1, False),  # stride 2, ow 9 (a tail of 1)
    ((1, 3, 7, 19), 2, 2, 0, 1, True),  # ceil_mode: ow 10
    ((2, 2, 9, 13), 3, 2, 1, 1, False),  # padded
    ((1, 2, 9, 35), 3, 3, 1, 1, True),  # stride 3, ceil_mode, padded
    ((1, 2, 8, 29), 2, 3, 0, 2, False),  # stride 3, dilated
    ((1, 2, 8, 37), 4, 4, 1, 1, False),  # stride 4
    ((1, 2, 8, 35), (2, 3), (2, 5), 0, 1, False),  # stride 5: scalar
    ((1, 4, 6, 5), 2, 2, 0, 1, True),  # ow 3: only the tail
    ((1, 16, 34, 66), 2, 2, 0, 1, False),  # ow 33: wide groups, vector steps and a tail
]


@pytest.mark.parametrize("case", POOLS, ids=[f"pool{i}" for i in range(len(POOLS))])
def test_strided_pools(case):
    shape, k, s, p, d, ceil = case
    x = make_input(shape)
    x.view(-1)[::7] = -INF
    x.view(-1)[3::11] = NAN  # NaN in windows, on odd and even columns
    check(lambda x: (F.max_pool2d(x, k, s, p, d, ceil_mode=ceil), F.avg_pool2d(x, k, s, p, ceil)
                     if d == 1 else x.sum()), x)


def test_strided_pools_non_contiguous():
    x = make_input((1, 3, 23, 11)).transpose(2, 3)  # (1, 3, 11, 23), W strided in memory
    y = make_input((1, 13, 9, 3)).permute(0, 3, 1, 2)  # channels-last input
    check(lambda x, y: (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.max_pool2d(y, 3, 2, ceil_mode=True),
                        F.max_pool2d(x[..., ::2], 2)), x, y)


@pytest.mark.parametrize("step", [2, 3, 4])
def test_strided_slices(step):
    xs = [make_input((3, n)) for n in (1, 7, 17, 41)]  # d: 40 and 41 columns, both slices 20, 14 or 10 wide
    ints = make_input((5, 4 * step + 3), torch.int32)
    check(lambda a, b, c, d, i: (a[:, ::step] * 2, b[:, ::step] + 1, c[:, 1::step].exp(),
                                 d[:, :40:step] - d[:, 1::step], i[:, ::step] * 3), *xs, ints)


@pytest.mark.parametrize("stride", [2, 3])
def test_strided_conv(stride):
    x, w = make_input((1, 3, 13, 15)), make_input((4, 3, 3, 3))
    dw = make_input((3, 1, 3, 3))
    check(lambda x, w, dw: (F.conv2d(x, w, stride=stride, padding=1), F.conv2d(x, dw, stride=stride, groups=3)),
          x, w, dw)


def _bn_relu_pool():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(3, 2, 1)).eval()
    for bn in (m[1], m[4]):
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.normal_()
    return m


def test_fused_batch_norm_pool():
    m = _bn_relu_pool()
    x = make_input((1, 3, 19, 21))
    x[0, 1, 4, 7] = NAN
    with torch.no_grad():
        check(m, x)


def test_pool_windows_are_vector_kernels(tmp_path, monkeypatch):
    """Stride-2 pools with batch norm + relu fused in run in vector mode, the batch norm's
    per-channel scale computed once per row of outputs, not per window element."""
    monkeypatch.setenv("TORCH_WASM_DEBUG_DIR", str(tmp_path))
    with torch.no_grad():
        check(_bn_relu_pool(), make_input((1, 3, 16, 16)))
    (sched,) = tmp_path.glob("*/2_schedule.txt")
    pools = [line for line in sched.read_text().splitlines() if "reduce max" in line or "reduce sum" in line]
    assert len(pools) == 2 and all(line.lstrip().startswith("[vector]") for line in pools), pools
    (wat,) = tmp_path.glob("*/4_module.wat")
    pool_code = [f for f in wat.read_text().split("(func $")[1:] if f.startswith("reduce")]
    assert len(pool_code) == 2
    assert not any("sqrt" in f for f in pool_code)  # 1/sqrt(var + eps) per channel, not per window


def test_softmax_rows():
    x = make_input((6, 37))
    x[1, 5] = INF
    x[2, :] = -INF
    x[3, 7] = NAN
    x[4, 0] = -INF
    check(lambda x: (torch.softmax(x, -1), torch.softmax(x, 0), torch.log_softmax(x, -1)), x)


def test_lane_dim_split_by_reshape():
    """Head merges and other reshapes whose index splits the lane dim with a floor division
    and remainder by a multiple of 4 (vector loads) or not (scalar), and their tails."""
    def f(a, b, c, d, e):
        return (a.permute(1, 0, 2).reshape(7, 4 * 8) * 2, b.permute(1, 0, 2).reshape(5, 3 * 12) + 1,
                c.reshape(6, 4, 5).permute(1, 0, 2).reshape(4, 30), d.view(3, 8, 2).transpose(1, 2).reshape(3, 16),
                e.permute(1, 0, 2).reshape(9, 3 * 12)[:, 2:] - 1,
                torch.arange(48, dtype=torch.int32).reshape(4, 12).t().reshape(6, 8) * 1)

    check(f, make_input((4, 7, 8)), make_input((3, 5, 12)), make_input((6, 20)), make_input((3, 16)),
          make_input((3, 9, 12)))
