"""Trainable artifacts (``save_training``): train steps inside WebAssembly follow eager
PyTorch's optimizer, weights can be read and written (federated averaging), and the
JavaScript loader trains the same artifact in Node to the same losses."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_wasm_backend
from torch_wasm_backend.export import SaveError
from torch_wasm_backend.runtime.artifact import ArtifactError

STEPS = 30


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 21), nn.Tanh(), nn.Linear(21, 17), nn.ReLU(), nn.Linear(17, 3))


def batches(n_batches=4, batch=10, seed=1):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(12, 3, generator=g)
    xs = [torch.randn(batch, 12, generator=g) for _ in range(n_batches)]
    return [(x, torch.sin(x @ w)) for x in xs]


def eager_curve(model, opt, data, steps=STEPS, loss_fn=F.mse_loss):
    losses = []
    for step in range(steps):
        x, y = data[step % len(data)]
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses)


def wasm_curve(trainer, data, steps=STEPS):
    return torch.tensor([trainer.train_step(*data[step % len(data)]) for step in range(steps)])


OPTIMIZERS = {
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_nesterov_wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_train_steps_follow_eager(name, tmp_path):
    model, data = mlp(), batches()
    reference = copy.deepcopy(model)
    path = tmp_path / "trainer.wasm"
    manifest = torch_wasm_backend.save_training(model, F.mse_loss, OPTIMIZERS[name](model.parameters()),
                                                data[0], path)
    assert manifest["kind"] == "trainer"
    trainer = torch_wasm_backend.load(path)
    ours = wasm_curve(trainer, data)
    eager = eager_curve(reference, OPTIMIZERS[name](reference.parameters()), data)
    assert eager[-1] < 0.8 * eager[0], "the reference did not learn: the test would prove nothing"
    torch.testing.assert_close(ours, eager, atol=1e-5, rtol=1e-3)
    # the eval forward reads the trained weights
    x = data[1][0]
    with torch.no_grad():
        torch.testing.assert_close(trainer(x), reference(x), atol=1e-4, rtol=1e-3)
    weights = trainer.get_weights("param:")
    for (n, p) in reference.named_parameters():
        np.testing.assert_allclose(weights[f"param:{n}"], p.detach().numpy(), atol=1e-4, rtol=1e-3)


def test_optimizer_state_continues_from_torch(tmp_path):
    """An optimizer that has already taken steps hands its state (momentum, step count) over."""
    model, data = mlp(), batches()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    eager_curve(model, opt, data, steps=3)
    reference, ref_opt = copy.deepcopy(model), torch.optim.Adam(model.parameters(), lr=1e-2)
    ref_opt = torch.optim.Adam(reference.parameters(), lr=1e-2)
    ref_opt.load_state_dict(opt.state_dict())
    torch_wasm_backend.save_training(model, F.mse_loss, opt, data[0], tmp_path / "t.wasm")
    trainer = torch_wasm_backend.load(tmp_path / "t.wasm")
    assert float(trainer.get_weights("optimizer:step")["optimizer:step"]) == 3
    torch.testing.assert_close(wasm_curve(trainer, data, 8), eager_curve(reference, ref_opt, data, 8),
                               atol=1e-5, rtol=1e-3)


def test_federated_averaging(tmp_path):
    """Two trainers on different data; the host averages their parameters and writes the
    average back; both then compute what an eager model with averaged weights computes."""
    model = mlp()
    path = tmp_path / "fed.wasm"
    torch_wasm_backend.save_training(model, "mse", {"name": "sgd", "lr": 0.1}, batches()[0], path)
    clients = [torch_wasm_backend.load(path), torch_wasm_backend.load(path)]
    refs = [copy.deepcopy(model), copy.deepcopy(model)]
    for k, (client, ref) in enumerate(zip(clients, refs)):
        data = batches(seed=10 + k)
        wasm_curve(client, data, 6)
        eager_curve(ref, torch.optim.SGD(ref.parameters(), lr=0.1), data, 6)
    a, b = (c.get_weights("param:") for c in clients)
    assert not np.allclose(a["param:0.weight"], b["param:0.weight"]), "clients should have diverged"
    average = {name: (a[name] + b[name]) / 2 for name in a}
    for client in clients:
        client.set_weights(average)
    merged = copy.deepcopy(model)
    with torch.no_grad():
        for (name, p), p0, p1 in zip(merged.named_parameters(), refs[0].parameters(), refs[1].parameters()):
            p.copy_((p0 + p1) / 2)
    x = batches(seed=99)[0][0]
    with torch.no_grad():
        want = merged(x)
    for client in clients:
        torch.testing.assert_close(client(x), want, atol=1e-5, rtol=1e-4)
    # and training continues from the averaged weights
    x, y = batches(seed=5)[0]
    with torch.no_grad():
        want_loss = F.mse_loss(merged(x), y).item()
    assert clients[0].train_step(x, y) == pytest.approx(want_loss, rel=1e-4)


def test_cross_entropy_classifier(tmp_path):
    """Integer targets, a classification loss: its backward scatters into the class axis."""
    model = mlp()
    reference = copy.deepcopy(model)
    g = torch.Generator().manual_seed(3)
    data = [(torch.randn(9, 12, generator=g), torch.randint(0, 3, (9,), generator=g)) for _ in range(3)]
    torch_wasm_backend.save_training(model, F.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.2),
                                     data[0], tmp_path / "ce.wasm")
    trainer = torch_wasm_backend.load(tmp_path / "ce.wasm")
    eager = eager_curve(reference, torch.optim.SGD(reference.parameters(), lr=0.2), data, 12, F.cross_entropy)
    torch.testing.assert_close(wasm_curve(trainer, data, 12), eager, atol=1e-5, rtol=1e-3)


def test_cnn_with_batch_norm(tmp_path):
    """Convolutions, batch norm in training mode (its running statistics are state the
    train step updates), max pooling; the eval forward uses the running statistics."""
    from tests.e2e.test_training import SmallCNN

    torch.manual_seed(0)
    model = SmallCNN()
    reference = copy.deepcopy(model)
    g = torch.Generator().manual_seed(4)
    data = [(torch.randn(3, 3, 14, 14, generator=g), torch.randint(0, 4, (3,), generator=g)) for _ in range(2)]
    # SGD, not Adam: the convolution biases before batch norm get zero gradients up to
    # round-off, and Adam would turn that noise into +-lr steps (see trainer._check)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    torch_wasm_backend.save_training(model, F.cross_entropy, opt, data[0], tmp_path / "cnn.wasm")
    trainer = torch_wasm_backend.load(tmp_path / "cnn.wasm")
    reference.train()
    eager = eager_curve(reference, torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9), data, 6,
                        F.cross_entropy)
    torch.testing.assert_close(wasm_curve(trainer, data, 6), eager, atol=1e-4, rtol=1e-3)
    state = trainer.get_weights("buffer:")
    for name, buf in reference.named_buffers():
        np.testing.assert_allclose(state[f"buffer:{name}"], buf.numpy(), atol=1e-4, rtol=1e-3, err_msg=name)
    reference.eval()
    with torch.no_grad():
        torch.testing.assert_close(trainer(data[1][0]), reference(data[1][0]), atol=1e-4, rtol=1e-3)


def test_errors(tmp_path):
    model, data = mlp(), batches()
    with pytest.raises(SaveError, match="optimizer name"):
        torch_wasm_backend.save_training(model, "mse", {"name": "lbfgs"}, data[0], tmp_path / "x.wasm")
    with pytest.raises(SaveError, match="unknown setting"):
        torch_wasm_backend.save_training(model, "mse", {"name": "sgd", "lr": 0.1, "betas": 1}, data[0],
                                         tmp_path / "x.wasm")
    with pytest.raises(SaveError, match="inputs..., target"):
        torch_wasm_backend.save_training(model, "mse", {"name": "sgd"}, (data[0][0],), tmp_path / "x.wasm")
    with pytest.raises(SaveError, match="unknown loss"):
        torch_wasm_backend.save_training(model, "hinge", {"name": "sgd"}, data[0], tmp_path / "x.wasm")
    with pytest.raises(SaveError, match="not supported"):
        torch_wasm_backend.save_training(model, "mse", torch.optim.RMSprop(model.parameters()), data[0],
                                         tmp_path / "x.wasm")
    assert not (tmp_path / "x.wasm").exists()
    torch_wasm_backend.save_training(model, "mse", {"name": "sgd", "lr": 0.1}, data[0], tmp_path / "ok.wasm")
    trainer = torch_wasm_backend.load(tmp_path / "ok.wasm")
    before = trainer.get_weights()
    with pytest.raises(ArtifactError, match="train_step input 'target'"):
        trainer.train_step(data[0][0], data[0][1][:, :2])
    with pytest.raises(ArtifactError, match="unknown state"):
        trainer.set_weights({"param:nope": np.zeros(3)})
    with pytest.raises(ArtifactError, match="expected shape"):
        trainer.set_weights({"param:0.bias": np.zeros(21), "param:0.weight": np.zeros(3)})
    after = trainer.get_weights()
    assert all(np.array_equal(before[k], after[k]) for k in before), "a rejected call changed the state"


def test_node_trains_like_python(tmp_path):
    from tests.e2e.test_node import NODE, node_js

    if NODE is None:
        pytest.skip("node is not on PATH")
    model, data = mlp(), batches()
    path = tmp_path / "node.wasm"
    torch_wasm_backend.save_training(model, F.mse_loss, torch.optim.Adam(model.parameters(), lr=1e-2), data[0], path)
    (tmp_path / "data.json").write_text(json.dumps([[x.flatten().tolist(), y.flatten().tolist()] for x, y in data]))
    report = node_js("train_node.mjs", path, tmp_path / "data.json", 10)
    trainer = torch_wasm_backend.load(path)
    python_losses = wasm_curve(trainer, data, 10)
    # the same module in two engines: the same arithmetic, so the same bits
    assert report["losses"] == python_losses.tolist()
    np.testing.assert_array_equal(np.float32(report["bias"]), trainer.get_weights()["param:0.bias"])
    np.testing.assert_array_equal(np.float32(report["halved"]), trainer.get_weights()["param:0.bias"] / 2)
    assert report["names"] == trainer.state_names
    assert "expected 21 elements" in report["err"]
    trainer.set_weights({k: v / 2 for k, v in trainer.get_weights("param:").items()})
    np.testing.assert_array_equal(np.float32(report["out"]), trainer(data[0][0]).numpy().ravel())


def test_relaxed_simd_is_declared(tmp_path):
    """A trainer built with relaxed SIMD says so in its manifest (hosts must enable it);
    the default trainer uses none."""
    from torch_wasm_backend.trainer import build_training

    model, data = mlp(), batches()
    for relaxed in (False, True):
        built = build_training(model, "mse", {"name": "sgd", "lr": 0.1}, data[0], {"relaxed_simd": relaxed})
        code = "\n".join(line.split(";;")[0] for line in built.wat.splitlines())
        assert built.manifest["requires"]["relaxed_simd"] is relaxed
        assert ("relaxed_madd" in code) is relaxed
        trainer = torch_wasm_backend.load(built.wasm)
        x, y = data[0]
        with torch.no_grad():
            want = F.mse_loss(model(x), y).item()
        assert trainer.train_step(x, y) == pytest.approx(want, rel=1e-4)
