"""Federated learning with Flower on a trainer artifact (``save_training``).

A trainer artifact already is what a federated client needs: ``train_step`` (one local
step inside WebAssembly), ``get_weights`` and ``set_weights`` by the manifest's state
names. ``TrainerClient`` is a Flower ``NumPyClient`` over it:

- the parameters exchanged with the server are the floating-point state tensors whose
  names start with one of ``share`` (default: the model's parameters and buffers, not the
  optimizer state), as a list in manifest order (``TrainerClient.names``);
- ``fit`` writes the global weights, runs ``local_epochs`` epochs of ``train_step`` over
  the client's shard and returns the new weights with the shard size (FedAvg weights the
  average by it). A trainer has static shapes, so an epoch is ``len(shard) // batch``
  full batches in the order ``numpy.random.default_rng([seed, server_round, epoch])
  .permutation(len(shard))``; the remainder of that order is skipped in that epoch;
- ``evaluate`` returns the artifact's own loss (a ``train_step`` whose update is undone
  by writing the whole state back) and, for integer class targets, the accuracy of the
  eval-mode forward, over full batches.

A client is numpy, a WebAssembly engine and the ``.wasm`` file: this module never imports
torch (torch is needed only to build the artifact). ``ClientFactory`` is the picklable
``client_fn`` of a ``ClientApp``: each (simulated or real) client loads its own copy of the
file and picks its shard by ``partition-id``. ``ServerEvaluator`` is a FedAvg
``evaluate_fn`` that evaluates the global weights on the server with another copy of the
artifact and records them per round. ``simulate`` runs Flower's simulation engine (Ray)
with FedAvg and returns that record.

flwr is an optional dependency: ``pip install torch_wasm_backend[federated]``.
"""

from __future__ import annotations

import numpy as np

from .runtime.artifact import ArtifactError, LoadedTrainer, load

try:
    from flwr.client import ClientApp, NumPyClient
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(f"torch_wasm_backend.federated needs Flower ({e}); install it with "
                      f"pip install 'torch_wasm_backend[federated]'") from None

SHARE = ("param:", "buffer:")


def _load(trainer) -> LoadedTrainer:
    t = trainer if isinstance(trainer, LoadedTrainer) else load(trainer)
    if not isinstance(t, LoadedTrainer):
        raise ArtifactError("a federated client needs a trainer artifact (made by save_training), "
                            "got an inference artifact")
    return t


def shared_names(trainer: LoadedTrainer, share=SHARE) -> list:
    """The state names exchanged with the server, in manifest order: floating-point state
    whose name starts with one of ``share``. Integer state (batch norm's
    ``num_batches_tracked``) stays local: an average of counters means nothing, and FedAvg's
    in-place average would truncate it."""
    names = [s["name"] for s in trainer.manifest["state"]
             if s["name"].startswith(tuple(share)) and s["dtype"].startswith(("float", "bfloat"))]
    if not names:
        raise ArtifactError(f"no floating-point state name starts with {list(share)}; the trainer has "
                            f"{trainer.state_names}")
    return names


def _check_data(trainer: LoadedTrainer, data, what: str) -> tuple:
    specs = trainer.manifest["train_step"]["inputs"]
    arrays = tuple(np.asarray(a) for a in data)
    if len(arrays) != len(specs):
        raise ArtifactError(f"{what}: expected {len(specs)} arrays ({', '.join(s['name'] for s in specs)}), "
                            f"got {len(arrays)}")
    batch = specs[0]["shape"][0]
    n = len(arrays[0])
    for a, s in zip(arrays, specs):
        if list(a.shape[1:]) != s["shape"][1:] or len(a) != n:
            raise ArtifactError(f"{what}: {s['name']!r} should be [N, {', '.join(map(str, s['shape'][1:]))}] "
                                f"with the same N for every array, got {list(a.shape)}")
    if n < batch:
        raise ArtifactError(f"{what}: {n} examples, fewer than one batch of {batch} (the trainer's static batch "
                            f"size); give each client at least {batch}")
    for a, s in zip(arrays, specs):
        if not np.can_cast(a.dtype, np.dtype(s["dtype"]), casting="same_kind"):
            raise ArtifactError(f"{what}: {s['name']!r} is {a.dtype}, the trainer takes {s['dtype']} "
                                f"(convert it with .astype first)")
    return tuple(a.astype(np.dtype(s["dtype"]), copy=False) for a, s in zip(arrays, specs))


