"""Optimizer updates as tensor code, traced into a trainable artifact's ``train_step``.

Each optimizer updates parameters and its state in place with the same arithmetic as
``torch.optim`` (single-tensor path), so a trainer artifact follows eager PyTorch's loss
curve. ``from_torch`` reads the hyper-parameters (and any state) of a ``torch.optim``
optimizer; a dict ``{"name": "sgd" | "adam" | "adamw", ...}`` works too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch


class OptimizerError(ValueError):
    pass


@dataclass(frozen=True)
class SGD:
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False

    def state_names(self) -> tuple:
        return ("momentum_buffer",) if self.momentum else ()

    def update(self, p, g, state: dict, step) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = state["momentum_buffer"]  # starts at zero: after one step it equals g, as in torch
            buf.mul_(self.momentum).add_(g)
            g = g + self.momentum * buf if self.nesterov else buf
        p.sub_(self.lr * g)


@dataclass(frozen=True)
class Adam:
    lr: float = 1e-3
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled: bool = False  # AdamW

    def state_names(self) -> tuple:
        return ("exp_avg", "exp_avg_sq")

    def update(self, p, g, state: dict, step) -> None:
        b1, b2 = self.betas
        if self.weight_decay and self.decoupled:
            p.mul_(1 - self.lr * self.weight_decay)
        elif self.weight_decay:
            g = g + self.weight_decay * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.add_((g - m) * (1 - b1))
        v.mul_(b2).add_(g * g * (1 - b2))
        # b ** step with a tensor step (the step count lives in the artifact's memory)
        bias1 = 1 - torch.exp(step * math.log(b1))
        bias2 = 1 - torch.exp(step * math.log(b2))
        denom = v.sqrt() / bias2.sqrt() + self.eps
        p.sub_(self.lr / bias1 * m / denom)


_KINDS = {"sgd": SGD, "adam": Adam, "adamw": Adam}


def from_config(config: dict):
    config = dict(config)
    name = str(config.pop("name", "")).lower()
    if name not in _KINDS:
        raise OptimizerError(f"optimizer name must be one of {sorted(_KINDS)}, got {name!r}")
    cls = _KINDS[name]
    known = {f.name for f in fields(cls)} - {"decoupled"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise OptimizerError(f"{name}: unknown setting(s) {unknown}; known: {sorted(known)}")
    if "betas" in config:
        config["betas"] = tuple(config["betas"])
    return cls(**config, decoupled=True) if name == "adamw" else cls(**config)


def from_torch(opt: torch.optim.Optimizer, params: list) -> tuple:
    """(optimizer, initial state {(param index, state name): tensor}, step) from a
    ``torch.optim`` optimizer over exactly ``params``."""
    if len(opt.param_groups) != 1:
        raise OptimizerError("one parameter group is supported (all parameters share the hyper-parameters)")
    group = opt.param_groups[0]
    if [id(p) for p in group["params"]] != [id(p) for p in params]:
        raise OptimizerError("the optimizer must hold exactly model.parameters(), in order")
    kind = type(opt).__name__.lower()
    if kind == "sgd":
        if group.get("dampening", 0):
            raise OptimizerError("SGD with dampening is not supported")
        if group.get("maximize"):
            raise OptimizerError("maximize=True is not supported")
        cfg = SGD(group["lr"], group["momentum"], group["weight_decay"], group["nesterov"])
    elif kind in ("adam", "adamw"):
        if group.get("amsgrad") or group.get("maximize"):
            raise OptimizerError("amsgrad and maximize are not supported")
        cfg = Adam(group["lr"], tuple(group["betas"]), group["eps"], group["weight_decay"], kind == "adamw")
    else:
        raise OptimizerError(f"{type(opt).__name__} is not supported (SGD, Adam and AdamW are)")
    state, step = {}, 0.0
    for i, p in enumerate(params):
        s = opt.state.get(p, {})
        for name in cfg.state_names():
            if s.get(name) is not None:
                state[i, name] = s[name].detach().clone()
        if "step" in s:
            step = float(s["step"])
    return cfg, state, step
