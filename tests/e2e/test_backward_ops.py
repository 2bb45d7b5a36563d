"""End-to-end tests of the operators training graphs need: the ATen ops of AOTAutograd
backward graphs (called directly), transposed convolution, max pooling with indices and
batch norm in training mode, compiled with ``backend="wasm"`` in strict mode and compared
with eager PyTorch. As in test_ops.py, one compiled graph covers many cases.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.e2e.helpers import check, make_input, recording

aten = torch.ops.aten
NAN, INF = float("nan"), float("inf")
TOL = dict(rtol=1e-4, atol=1e-4)


def _inputs(*shapes):
    return [make_input(s) for s in shapes]


# --------------------------------------------------------------------------- convolution backward
# (N, Cin, spatial, Cout, kernel, stride, padding, dilation, groups)
CONV = [
    (2, 3, (7, 9), 5, (3, 3), 1, 1, 1, 1),
    (1, 4, (10, 11), 6, (3, 2), (2, 3), (1, 0), (1, 2), 2),
    (2, 5, (9, 6), 5, (3, 3), 2, 1, 1, 5),  # depthwise
    (1, 3, (8, 8), 6, (2, 3), 1, (0, 2), 2, 3),  # depthwise, channel multiplier 2
    (3, 5, (4, 5), 7, (1, 1), 1, 0, 1, 1),  # 1x1
    (2, 2, (9, 10), 3, (2, 2), 3, 0, 1, 1),  # stride > kernel: windows do not overlap
    (1, 6, (5, 5), 4, (3, 3), 1, 2, 2, 2),
]
MASKS = [[True, True, True], [False, True, True], [True, False, False], [True, True, False]]


def _conv_backward_case(transposed, case, op=None):
    n, cin, hw, cout, k, s, p, d, g = case
    op = op or (0,) * len(hw)
    x = make_input((n, cin) + hw)
    w = make_input((cin, cout // g) + k if transposed else (cout, cin // g) + k)
    y = aten.convolution(x, w, None, list(_t(s, len(hw))), list(_t(p, len(hw))), list(_t(d, len(hw))), transposed,
                         list(op), g)
    dy = make_input(tuple(y.shape))
    args = (cout if not transposed else w.shape[1] * g, _t(s, len(hw)), _t(p, len(hw)), _t(d, len(hw)), transposed,
            op, g)
    return [dy, x, w], args


def _t(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def _conv_backward_fn(all_args, masks):
    def fn(*tensors):
        outs = []
        for i, ((cout, s, p, d, tr, op, g), mask) in enumerate(zip(all_args, masks)):
            dy, x, w = tensors[3 * i: 3 * i + 3]
            outs.append(aten.convolution_backward(dy, x, w, [cout], list(s), list(p), list(d), tr, list(op), g, mask))
        return tuple(outs)

    return fn


def _check_conv_backward(cases, masks):
    tensors, all_args = [], []
    for tensors_i, args in cases:
        tensors += tensors_i
        all_args.append(args)
    check(_conv_backward_fn(all_args, masks), *tensors, rtol=1e-4, atol=2e-4)


def test_convolution_backward_2d():
    cases = [_conv_backward_case(False, c) for c in CONV]
    _check_conv_backward(cases, [MASKS[i % len(MASKS)] if i else MASKS[0] for i in range(len(cases))])


def test_convolution_backward_all_masks():
    case = CONV[1]
    _check_conv_backward([_conv_backward_case(False, case) for _ in MASKS], MASKS)


def test_convolution_backward_transposed():
    cases = [_conv_backward_case(True, (2, 4, (5, 7), 6, (3, 3), 2, 1, 1, 1), (1, 0)),
             _conv_backward_case(True, (1, 4, (4, 5), 6, (3, 2), (2, 3), (1, 0), (1, 2), 2), (1, 2)),
             _conv_backward_case(True, (2, 3, (6, 5), 3, (3, 3), 1, 1, 1, 3)),  # depthwise
             _conv_backward_case(True, (1, 3, (3, 4), 5, (2, 2), 2, 0, 1, 1))]  # stride == kernel
    _check_conv_backward(cases, [MASKS[0], MASKS[0], MASKS[1], MASKS[0]])


def test_convolution_backward_1d():
    cases = [_conv_backward_case(False, (2, 3, (17,), 5, (5,), 2, 2, 1, 1)),
             _conv_backward_case(False, (1, 4, (13,), 4, (3,), 1, 2, 2, 4)),
             _conv_backward_case(False, (3, 4, (9,), 6, (3,), 3, 1, 1, 2)),
             _conv_backward_case(True, (2, 4, (9,), 2, (5,), 2, 2, 1, 1), (1,)),
             _conv_backward_case(True, (1, 4, (6,), 6, (4,), 3, 1, 2, 2), (2,))]
    _check_conv_backward(cases, [MASKS[0], MASKS[1], MASKS[0], MASKS[0], MASKS[3]])


# --------------------------------------------------------------------------- transposed convolution
def test_conv_transpose2d():
    x, w, w2, w3, b = _inputs((2, 4, 5, 7), (4, 3, 3, 2), (4, 3, 3, 2), (4, 1, 2, 3), (6,))
    check(lambda x, w, w2, w3, b: (
        F.conv_transpose2d(x, w),
        F.conv_transpose2d(x, w, b[:3], stride=2, padding=1, output_padding=1),
        F.conv_transpose2d(x, w2, b, stride=(2, 3), padding=(0, 1), dilation=(2, 1), groups=2),
        F.conv_transpose2d(x, w3, None, stride=2, groups=4),  # depthwise
        F.conv_transpose2d(x[:1], w, b[3:], stride=(1, 2), padding=(2, 0), output_padding=(0, 1)),
        F.conv_transpose2d(x.transpose(2, 3), w3, b[:4], stride=3, groups=4),  # non-contiguous
    ), x, w, w2, w3, b, **TOL)


def test_conv_transpose1d():
    x, w, w2 = _inputs((2, 4, 9), (4, 2, 5), (4, 3, 3))
    check(lambda x, w, w2: (F.conv_transpose1d(x, w, stride=2, padding=2, output_padding=1),
                            F.conv_transpose1d(x, w, stride=5),
                            F.conv_transpose1d(x, w2, stride=3, padding=1, dilation=2, groups=2, output_padding=2),
                            F.conv_transpose1d(x[:1, :, :1], w)), x, w, w2, **TOL)


def test_conv_modules_inference():
    """Encoder-decoder of 1-d (audio-like) and 2-d transposed convolutions as modules."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 8, 5, stride=2, padding=2), nn.GELU(),
                          nn.Conv1d(8, 8, 3, padding=1, groups=4), nn.ReLU(),
                          nn.ConvTranspose1d(8, 4, 5, stride=2, padding=2, output_padding=1),
                          nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1, groups=2)).eval()
    check(model, make_input((2, 2, 33)), **TOL)
    model2 = nn.Sequential(nn.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                           nn.ConvTranspose2d(5, 5, 2, stride=2, groups=5, bias=False)).eval()
    check(model2, make_input((1, 3, 5, 6)), **TOL)


