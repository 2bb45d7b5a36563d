"""``explain()`` reports what really runs: the backend's own record of each graph, in the
caller's grad mode, with Dynamo's skipped frames and graph breaks in user terms."""

import torch
import torch.nn.functional as F

import torch_wasm_backend


def test_explain_no_grad_reports_the_inference_path():
    """explain() under no_grad reports what the inference path did (it used to decompose
    ops as autograd does and report 100% for a bilinear interpolation that fell back; that
    one is lowered now, an antialiased one still falls back)."""
    fn = lambda x: F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True)  # noqa: E731
    with torch.no_grad():
        report = torch_wasm_backend.explain(fn, torch.randn(1, 2, 4, 4))
    assert "aten._upsample_bilinear2d_aa.default" in report.unsupported, str(report)
    assert report.coverage < 1.0


def test_explain_autograd_reports_the_forward_graph():
    lin = torch.nn.Linear(4, 3)
    report = torch_wasm_backend.explain(lambda x: torch.relu(lin(x)), torch.randn(2, 4))
    assert report.graphs == 1 and not report.unsupported, str(report)
    assert report.coverage == 1.0


def test_explain_skipped_frame_is_zero_percent_with_dynamo_reason():
    lstm = torch.nn.LSTM(4, 3).eval()
    with torch.no_grad():
        report = torch_wasm_backend.explain(lstm, torch.randn(5, 2, 4))
    assert report.skipped_frames >= 1 and report.coverage == 0.0
    text = str(report)
    assert "(0%)" in text and "LSTM" in text and "allow_rnn" in text, text
