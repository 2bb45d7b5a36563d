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


def test_vectorised_ops_have_vector_wat():
    """schedule.VECTOR_OPS (what the scheduler vectorises) and emit.ops.vector (what the
    emitter can write) are kept in step: every op the scheduler vectorises has vector WAT."""
    from torch_wasm_backend.emit import ops
    from torch_wasm_backend.schedule import VECTOR_OPS

    def tmp(_type):
        return "$t"

    missing = []
    for src, names in VECTOR_OPS.items():
        for name in sorted(names):
            arity = 1 if name in ir.UNARY_OPS or name == "cast" else 3 if name == "where" else 2
            try:
                ops.vector(name, src, "f32" if name == "cast" and src != "f32" else src, ["(a)"] * arity, tmp)
            except NotImplementedError:
                missing.append((src, name))
    assert not missing, f"VECTOR_OPS lists ops without vector WAT: {missing}"