# --------------------------------------------------------------------------- pooling
def _pool_input():
    x = make_input((2, 3, 9, 11)).round()  # small integers: many ties within windows
    x[0, 0, 1, 1:4] = NAN
    x[0, 0, 2, 2] = NAN
    x[1, 2, :4, :4] = -INF
    x[1, 1, 5, 5] = INF
    return x


# (kernel, stride, padding, dilation, ceil_mode)
MAXPOOL = [([2, 2], [2, 2], [0, 0], [1, 1], False), ([3, 3], [2, 2], [1, 1], [1, 1], False),
           ([3, 2], [1, 2], [1, 1], [2, 1], True), ([2, 3], [3, 2], [1, 0], [1, 2], True),
           ([3, 3], [1, 1], [1, 1], [1, 1], False)]


def test_max_pool2d_indices():
    def fn(x):
        outs = [aten.max_pool2d_with_indices(x, *c) for c in MAXPOOL]
        outs.append(aten.max_pool2d_with_indices(x[0], [2, 2], [2, 2]))  # unbatched
        outs.append(F.max_pool2d(x, 2, return_indices=True)[1] + 1)  # indices used by a pointwise op
        return outs

    check(fn, _pool_input())


def test_max_pool2d_backward():
    x = _pool_input()
    fwd = [aten.max_pool2d_with_indices(x, *c) for c in MAXPOOL]
    dys = [make_input(tuple(v.shape)) for v, _ in fwd]
    idx = [i for _, i in fwd]

    def fn(x, *rest):
        dys, idx = rest[:len(MAXPOOL)], rest[len(MAXPOOL):]
        return [aten.max_pool2d_with_indices_backward(dy, x, *c, i) for dy, c, i in zip(dys, MAXPOOL, idx)]

    check(fn, x, *dys, *idx, **TOL)


