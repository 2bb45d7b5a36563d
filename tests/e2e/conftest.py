"""Shared setup for end-to-end tests (helpers live in ``tests/e2e/helpers.py``; import them
as ``from tests.e2e.helpers import check``)."""

from __future__ import annotations

import os
import sys

import pytest
import torch

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:  # make ``tests.e2e.helpers`` importable however pytest is started
    sys.path.insert(0, _ROOT)


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    """Each test starts from a clean Dynamo cache and a fixed seed."""
    torch.manual_seed(0)
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.fixture
def compiled_graphs(monkeypatch):
    """Every ``CompiledGraph`` built during the test, in order: proof that code really ran
    as WebAssembly (a fallback to eager builds none)."""
    import torch_wasm_backend.compiled as compiled

    made = []
    real = compiled.CompiledGraph.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(compiled.CompiledGraph, "__init__", spy)
    return made
