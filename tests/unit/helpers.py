"""Helpers for toolchain-free stage tests: ATen graphs from make_fx, lowered to the IR."""

import torch
from torch.fx.experimental.proxy_tensor import make_fx

from torch_wasm_backend.decompositions import decompositions
from torch_wasm_backend.lower import lower_graph


def aten_graph(fn, *inputs):
    with torch.no_grad():
        return make_fx(fn, decomposition_table=decompositions(), tracing_mode="fake")(*inputs)


def lower_fn(fn, *inputs):
    """The IR program for ``fn`` on ``inputs`` (every input is a graph input)."""
    return lower_graph(aten_graph(fn, *inputs), inputs)


def flat_outputs(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]
