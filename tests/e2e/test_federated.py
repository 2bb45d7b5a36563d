"""Federated averaging with Flower (``torch_wasm_backend.federated``): Flower's simulation
engine (Ray) runs FedAvg over clients that each train their own copy of a trainer
artifact in WebAssembly, and the global model follows eager PyTorch FedAvg with the same
initial weights, shards, batch order and rounds. The client needs no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")  # read when flwr is imported: no usage reports from tests
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # silences Ray's FutureWarning about GPUs
pytest.importorskip("flwr", reason="Flower is not installed: pip install 'torch_wasm_backend[federated]'")
pytest.importorskip("ray", reason="Flower's simulation engine needs Ray: pip install 'torch_wasm_backend[federated]'")
pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn: "
                                      "pip install 'torch_wasm_backend[federated]'")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "federated"
sys.path.insert(0, str(EXAMPLE))
import fedavg_digits as fd

from torch_wasm_backend.federated import TrainerClient, simulate

CLIENTS, ROUNDS = 3, 3
# measured 2026-12-01 over 5 runs: 1.8e-7 to 3.0e-7 (absolute) between the WebAssembly and
# eager global weights after 3 rounds (float32 rounding of different op orders; Flower sums
# client results in arrival order); about 30x margin
ATOL, RTOL = 1e-5, 1e-4
# python -c programs: run a script with torch unimportable; import the module without flwr
WITHOUT_TORCH = ("import sys, runpy; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
                 "runpy.run_path(sys.argv[0], run_name='__main__')")
WITHOUT_FLWR = "import sys; sys.modules['flwr'] = None; import torch_wasm_backend.federated"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("federated") / "trainer.wasm"
    model = fd.mlp()
    fd.build_trainer(model, path)
    return model, path


def test_flower_simulation_matches_eager_fedavg(artifact):
    model, path = artifact
    shards, test = fd.digits(CLIENTS)
    assert len({len(s[0]) for s in shards}) == CLIENTS, "unequal shards: the weighting by shard size must matter"
    history = simulate(path, shards, test, rounds=ROUNDS, local_epochs=fd.LOCAL_EPOCHS)
    reference = fd.eager_fedavg(model, shards, ROUNDS)
    assert [h["round"] for h in history] == list(range(ROUNDS + 1))
    for h, want in zip(history, reference):
        assert sorted(h["weights"]) == sorted(want)
        for name in want:
            np.testing.assert_allclose(h["weights"][name], want[name], atol=ATOL, rtol=RTOL,
                                       err_msg=f"round {h['round']}: {name}")
    final = history[-1]["weights"]
    # the comparison can fail: an unweighted average, or one round fewer, is far outside it
    unweighted = fd.eager_fedavg(model, shards, ROUNDS, weighted=False)[-1]
    assert fd.max_difference(final, unweighted) > 100 * ATOL
    assert fd.max_difference(final, reference[-2]) > 100 * ATOL
    # the simulation ran in a process of its own: here a WebAssembly trap still raises (after
    # ray.init in this process, Ray's crash handler would turn it into a fatal SIGILL)
    import torch
    import torch.nn.functional as F

    from tests.e2e.helpers import compile_wasm

    with pytest.raises(Exception, match="unreachable|out of range"), torch.no_grad():
        compile_wasm(lambda w, i: F.embedding(i, w))(torch.randn(5, 3), torch.tensor([1, 7]))
    # sanity, not the main assertion: the federated model learned the digits
    assert history[0]["accuracy"] < 0.2
    assert history[-1]["accuracy"] > 0.8
    assert history[-1]["accuracy"] == pytest.approx(fd.eager_accuracy(model, reference[-1], test), abs=0.01)


def test_client_needs_no_torch(artifact, tmp_path):
    """The example's stand-alone client, in a fresh process where importing torch fails,
    trains one round exactly as the adapter does in this process."""
    _model, path = artifact
    shards, _test = fd.digits(CLIENTS)
    np.savez(tmp_path / "shard.npz", x=shards[1][0], y=shards[1][1])
    out = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(EXAMPLE / "client.py"), str(path),
                          str(tmp_path / "shard.npz"), "--seed", "7", "--out", str(tmp_path / "fit.npz")],
                         check=False, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["torch_imported"] is False
    client = TrainerClient(path, shards[1], seed=7, local_epochs=1)
    weights, n, metrics = client.fit(client.get_parameters({}), {"server_round": 1})
    assert report["num_examples"] == n == len(shards[1][0])
    assert report["train_loss"] == metrics["train_loss"]
    got = np.load(tmp_path / "fit.npz")
    for name, w in zip(client.names, weights):
        np.testing.assert_array_equal(got[name], w)


def test_errors(artifact):
    _model, path = artifact
    shards, _test = fd.digits(CLIENTS)
    x, y = shards[0]
    with pytest.raises(Exception, match="fewer than one batch of 32"):
        TrainerClient(path, (x[:5], y[:5]))
    with pytest.raises(Exception, match=r"should be \[N, 64\]"):
        TrainerClient(path, (x[:, :10], y))
    with pytest.raises(Exception, match="'target' is float64, the trainer takes int64"):
        TrainerClient(path, (x, y.astype(np.float64)))
    with pytest.raises(Exception, match="expected 2 arrays"):
        TrainerClient(path, (x,))
    client = TrainerClient(path, shards[0])
    with pytest.raises(Exception, match="the server sent 1 arrays; this trainer shares 4"):
        client.fit([np.zeros(3, np.float32)], {})
    with pytest.raises(Exception, match="no floating-point state name starts with"):
        TrainerClient(path, shards[0], share=("nothing:",))
    # without Flower the module says what to install
    out = subprocess.run([sys.executable, "-c", WITHOUT_FLWR], check=False, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0 and "pip install 'torch_wasm_backend[federated]'" in out.stderr


def test_batch_norm_and_momentum_state(tmp_path):
    """Buffers are exchanged, integer counters and optimizer state are not; fit trains
    (with momentum) from the weights the server sends."""
    import torch
    from torch import nn

    import torch_wasm_backend

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 10))
    path = tmp_path / "bn.wasm"
    torch_wasm_backend.save_training(model, "cross_entropy", {"name": "sgd", "lr": 0.1, "momentum": 0.9},
                                     (torch.rand(32, 64), torch.randint(0, 10, (32,))), path)
    shards, _test = fd.digits(CLIENTS)
    client = TrainerClient(path, shards[2], shards[1])
    assert client.names == ["param:0.weight", "param:0.bias", "param:1.weight", "param:1.bias", "param:3.weight",
                            "param:3.bias", "buffer:1.running_mean", "buffer:1.running_var"]
    start = client.get_parameters({})
    loss0, n, metrics0 = client.evaluate(start, {})
    weights, _n, fit_metrics = client.fit(start, {"server_round": 1, "local_epochs": 3})
    assert fit_metrics["steps"] == 3 * (len(shards[2][0]) // 32)
    assert not np.allclose(weights[6], start[6]), "the running mean should have moved"
    loss1, _n, metrics1 = client.evaluate(weights, {})
    assert n == 32 * (len(shards[1][0]) // 32)
    assert loss1 < 0.5 * loss0 and metrics1["accuracy"] > metrics0["accuracy"] + 0.3
    momentum = client.trainer.get_weights("optimizer:0.weight")
    assert np.abs(next(iter(momentum.values()))).max() > 0, "momentum is local state the client keeps"
