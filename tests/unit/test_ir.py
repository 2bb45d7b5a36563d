"""The IR itself: verify() rejects malformed programs, __str__ is readable, and the
numpy interpreter (the IR's specification) computes what the IR says."""

import numpy as np
import pytest
import sympy

from torch_wasm_backend import interp, ir
from torch_wasm_backend.indexing import FloorDiv, ModIndex, index_vars, reduction_vars, simplify

i0, i1 = index_vars(2)
(r0,) = reduction_vars(1)


def _prog(kernels, buffers=None, outputs=None):
    buffers = buffers or (ir.Buffer("x", "f32", sympy.Integer(6), "input"), ir.Buffer("y", "f32", sympy.Integer(6), "temp"))
    inputs = (ir.InputSpec("x", (2, 3), "f32"),)
    outputs = outputs or (ir.OutputSpec("y", (2, 3), (3, 1), sympy.Integer(0), "f32"),)
    return ir.Program(tuple(buffers), tuple(kernels), inputs, outputs)


def _neg_kernel(**kw):
    fields = dict(name="k0", out="y", out_index=3 * i0 + i1, ranges=(2, 3),
                  body=ir.Op("neg", (ir.Load("x", 3 * i0 + i1, "f32"),), "f32"))
    fields.update(kw)
    return ir.Pointwise(**fields)


def test_valid_program_verifies_and_prints():
    prog = _prog([_neg_kernel()])
    prog.verify()
    text = str(prog)
    assert "k0: pointwise [i0<2, i1<3]" in text
    assert "y[3*i0 + i1] = neg(x[3*i0 + i1]):f32" in text


@pytest.mark.parametrize("bad, message", [
    (dict(out="nope"), "unknown output buffer"),
    (dict(out="x"), "read-only"),
    (dict(body=ir.Load("y", i0, "f32")), "before anything writes it"),
    (dict(body=ir.Load("x", i0, "i32")), "buffer is f32"),
    (dict(body=ir.Op("add", (ir.Load("x", i0, "f32"),), "f32")), "takes 2 args"),
    (dict(body=ir.Op("lt", (ir.Const(1.0, "f32"), ir.Const(2.0, "f32")), "f32")), "must give bool"),
    (dict(body=ir.Op("add", (ir.Const(1.0, "f32"), ir.Const(2, "i32")), "f32")), "share its dtype"),
    (dict(body=ir.Load("x", r0, "f32")), "unbound symbols"),
    (dict(body=ir.Op("frobnicate", (ir.Const(1.0, "f32"),), "f32")), "unknown op"),
])
def test_verify_rejects(bad, message):
    with pytest.raises(ir.IRError, match=message):
        _prog([_neg_kernel(**bad)]).verify()


def test_verify_rejects_duplicate_kernel_names():
    with pytest.raises(ir.IRError, match="duplicate kernel"):
        _prog([_neg_kernel(), _neg_kernel()]).verify()


def test_interp_pointwise_and_strided_output():
    prog = _prog([_neg_kernel()], outputs=(ir.OutputSpec("y", (3, 2), (1, 3), sympy.Integer(0), "f32"),))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = interp.run(prog, [x])
    np.testing.assert_array_equal(out, -x.T)


def test_interp_reduce_argmax_prefers_first_nan():
    bufs = (ir.Buffer("x", "f32", sympy.Integer(6), "input"), ir.Buffer("y", "i64", sympy.Integer(2), "temp"))
    k = ir.Reduce("r", "y", i0, (2,), (3,), "argmax", ir.Load("x", 3 * i0 + r0, "f32"))
    prog = _prog([k], bufs, (ir.OutputSpec("y", (2,), (1,), sympy.Integer(0), "i64"),))
    x = np.array([[1, 5, 5], [2, np.nan, np.nan]], dtype=np.float32)
    (out,) = interp.run(prog, [x])
    np.testing.assert_array_equal(out, [1, 1])


def test_interp_gemm_with_bias():
    bufs = (ir.Buffer("x", "f32", sympy.Integer(6), "input"), ir.Buffer("b", "f32", sympy.Integer(2), "const"),
            ir.Buffer("y", "f32", sympy.Integer(4), "temp"))
    k = ir.Gemm("g", ir.Operand("x", 0, 0, 3, 1), ir.Operand("x", 0, 0, 1, 1), ir.Operand("y", 0, 0, 2, 1),
                1, 2, 2, 3, bias="b", bias_axis=1)
    prog = ir.Program(bufs, (k,), (ir.InputSpec("x", (2, 3), "f32"),),
                      (ir.OutputSpec("y", (2, 2), (2, 1), sympy.Integer(0), "f32"),),
                      {"b": np.array([10, 20], dtype=np.float32)})
    prog.verify()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = interp.run(prog, [x])
    # B[k, j] = x.flat[k + j]: a Hankel-like view of the same buffer
    b = np.array([[x.flat[k + j] for j in range(2)] for k in range(3)])
    np.testing.assert_allclose(out, x @ b + [10, 20])


def test_simplify_removes_exact_division():
    # a reshape of a contiguous (4, 6) tensor to (24,) and back is the identity
    flat = 6 * i0 + i1
    ranges = {i0: 4, i1: 6}
    assert simplify(FloorDiv(flat, 6), ranges) == i0
    assert simplify(ModIndex(flat, 6), ranges) == i1
    # but not when the range does not allow it
    assert simplify(ModIndex(i1, 4), ranges) == ModIndex(i1, 4)
    assert simplify(FloorDiv(12 * i0 + i1, 4), ranges) == 3 * i0 + FloorDiv(i1, 4)
