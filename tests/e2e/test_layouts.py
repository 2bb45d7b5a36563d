"""Outputs have eager's layout: sizes, strides and storage offset (issue: a ``.contiguous()``
the lowering kept as a view came back non-contiguous, a permuted result came back
contiguous; an eager kernel reading raw memory downstream then computed garbage)."""

import pytest
import torch

from tests.e2e.helpers import assert_same_layout, check

CASES = {
    "permute_contiguous": lambda x: x.permute(1, 0, 2).contiguous(),
    "mul_then_permute": lambda x: (x * 2).permute(1, 0, 2),
    "transpose_of_result": lambda x: (x + 1).transpose(1, 2),
    "slice_of_result": lambda x: (x * 2)[1:, :, 2:],  # storage offset 42 in eager
    "expand_of_reduction": lambda x: x.sum(0, keepdim=True).expand(3, 5, 7),
    "channels_last": lambda x: (x.unsqueeze(0) * 3).contiguous(memory_format=torch.channels_last),
    "select_column": lambda x: (x - 1)[:, :, 3],
}


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "autograd"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_output_layout_matches_eager(name, grad):
    fn = CASES[name]
    x = torch.randn(2, 5, 7)
    torch._dynamo.reset()
    fast = torch.compile(fn, backend="wasm", options={"strict": True})
    xx = x.clone().requires_grad_(grad)
    with torch.set_grad_enabled(grad):
        got, want = fast(xx), fn(xx)
    assert_same_layout(got, want, name)
    assert torch.equal(got, want)


def test_contiguous_result_can_be_viewed():
    x = torch.randn(2, 5, 8)
    check(lambda x: x.permute(1, 0, 2).contiguous(), x)
    torch._dynamo.reset()
    fast = torch.compile(lambda x: x.permute(1, 0, 2).contiguous(), backend="wasm")
    with torch.no_grad():
        assert fast(x).view(2, -1).shape == (2, 40)  # raised: not contiguous


def test_dynamic_output_layout():
    """Symbolic sizes: the layout is evaluated per call."""
    fn = CASES["slice_of_result"]
    torch._dynamo.reset()
    fast = torch.compile(fn, backend="wasm", dynamic=True)
    with torch.no_grad():
        for n in (3, 4, 9):
            x = torch.randn(n, 5, 7)
            got, want = fast(x), fn(x)
            assert_same_layout(got, want, f"n={n}")
            assert torch.equal(got, want)


def test_lstm_after_compiled_region():
    """An eager LSTM (the operator falls back) whose input comes out of a compiled region:
    the region's ``.contiguous()`` must reach it (was off by up to 0.37)."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(8, 6, batch_first=False).eval()
    proj = torch.nn.Linear(8, 8).eval()

    def fn(x):  # x: [batch, seq, feat] -> LSTM wants [seq, batch, feat]
        return lstm(proj(x).permute(1, 0, 2).contiguous())[0]

    x = torch.randn(3, 5, 8)
    torch._dynamo.reset()
    with torch._dynamo.config.patch(allow_rnn=True), torch.no_grad():
        fast = torch.compile(fn, backend="wasm")
        got, want = fast(x), fn(x)
    torch.testing.assert_close(got, want)