def test_max_pool2d_backward_from_forward():
    """Forward and backward in one graph, the indices passed along as in training."""
    def fn(x, dy):
        out, ind = aten.max_pool2d_with_indices(x, [3, 3], [2, 2], [1, 1])
        out3, ind3 = aten.max_pool2d_with_indices(x[0], [2, 2], [2, 2])  # unbatched
        return (out, aten.max_pool2d_with_indices_backward(dy, x, [3, 3], [2, 2], [1, 1], [1, 1], False, ind),
                aten.max_pool2d_with_indices_backward(out3, x[0], [2, 2], [2, 2], [0, 0], [1, 1], False, ind3))

    x = make_input((1, 4, 7, 8)).round()
    check(fn, x, make_input((1, 4, 4, 4)), **TOL)


def test_avg_pool2d_backward():
    x = make_input((2, 3, 9, 10))
    cases = [([2, 2], [2, 2], [0, 0], False, True, None), ([3, 3], [2, 2], [1, 1], True, False, None),
             ([3, 2], [1, 2], [1, 1], False, True, None), ([2, 3], [2, 1], [1, 0], True, True, 5)]
    dys = [make_input(tuple(aten.avg_pool2d(x, *c).shape)) for c in cases]

    def fn(x, *dys):
        return [aten.avg_pool2d_backward(dy, x, *c) for dy, c in zip(dys, cases)]

    check(fn, x, *dys, **TOL)


def test_adaptive_avg_pool2d_backward():
    x1, x2 = make_input((2, 3, 8, 9)), make_input((3, 7, 10))
    dys = [make_input((2, 3, 4, 3)), make_input((2, 3, 3, 4)), make_input((3, 2, 3))]
    check(lambda x1, x2, d0, d1, d2: (aten._adaptive_avg_pool2d_backward(d0, x1),  # uniform windows
                                      aten._adaptive_avg_pool2d_backward(d1, x1),  # overlapping windows
                                      aten._adaptive_avg_pool2d_backward(d2, x2)),  # unbatched
          x1, x2, *dys, **TOL)


# --------------------------------------------------------------------------- normalisation
def _bn_functional(x, w, b, rm, rv, momentum=0.1, eps=1e-5):
    return aten._native_batch_norm_legit_functional(x, w, b, rm, rv, True, momentum, eps)


def test_batch_norm_train_forward():
    xs = _inputs((4, 5, 3, 7), (6, 5), (3, 5, 17), (1, 5, 2, 1), (2, 5, 9, 4))
    xs[4][0, 1, 2, 3] = NAN  # a NaN poisons its channel only
    w, b, rm, rv = make_input((5,)), make_input((5,)), make_input((5,)), make_input((5,), low=0.5, high=2.0)

    def fn(x0, x1, x2, x3, x4, w, b, rm, rv):
        return (_bn_functional(x0, w, b, rm, rv), _bn_functional(x1, None, None, rm, rv, 0.3, 1e-3),
                _bn_functional(x2, w, None, rm, rv), _bn_functional(x3, w, b, rm, rv),  # n == 2
                _bn_functional(x4, w, b, rm, rv),
                aten._native_batch_norm_legit.no_stats(x0, w, b, True, 0.1, 1e-5),
                aten._native_batch_norm_legit.no_stats(x2 + 100.0, None, b, True, 0.1, 1e-5))

    check(fn, *xs, w, b, rm, rv, **TOL)


