"""One training step (forward, loss, backward, optimizer update) of the MLP 784-512-512-10
at batch 32 with SGD + momentum, three ways in the same benchmark group:

* ``eager``: PyTorch, one thread;
* ``wasm``: ``torch.compile(model, backend="wasm")`` (forward and backward graphs run as
  WebAssembly; the optimizer step and the loss run in eager PyTorch);
* ``trainer``: the trainable artifact's ``train_step`` (everything inside WebAssembly).

    python -m pytest benchmarks/test_training_bench.py -q --benchmark-only

No timing is asserted; each variant's loss after the timed steps is checked against eager
running the same number of steps.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import torch_wasm_backend
from models import MLP

ROUNDS = 60


def _setup():
    torch.manual_seed(0)
    model = MLP()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 784, generator=g), torch.randint(0, 10, (32,), generator=g)
    return model, x, y


def _opt(params):
    return torch.optim.SGD(params, lr=0.01, momentum=0.9)


def _eager_losses(model, x, y, steps):
    opt = _opt(model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.benchmark(group="train_step_mlp")
@pytest.mark.parametrize("variant", ["eager", "wasm", "trainer"])
def test_train_step(benchmark, single_thread, variant, tmp_path):
    model, x, y = _setup()
    reference = copy.deepcopy(model)
    benchmark.extra_info.update(model="mlp_train_step", backend=variant, input=[32, 784],
                                threads=torch.get_num_threads())
    losses = []
    if variant == "trainer":
        path = tmp_path / "trainer.wasm"
        torch_wasm_backend.save_training(model, F.cross_entropy, _opt(model.parameters()), (x, y), path)
        trainer = torch_wasm_backend.load(path)

        def step():
            losses.append(trainer.train_step(x, y))
    else:
        net = model if variant == "eager" else torch.compile(model, backend="wasm", options={"strict": True})
        opt = _opt(model.parameters())

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())

    benchmark.pedantic(step, rounds=ROUNDS, warmup_rounds=3)
    want = _eager_losses(reference, x, y, len(losses))
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(want), atol=1e-4, rtol=1e-3)
