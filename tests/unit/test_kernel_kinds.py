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
    """emit.ops.VECTOR_OPS (what the scheduler vectorises) is derived from the vector op
    table: every op in it has vector WAT, on exactly the lane types it lists."""
    from torch_wasm_backend.emit import ops
    from torch_wasm_backend.emit.ops import VECTOR_OPS

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


def test_vector_table_refuses_what_it_does_not_list():
    from torch_wasm_backend.emit import ops

    for src, name in [("bool", "sign"), ("i32", "exp"), ("i32", "div"), ("f32", "not"), ("f32", "nosuchop")]:
        assert name not in ops.VECTOR_OPS[src]
        with pytest.raises(NotImplementedError):
            ops.vector(name, src, src, ["(a)", "(b)"], lambda _t: "$t")
