"""Adding a kernel kind is one entry per stage: every stage's table covers every kind
(``ir.KERNEL_KINDS``), and every kind says what it reads and writes."""

import pytest

from torch_wasm_backend import interp, ir, verify
from torch_wasm_backend.emit import kernels


@pytest.mark.parametrize("table", [verify._CHECKS, interp._RUN, kernels._EMIT], ids=["verify", "interp", "emit"])
def test_every_stage_handles_every_kernel_kind(table):
    assert set(table) == set(ir.KERNEL_KINDS)


@pytest.mark.parametrize("kind", ir.KERNEL_KINDS, ids=lambda k: k.__name__)
def test_every_kind_declares_reads_and_writes(kind):
    assert callable(getattr(kind, "reads", None)) and callable(getattr(kind, "writes", None))