def _batches(data: tuple, batch: int, order=None):
    n = len(data[0])
    order = np.arange(n) if order is None else order
    for start in range(0, n - batch + 1, batch):
        idx = order[start:start + batch]
        yield tuple(a[idx] for a in data)


def evaluate_trainer(trainer: LoadedTrainer, data: tuple) -> tuple:
    """``(loss, n, metrics)`` of the trainer's current weights on ``data`` (full batches):
    the artifact's own loss (train steps undone by restoring the whole state) and, when the
    target is a vector of integer classes, the eval forward's ``accuracy``."""
    batch = trainer.manifest["train_step"]["inputs"][0]["shape"][0]
    classes = data[-1].ndim == 1 and np.issubdtype(data[-1].dtype, np.integer)
    state = trainer.get_weights()
    losses, correct, n = [], 0, 0
    try:
        for b in _batches(data, batch):
            if classes:
                correct += int((trainer.run_flat(*b[:-1])[0].argmax(axis=-1) == b[-1]).sum())
            losses.append(trainer.train_step(*b))
            trainer.set_weights(state)  # undo the update before the next batch
            n += batch
    finally:
        trainer.set_weights(state)
    return float(np.mean(losses)), n, ({"accuracy": correct / n} if classes else {})


class TrainerClient(NumPyClient):
    """A Flower ``NumPyClient`` training a trainer artifact on one data shard.

    ``trainer``: a ``LoadedTrainer`` or a path / bytes of a trainer ``.wasm`` (loaded here,
    so this client has its own instance). ``train`` and ``test``: ``(inputs..., target)``
    numpy arrays with the examples along the first axis. ``config`` sent by the server may
    override ``local_epochs``."""

    def __init__(self, trainer, train, test=None, *, local_epochs: int = 1, seed: int = 0, share=SHARE):
        self.trainer = _load(trainer)
        self.names = shared_names(self.trainer, share)
        self.batch = self.trainer.manifest["train_step"]["inputs"][0]["shape"][0]
        self.train = _check_data(self.trainer, train, "train data")
        self.test = None if test is None else _check_data(self.trainer, test, "test data")
        self.local_epochs, self.seed = int(local_epochs), int(seed)

    def _set(self, parameters) -> None:
        if len(parameters) != len(self.names):
            raise ArtifactError(f"the server sent {len(parameters)} arrays; this trainer shares {len(self.names)} "
                                f"({', '.join(self.names)}): do the server and client use the same artifact?")
        self.trainer.set_weights(dict(zip(self.names, parameters)))

    def get_parameters(self, config):
        weights = self.trainer.get_weights()
        return [weights[n] for n in self.names]

    def fit(self, parameters, config):
        self._set(parameters)
        server_round = int(config.get("server_round", 0))
        n = len(self.train[0])
        losses = []
        for epoch in range(int(config.get("local_epochs", self.local_epochs))):
            order = np.random.default_rng([self.seed, server_round, epoch]).permutation(n)
            losses += [self.trainer.train_step(*b) for b in _batches(self.train, self.batch, order)]
        mean = float(np.mean(losses)) if losses else float("nan")  # local_epochs=0: nothing trained
        return self.get_parameters({}), n, {"train_loss": mean, "steps": len(losses)}

    def evaluate(self, parameters, config):
        self._set(parameters)
        return evaluate_trainer(self.trainer, self.test if self.test is not None else self.train)


class ClientFactory:
    """A picklable ``client_fn(context)`` for ``ClientApp``: client ``partition-id`` k (from
    the node config; a real SuperNode sets it with ``--node-config "partition-id=k"``) loads
    its own copy of the artifact at ``path`` and trains on ``shards[k]`` (and evaluates on
    ``test_shards[k]``) with seed ``seed + k``."""

    def __init__(self, path, shards, test_shards=None, *, local_epochs: int = 1, seed: int = 0, share=SHARE):
        self.path, self.shards, self.test_shards = str(path), list(shards), test_shards
        self.local_epochs, self.seed, self.share = local_epochs, seed, tuple(share)

    def __call__(self, context):
        k = int(context.node_config.get("partition-id", 0))
        if not 0 <= k < len(self.shards):
            raise ArtifactError(f"partition-id {k} is out of range: there are {len(self.shards)} shards")
        test = None if self.test_shards is None else self.test_shards[k]
        return TrainerClient(self.path, self.shards[k], test, local_epochs=self.local_epochs,
                             seed=self.seed + k, share=self.share).to_client()