def test_batch_norm_backward():
    """native_batch_norm_backward is decomposed by AOTAutograd's table into ops we lower."""
    x, dy, w = make_input((4, 5, 3, 7)), make_input((4, 5, 3, 7)), make_input((5,))
    mean = x.mean((0, 2, 3))
    rstd = torch.rsqrt(x.var((0, 2, 3), correction=0) + 1e-5)
    check(lambda dy, x, w, m, r: (
        aten.native_batch_norm_backward(dy, x, w, None, None, m, r, True, 1e-5, [True, True, True]),
        aten.native_batch_norm_backward(dy, x, None, None, None, m, r, True, 1e-5, [True, False, False])),
        dy, x, w, mean, rstd, rtol=1e-4, atol=5e-4)


def test_group_norm():
    x, x2, w, b = make_input((2, 6, 5, 3)), make_input((3, 4, 7)), make_input((6,)), make_input((6,))
    x2[1, 2, 3] = NAN
    check(lambda x, x2, w, b: (aten.native_group_norm(x, w, b, 2, 6, 15, 3, 1e-5),
                               aten.native_group_norm(x2 + 50.0, None, None, 3, 4, 7, 2, 1e-3),
                               F.group_norm(x, 6, w, b), F.group_norm(x, 1)), x, x2, w, b, **TOL)


# --------------------------------------------------------------------------- embedding
def test_embedding_dense_backward():
    idx = torch.tensor([[0, 3, 3, 9], [1, 0, 3, 7], [10, 2, 3, 3]])
    dy = make_input((3, 4, 6))
    idx1 = torch.tensor([4, 4, 1], dtype=torch.int32)
    dy1 = make_input((3, 5))
    check(lambda dy, idx, dy1, idx1: (
        aten.embedding_dense_backward(dy, idx, 11, -1, False),
        aten.embedding_dense_backward(dy, idx, 12, 3, False),  # padding_idx: no gradient
        aten.embedding_dense_backward(dy, idx, 11, 0, True),  # scaled by frequency
        aten.embedding_dense_backward(dy1, idx1, 6, -1, False)), dy, idx, dy1, idx1, **TOL)


# --------------------------------------------------------------------------- decomposed backward ops
def test_decomposed_backward_ops():
    """Backward ops whose core-ATen decompositions lower (checked, not assumed)."""
    x, g, t = make_input((4, 9)), make_input((4, 9)), make_input((4, 9))
    x[0, 0] = 0.0
    w = make_input((9,), low=0.1, high=1.0)

    def fn(x, g, t, w):
        sm, lsm = torch.softmax(x, -1), torch.log_softmax(x, -1)
        ln, mean, rstd = aten.native_layer_norm(x, [9], w, w, 1e-5)
        return (aten._softmax_backward_data(g, sm, -1, torch.float32),
                aten._log_softmax_backward_data(g, lsm, 1, torch.float32),
                aten.native_layer_norm_backward(g, x, [9], mean, rstd, w, w, [True, True, True]),
                aten.threshold_backward(g, x, 0.0),
                aten.gelu_backward(g, x), aten.gelu_backward(g, x, approximate="tanh"),
                aten.silu_backward(g, x), aten.sigmoid_backward(g, torch.sigmoid(x)),
                aten.tanh_backward(g, torch.tanh(x)),
                aten.mse_loss_backward(g, x, t, 1), aten.mse_loss_backward(g[0, 0], x, t, 1))

    check(fn, x, g, t, w, rtol=1e-4, atol=2e-4)


def _scatter_lowers() -> bool:
    from torch_wasm_backend.lower.registry import find_lowering

    return find_lowering(aten.scatter.value) is not None


