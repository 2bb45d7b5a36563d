"""Federated averaging with Flower on a WebAssembly trainer: scikit-learn's digits.

Builds a trainer artifact for a 64-32-10 MLP (plain SGD, so the only state clients train
is the parameters), splits the digits (bundled with scikit-learn: no download) into a
held-out test set and unequal client shards, runs Flower's simulation engine (Ray) with
FedAvg, each client training its own copy of the ``.wasm`` file in WebAssembly, and checks
the global model against eager PyTorch FedAvg with the same initial weights, shards,
batch order and rounds.

    python examples/federated/fedavg_digits.py [--clients 3] [--rounds 3] [--out DIR]
    python examples/federated/fedavg_digits.py --prepare --clients 2 --out DIR   # files for a deployment

The functions are also used by ``tests/e2e/test_federated.py``.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BATCH = 32
LR = 0.3
LOCAL_EPOCHS = 2


def digits(n_clients: int, n_test: int = 10 * BATCH, seed: int = 0):
    """``(shards, test)``: numpy ``(x float32 [N, 64] in [0, 1], y int64 [N])`` pairs; the
    shards have unequal sizes (in proportion 1, 2, ..., n_clients), so that FedAvg's
    weighting by shard size matters."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = (x[order] / 16).astype(np.float32), y[order].astype(np.int64)
    test = (x[-n_test:], y[-n_test:])
    x, y = x[:-n_test], y[:-n_test]
    cuts = np.cumsum(np.arange(1, n_clients + 1))
    bounds = np.concatenate([[0], (cuts / cuts[-1] * len(x)).astype(int)])
    return [(x[a:b], y[a:b]) for a, b in itertools.pairwise(bounds)], test


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def build_trainer(model: nn.Module, path) -> dict:
    """Write the trainer artifact (the only step that needs torch); returns its manifest."""
    import torch_wasm_backend

    x, y = torch.zeros(BATCH, 64), torch.zeros(BATCH, dtype=torch.long)
    return torch_wasm_backend.save_training(copy.deepcopy(model), F.cross_entropy,
                                            {"name": "sgd", "lr": LR}, (x, y), path)


def eager_fedavg(model: nn.Module, shards, rounds: int, local_epochs: int = LOCAL_EPOCHS, seed: int = 0,
                 weighted: bool = True) -> list:
    """The reference: FedAvg in eager PyTorch, the global parameters after each round
    (round 0: the initial ones) as ``{"param:<name>": ndarray}``. Client k runs
    ``torch.optim.SGD`` over full batches in the order
    ``default_rng([seed + k, round, epoch]).permutation(len(shard))``; the average is
    weighted by shard size (in float64), or plain (``weighted=False``, to show that the
    weighting matters)."""
    global_w = {n: p.detach().clone() for n, p in model.named_parameters()}
    history = [{f"param:{n}": p.numpy().copy() for n, p in global_w.items()}]
    for server_round in range(1, rounds + 1):
        results = []
        for k, (x, y) in enumerate(shards):
            local = copy.deepcopy(model)
            with torch.no_grad():
                for n, p in local.named_parameters():
                    p.copy_(global_w[n])
            opt = torch.optim.SGD(local.parameters(), lr=LR)
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)
            for epoch in range(local_epochs):
                order = np.random.default_rng([seed + k, server_round, epoch]).permutation(len(x))
                for start in range(0, len(x) - BATCH + 1, BATCH):
                    idx = torch.from_numpy(order[start:start + BATCH])
                    opt.zero_grad()
                    F.cross_entropy(local(xt[idx]), yt[idx]).backward()
                    opt.step()
            results.append(({n: p.detach().double() for n, p in local.named_parameters()}, len(x) if weighted else 1))
        total = sum(m for _, m in results)
        global_w = {n: (sum(w[n] * m for w, m in results) / total).float() for n in global_w}
        history.append({f"param:{n}": p.numpy().copy() for n, p in global_w.items()})
    return history


def eager_accuracy(model: nn.Module, weights: dict, test) -> float:
    model = copy.deepcopy(model)
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.from_numpy(weights[f"param:{n}"]))
        return (model(torch.from_numpy(test[0])).argmax(1).numpy() == test[1]).mean().item()


def max_difference(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="directory for trainer.wasm (default: a temporary one)")
    ap.add_argument("--prepare", action="store_true",
                    help="only write trainer.wasm, shard<k>.npz and test.npz to --out (for a real deployment)")
    args = ap.parse_args()
    from torch_wasm_backend.federated import simulate

    out = args.out or Path(tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    path = out / "trainer.wasm"
    model = mlp()
    build_trainer(model, path)
    shards, test = digits(args.clients)
    print(f"{path}: {path.stat().st_size} bytes; shards {[len(s[0]) for s in shards]}, test {len(test[0])}")
    if args.prepare:
        for k, (x, y) in enumerate(shards):
            np.savez(out / f"shard{k}.npz", x=x, y=y)
        np.savez(out / "test.npz", x=test[0], y=test[1])
        print(f"wrote {out}/shard0..{len(shards) - 1}.npz and test.npz")
        return
    t0 = time.perf_counter()
    history = simulate(path, shards, test, rounds=args.rounds, local_epochs=LOCAL_EPOCHS)
    seconds = time.perf_counter() - t0
    reference = eager_fedavg(model, shards, args.rounds)
    print("round  wasm loss  wasm accuracy  eager accuracy  max |wasm - eager| weight")
    for h, ref in zip(history, reference):
        print(f"{h['round']:5d}  {h['loss']:9.4f}  {h['accuracy']:13.3f}  {eager_accuracy(model, ref, test):14.3f}"
              f"  {max_difference(h['weights'], ref):.2e}")
    print(f"simulation: {args.clients} clients, {args.rounds} rounds in {seconds:.1f} s (Ray start included)")


if __name__ == "__main__":
    main()
