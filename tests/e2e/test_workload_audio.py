"""A small audio model: a 1-D convolutional encoder-decoder over 16,000-sample waveforms
(strided Conv1d down, ConvTranspose1d up), compiled whole in strict mode, forward and
backward checked against eager PyTorch."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.e2e.test_training import _assert_backward_ran
from tests.e2e.helpers import recording


class AudioAutoencoder(nn.Module):
    """Waveform (B, 1, 16000) -> latent (B, 16, 500) -> waveform (B, 1, 16000)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(1, 8, 9, stride=4, padding=4), nn.GELU(),
            nn.Conv1d(8, 16, 9, stride=4, padding=4), nn.GELU(),
            nn.Conv1d(16, 16, 5, stride=2, padding=2, dilation=1))
        self.decoder = nn.Sequential(
            nn.ConvTranspose1d(16, 16, 4, stride=2, padding=1), nn.GELU(),
            nn.ConvTranspose1d(16, 8, 8, stride=4, padding=2), nn.GELU(),
            nn.ConvTranspose1d(8, 1, 8, stride=4, padding=2), nn.Tanh())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def test_audio_autoencoder_forward_and_backward():
    torch.manual_seed(0)
    model = AudioAutoencoder()
    reference = copy.deepcopy(model)
    x = torch.randn(2, 1, 16000) * 0.3
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm", options={"strict": True})
    with recording() as rec:
        out = compiled(x)
        loss = F.mse_loss(out, x)
        loss.backward()
    _assert_backward_ran(rec)
    want = reference(x)
    assert out.shape == want.shape == (2, 1, 16000)
    torch.testing.assert_close(out, want, atol=1e-5, rtol=1e-4)
    F.mse_loss(want, x).backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-4, msg=lambda m: f"{name}: {m}")


def test_audio_autoencoder_odd_length_inference():
    """A length that no stride divides: output_padding-free transposed convs give a
    shorter output, exactly as eager."""
    torch.manual_seed(1)
    model = AudioAutoencoder().eval()
    x = torch.randn(1, 1, 4001)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm", options={"strict": True})
    with torch.no_grad(), recording() as rec:
        out = compiled(x)
        want = model(x)
    rec.assert_wasm_ran()
    assert out.shape == want.shape
    torch.testing.assert_close(out, want, atol=1e-5, rtol=1e-4)