class ServerEvaluator:
    """A FedAvg ``evaluate_fn``: evaluates the global weights of each round (round 0: the
    initial ones) on ``data`` with the server's own copy of the artifact and appends
    ``{"round", "weights", "loss", **metrics}`` to ``self.history``."""

    def __init__(self, trainer, data, share=SHARE):
        self.trainer = _load(trainer)
        self.names = shared_names(self.trainer, share)
        self.data = _check_data(self.trainer, data, "server evaluation data")
        self.history = []

    def __call__(self, server_round, parameters, config):
        weights = dict(zip(self.names, (np.array(p) for p in parameters)))
        self.trainer.set_weights(weights)
        loss, _n, metrics = evaluate_trainer(self.trainer, self.data)
        self.history.append({"round": server_round, "weights": weights, "loss": loss, **metrics})
        return loss, metrics


def simulate(path, shards, test, *, rounds: int = 3, local_epochs: int = 1, seed: int = 0, share=SHARE,
             num_cpus: int = 2, cpus_per_client: float = 1, verbose: bool = False, isolate: bool = True) -> list:
    """Run Flower's simulation engine (Ray) with FedAvg over ``len(shards)`` clients, each
    training its own copy of the artifact at ``path`` on its shard; every client takes part
    in every round and a failing client fails the run. Returns ``ServerEvaluator.history``
    (the global weights and their loss/accuracy on ``test`` after each round).

    ``isolate`` (default) runs the simulation in a fresh (spawned) process: ``ray.init``
    replaces the process's SIGILL/SIGSEGV/SIGFPE handlers with its crash reporter, after which
    a WebAssembly trap (which wasmtime raises through those signals) kills the process
    instead of raising ``WasmTrap``; it also sets PYTHONPATH and RAY_* variables."""
    kwargs = {"rounds": rounds, "local_epochs": local_epochs, "seed": seed, "share": tuple(share),
              "num_cpus": num_cpus, "cpus_per_client": cpus_per_client, "verbose": verbose}
    if not isolate:
        return _simulate(str(path), list(shards), test, **kwargs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_simulate, str(path), list(shards), test, **kwargs).result()


def _simulate(path, shards, test, *, rounds, local_epochs, seed, share, num_cpus, cpus_per_client, verbose) -> list:
    from flwr.common import ndarrays_to_parameters
    from flwr.server import ServerApp, ServerAppComponents, ServerConfig
    from flwr.server.strategy import FedAvg
    from flwr.simulation import run_simulation

    evaluator = ServerEvaluator(path, test, share)
    initial = TrainerClient(path, shards[0], share=share).get_parameters({})
    n = len(shards)

    def server_fn(context):
        strategy = FedAvg(fraction_fit=1.0, min_fit_clients=n, min_available_clients=n, fraction_evaluate=0.0,
                          accept_failures=False, evaluate_fn=evaluator,
                          on_fit_config_fn=lambda r: {"server_round": r, "local_epochs": local_epochs},
                          initial_parameters=ndarrays_to_parameters(initial))
        return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=rounds))

    client_app = ClientApp(client_fn=ClientFactory(path, shards, local_epochs=local_epochs, seed=seed, share=share))
    backend = {"client_resources": {"num_cpus": cpus_per_client, "num_gpus": 0.0},
               "init_args": {"num_cpus": num_cpus, "include_dashboard": False}}
    run_simulation(ServerApp(server_fn=server_fn), client_app, num_supernodes=n, backend_config=backend,
                   verbose_logging=verbose)
    if len(evaluator.history) != rounds + 1:
        raise RuntimeError(f"the simulation ran {len(evaluator.history) - 1} of {rounds} rounds (see Flower's log)")
    return evaluator.history
