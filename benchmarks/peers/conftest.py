"""The peer benchmarks (``test_peers.py``) are opt-in.

They take a few minutes and need Node, npm (onnxruntime-web is installed into
``benchmarks/peers/node_modules`` on first use) and the benchmark-only Python requirements
(``pip install -r benchmarks/requirements.txt``). So ``python -m pytest benchmarks`` keeps
running the main suite only, and skips them with a reason; they run when this directory (or
a file in it) is named on the command line, or with ``TORCH_WASM_BENCH_PEERS=1``::

    python -m pytest benchmarks/peers -q --benchmark-only --benchmark-json=/tmp/peers.json
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
OPT_IN_ENV = "TORCH_WASM_BENCH_PEERS"


def _named_on_command_line(config) -> bool:
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    if os.environ.get(OPT_IN_ENV) == "1" or _named_on_command_line(config):
        return
    skip = pytest.mark.skip(reason=f"peer benchmarks are opt-in: name benchmarks/peers on the command line "
                                   f"or set {OPT_IN_ENV}=1")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
