"""The Flower server side of a real deployment: a ``ServerApp`` running FedAvg over
trainer-artifact clients (``client.py``), started by ``flwr run`` on a SuperLink.

The server needs the same ``.wasm`` file as the clients (for the initial weights, and to
evaluate the global model on ``test-data`` when that run-config key names an ``.npz``
with arrays ``x`` and ``y``). Paths and numbers come from the run config
(``pyproject.toml``'s ``[tool.flwr.app.config]``, overridden with ``flwr run -c``).
"""

from __future__ import annotations

import numpy as np
from flwr.common import ndarrays_to_parameters
from flwr.server import ServerApp, ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg

from torch_wasm_backend import load
from torch_wasm_backend.federated import ServerEvaluator, shared_names


def server_fn(context):
    cfg = context.run_config
    trainer = load(cfg["wasm"])
    weights = trainer.get_weights()
    initial = [weights[n] for n in shared_names(trainer)]
    evaluator = None
    if cfg.get("test-data"):
        with np.load(cfg["test-data"]) as data:
            evaluator = ServerEvaluator(trainer, (data["x"], data["y"]))
    n = int(cfg["min-clients"])
    epochs = int(cfg["local-epochs"])
    strategy = FedAvg(fraction_fit=1.0, min_fit_clients=n, min_available_clients=n, fraction_evaluate=0.0,
                      accept_failures=False, evaluate_fn=evaluator,
                      on_fit_config_fn=lambda r: {"server_round": r, "local_epochs": epochs},
                      initial_parameters=ndarrays_to_parameters(initial))
    return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=int(cfg["num-server-rounds"])))


app = ServerApp(server_fn=server_fn)
