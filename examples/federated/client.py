"""A Flower client on another machine: numpy, wasmtime, flwr and the ``.wasm`` file; no torch.

As a ``ClientApp`` (``client:app``, run by a Flower SuperNode), each node reads its own
trainer file and data shard (an ``.npz`` with arrays ``x`` and ``y``) from its node config:

    flower-supernode --insecure --superlink SERVER:9092 \\
        --node-config "wasm='/data/trainer.wasm' data='/data/shard0.npz' seed=0"

As a script, one local round from the artifact's own weights, as a check that this
machine can train (prints a JSON line; ``--out`` writes the new weights as ``.npz``):

    python client.py trainer.wasm shard0.npz [--epochs 1] [--seed 0] [--out fit.npz]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from flwr.client import ClientApp

from torch_wasm_backend.federated import TrainerClient


def load_shard(path) -> tuple:
    with np.load(path) as data:
        return data["x"], data["y"]


def client_fn(context):
    cfg = context.node_config
    epochs = int(context.run_config.get("local-epochs", 1))
    return TrainerClient(cfg["wasm"], load_shard(cfg["data"]), local_epochs=epochs,
                         seed=int(cfg.get("seed", 0))).to_client()


app = ClientApp(client_fn=client_fn)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wasm")
    ap.add_argument("data", help=".npz with arrays x and y")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the trained weights here (.npz, by state name)")
    args = ap.parse_args()
    client = TrainerClient(args.wasm, load_shard(args.data), local_epochs=args.epochs, seed=args.seed)
    weights, n, metrics = client.fit(client.get_parameters({}), {"server_round": 1})
    if args.out:
        np.savez(args.out, **dict(zip(client.names, weights)))
    print(json.dumps({"num_examples": n, **metrics, "torch_imported": sys.modules.get("torch") is not None}))


if __name__ == "__main__":
    main()