@pytest.mark.skipif(not _scatter_lowers(), reason="nll_loss_backward decomposes into scatter (lowered in scatter.py)")
def test_nll_loss():
    x, g = make_input((4, 9)), make_input((4,))
    target = torch.tensor([2, 0, 8, 5])
    w = make_input((9,), low=0.1, high=1.0)

    def fn(x, g, target, w):
        lsm = torch.log_softmax(x, -1)
        nll, total = aten.nll_loss_forward(lsm, target, w, 1, -100)
        nll0, total0 = aten.nll_loss_forward(lsm, target, None, 0, 8)
        return (nll, total, nll0, aten.nll_loss_backward(g[0], lsm, target, w, 1, -100, total),
                aten.nll_loss_backward(g, lsm, target, None, 0, 8, total0))

    check(fn, x, g, target, w, **TOL)


def test_sdpa_backward():
    """The CPU flash-attention backward, decomposed in decompositions.py (P recomputed)."""
    q, k, v = make_input((2, 2, 5, 8)), make_input((2, 2, 7, 8)), make_input((2, 2, 7, 8))
    q, k = q * 0.3, k * 0.3
    mask = make_input((5, 7))
    cases = [dict(), dict(scale=0.2), dict(attn_mask=mask)]
    fwd = [aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, False, **c) for c in cases]
    qc = q[:, :, :, :]
    out_c, lse_c = aten._scaled_dot_product_flash_attention_for_cpu(qc, k[:, :, :5], v[:, :, :5], 0.0, True)
    dy = make_input((2, 2, 5, 8))

    def fn(q, k, v, dy, mask, o0, l0, o1, l1, o2, l2, oc, lc):
        return (aten._scaled_dot_product_flash_attention_for_cpu_backward(dy, q, k, v, o0, l0, 0.0, False),
                aten._scaled_dot_product_flash_attention_for_cpu_backward(dy, q, k, v, o1, l1, 0.0, False, scale=0.2),
                aten._scaled_dot_product_flash_attention_for_cpu_backward(dy, q, k, v, o2, l2, 0.0, False,
                                                                          attn_mask=mask),
                aten._scaled_dot_product_flash_attention_for_cpu_backward(dy, q, k[:, :, :5], v[:, :, :5], oc, lc,
                                                                          0.0, True))

    check(fn, q, k, v, dy, mask, *[t for o in fwd for t in o], out_c, lse_c, rtol=1e-4, atol=2e-4)


# --------------------------------------------------------------------------- training, end to end
class _SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(6, 4, 2, stride=2)
        self.fc = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        h = self.pool(self.dw(F.relu(self.bn(self.conv(x)))))
        return self.fc(F.silu(self.up(h)).flatten(1))


class _GroupNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.norm = nn.GroupNorm(4, 8)
        self.pool = nn.AdaptiveAvgPool2d((2, 3))
        self.fc = nn.Linear(8 * 2 * 3, 5)

    def forward(self, x):
        return self.fc(self.pool(F.gelu(self.norm(self.conv(x)))).flatten(1))


@pytest.mark.parametrize("make", [_SmallCNN, _GroupNormNet], ids=["cnn_batchnorm", "groupnorm_adaptive"])
def test_training_step_gradients(make):
    """One forward + backward in train mode: the backward graph runs as WebAssembly too,
    and gradients and running statistics match eager."""
    torch.manual_seed(0)
    model = make().train()
    ref = copy.deepcopy(model)
    x, target = make_input((2, 3, 8, 8)), torch.tensor([1, 4])
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm", options={"strict": True})
    with recording() as rec:
        loss = F.cross_entropy(compiled(x), target)
        loss.backward()
    assert len(rec.compiled) == 2 and len(rec.calls) == 2, "forward and backward graphs both run as wasm"
    expected = F.cross_entropy(ref(x), target)
    expected.backward()
    torch.testing.assert_close(loss, expected, **TOL)
    for (name, p), p_ref in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, p_ref.grad, rtol=1e-3, atol=1e-4, msg=lambda m: f"{name}: {m}")
    for (name, b), b_ref in zip(model.named_buffers(), ref.buffers()):
        torch.testing.assert_close(b, b_ref, **TOL, msg=lambda m: f"{name}: {m}")
