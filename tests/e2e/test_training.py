"""Training: AOTAutograd's backward graphs compiled to WebAssembly, checked against eager.

Each test builds the same model twice from one seed (eager reference and compiled), runs
forward and backward on real data and compares the loss, the input gradient and every
parameter gradient. ``recording()`` proves that a backward graph (one with ``tangents``
inputs) was compiled to a ``CompiledGraph`` and called; strict mode proves nothing ran in
eager PyTorch. The optimizer tests run 50 steps and compare the whole loss curve.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.e2e.helpers import recording

STRICT = {"strict": True}


def _is_backward(gm) -> bool:
    return any(n.op == "placeholder" and "tangents" in n.name for n in gm.graph.nodes)


def _assert_backward_ran(rec) -> None:
    rec.assert_wasm_ran()
    backward = [g for gm, _, g in rec.compiled if _is_backward(gm)]
    assert backward, "no backward graph was compiled to WebAssembly"
    assert any(g in backward for g, _, _ in rec.calls), "the compiled backward graph was never called"


def _grads(model, x, target, loss_fn, call=None):
    x = x.clone().requires_grad_(x.is_floating_point())
    loss = loss_fn((model if call is None else call)(x), target)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), (x.grad.clone() if x.grad is not None else None), grads


def check_gradients(make, x, target, loss_fn, options=STRICT, atol=1e-5, rtol=1e-4):
    torch.manual_seed(0)
    reference = make()
    model = copy.deepcopy(reference)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm", options=options)
    with recording() as rec:
        loss, gx, grads = _grads(model, x, target, loss_fn, compiled)
    _assert_backward_ran(rec)
    ref_loss, ref_gx, ref_grads = _grads(reference, x, target, loss_fn)
    torch.testing.assert_close(loss, ref_loss, atol=atol, rtol=rtol)
    if ref_gx is not None:
        torch.testing.assert_close(gx, ref_gx, atol=atol, rtol=rtol)
    assert grads.keys() == ref_grads.keys()
    for name in ref_grads:
        torch.testing.assert_close(grads[name], ref_grads[name], atol=atol, rtol=rtol, msg=lambda m: f"{name}: {m}")
    # running statistics (batch norm in training mode) are updated as eager updates them
    for (name, buf), (_, ref_buf) in zip(model.named_buffers(), reference.named_buffers()):
        torch.testing.assert_close(buf, ref_buf, atol=atol, rtol=rtol, msg=lambda m: f"{name}: {m}")
    return rec


def mlp():
    return nn.Sequential(nn.Linear(20, 33), nn.ReLU(), nn.Linear(33, 17), nn.GELU(), nn.Linear(17, 5))


class SmallCNN(nn.Module):
    """conv, batch norm (training mode), relu, max pool, avg pool, linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 6, 3, stride=2)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 3 * 3, 4)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(x.flatten(1))


def transformer_layer():
    return nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=36, dropout=0.0, batch_first=True)


def test_mlp_gradients():
    x, target = torch.randn(7, 20), torch.randint(0, 5, (7,))
    check_gradients(mlp, x, target, F.cross_entropy)


def test_mlp_gradients_mse_odd_batch():
    x, target = torch.randn(13, 20), torch.randn(13, 5)
    check_gradients(mlp, x, target, F.mse_loss)


def test_cnn_gradients_batch_norm_training():
    x, target = torch.randn(3, 3, 14, 14), torch.randint(0, 4, (3,))
    check_gradients(SmallCNN, x, target, F.cross_entropy)


def test_transformer_layer_gradients():
    x, target = torch.randn(2, 7, 16), torch.randn(2, 7, 16)
    check_gradients(transformer_layer, x, target, F.mse_loss)


def test_embedding_layer_norm_gradients():
    def make():
        return nn.Sequential(nn.Embedding(11, 8), nn.LayerNorm(8), nn.Flatten(), nn.Linear(5 * 8, 3))

    x, target = torch.tensor([[1, 3, 3, 0, 10], [2, 2, 9, 1, 3]]), torch.randint(0, 3, (2,))
    check_gradients(make, x, target, F.cross_entropy)


def _dataset(n=64, d=20, classes=5):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, classes, generator=g)
    return x, (x @ w).argmax(1)


@pytest.mark.parametrize("optimizer", ["sgd_momentum", "adam"])
def test_training_loop_tracks_eager(optimizer):
    """50 optimizer steps on minibatches: the compiled model's loss curve follows eager's,
    which also proves updated parameters reach WebAssembly memory on every call."""
    torch.manual_seed(0)
    reference = mlp()
    model = copy.deepcopy(reference)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm", options=STRICT)

    def make_opt(params):
        if optimizer == "adam":
            return torch.optim.Adam(params, lr=1e-2)
        return torch.optim.SGD(params, lr=0.05, momentum=0.9)

    x, y = _dataset()
    curves = []
    for net in (compiled, reference):
        opt = make_opt(net.parameters())
        losses = []
        for step in range(50):
            batch = slice(16 * (step % 4), 16 * (step % 4 + 1))
            opt.zero_grad()
            loss = F.cross_entropy(net(x[batch]), y[batch])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        curves.append(torch.tensor(losses))
    ours, eager = curves
    assert eager[-1] < 0.5 * eager[0], "the reference did not learn: the test would prove nothing"
    torch.testing.assert_close(ours, eager, atol=1e-4, rtol=1e-3)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, atol=1e-4, rtol=1e-3)


def test_in_place_parameter_update_is_seen():
    """A parameter changed in place between calls (as optimizers do) is copied again."""
    torch.manual_seed(0)
    model = mlp()
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm", options=STRICT)
    x = torch.randn(4, 20)
    with torch.no_grad():
        before = compiled(x)
        model[0].weight.mul_(-1.5)
        model[2].bias.add_(1.0)
        after = compiled(x)
        torch.testing.assert_close(after, model(x))
    assert not torch.allclose(before, after)


def test_literal_outputs_are_returned_not_a_fallback():
    """Backward graphs return None for inputs that need no gradient, and specialised forward
    graphs return literal sizes saved for backward: the tensors compile, the literals come
    back as they are, and nothing falls back (strict)."""
    from torch_wasm_backend.backend import make_compiler
    from torch_wasm_backend.config import Options

    g = torch.fx.Graph()
    x = g.placeholder("x")
    y = g.call_function(torch.ops.aten.mul.Tensor, (x, 2.0))
    g.output((y, 3, None, y))
    gm = torch.fx.GraphModule(torch.nn.Module(), g)
    a = torch.randn(5)
    with recording() as rec:
        outs = make_compiler(Options(strict=True))(gm, [a])([a])
    rec.assert_wasm_ran()
    assert outs[1:3] == [3, None]
    torch.testing.assert_close(outs[0], a * 2)
    torch.testing.assert_close(outs[3], a * 2)
