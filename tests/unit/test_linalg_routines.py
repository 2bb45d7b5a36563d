"""The numpy meaning of ``ir.MatrixCall``'s routines (``matrix_routines.ROUTINES``, the spec the WAT
routines of csrc/wat/linalg_f32.wat follow step for step) against LAPACK in float64 (scipy),
and ``verify`` on malformed MatrixCalls. No toolchain: milliseconds."""

from __future__ import annotations

import numpy as np
import pytest

from torch_wasm_backend import ir, matrix_routines
from torch_wasm_backend.errors import IRError

# LAPACK in float64 (scipy comes with scikit-learn, the federated extra)
scipy_linalg = pytest.importorskip("scipy.linalg")

RNG = np.random.default_rng(0)


def _lu(a):
    m, n = a.shape
    out = matrix_routines.ROUTINES["lu"]([a], m, n)
    k = min(m, n)
    return out[: m * n].reshape(m, n), out[m * n : m * n + k], out[m * n + k :]


@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (9, 9), (3, 6), (6, 3)])
def test_lu_is_lapacks_getrf(shape):
    a = RNG.standard_normal(shape)
    lu, piv, tail = _lu(a)
    want_lu, want_piv = scipy_linalg.lu_factor(a) if shape[0] == shape[1] else _getrf(a)
    np.testing.assert_array_equal(piv, want_piv + 1)  # torch's pivots are 1-based
    np.testing.assert_allclose(lu, want_lu, rtol=1e-12, atol=1e-12)
    assert tail[0] == 0  # info
    if shape[0] == shape[1]:
        sign, logabs = np.linalg.slogdet(a)
        assert tail[1] == sign
        np.testing.assert_allclose(tail[2:], [logabs, np.linalg.det(a)], rtol=1e-12)


def _getrf(a):
    (getrf,) = scipy_linalg.get_lapack_funcs(("getrf",), (a,))
    lu, piv, _ = getrf(a)
    return lu, piv


def test_zero_pivot_sets_info_and_keeps_going():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    lu, piv, tail = _lu(a)
    want_lu, want_piv = _getrf(a)
    (getrf,) = scipy_linalg.get_lapack_funcs(("getrf",), (a,))
    assert tail[0] == getrf(a)[2] == 3  # the 1-based position of the first zero pivot
    np.testing.assert_array_equal(piv, want_piv + 1)
    np.testing.assert_allclose(lu, want_lu, atol=1e-15)
    assert tail[1] == 0 and tail[2] == -np.inf and tail[3] == 0  # sign, log|det|, det


@pytest.mark.parametrize("adjoint", [0, 1])
def test_lu_solve(adjoint):
    a, b = RNG.standard_normal((6, 6)), RNG.standard_normal((6, 2))
    lu, piv, _ = _lu(a)
    x = matrix_routines.ROUTINES["lu_solve"]([lu, piv.reshape(1, -1), b], 6, 2, adjoint).reshape(6, 2)
    np.testing.assert_allclose((a.T if adjoint else a) @ x, b, atol=1e-12)


def test_lu_perm_is_the_p_of_p_l_u():
    a = RNG.standard_normal((5, 5))
    _, piv, _ = _lu(a)
    perm = matrix_routines.ROUTINES["lu_perm"]([piv.reshape(1, -1)], 5, 5).astype(int)
    p = np.zeros((5, 5))
    p[perm, np.arange(5)] = 1
    np.testing.assert_array_equal(p, scipy_linalg.lu(a)[0])


def test_cholesky_and_not_positive_definite():
    g = RNG.standard_normal((7, 7))
    s = g @ g.T + np.eye(7)
    out = matrix_routines.ROUTINES["cholesky"]([np.triu(s, 1) * 99 + np.tril(s)], 7)  # reads the lower triangle only
    np.testing.assert_allclose(out[:49].reshape(7, 7), np.linalg.cholesky(s), rtol=1e-12)
    assert out[49] == 0
    bad = np.diag([1.0, 2.0, -1.0, 4.0])
    (potrf,) = scipy_linalg.get_lapack_funcs(("potrf",), (bad,))
    assert matrix_routines.ROUTINES["cholesky"]([bad], 4)[16] == potrf(bad, lower=True)[1] == 3


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("unit", [0, 1])
def test_trsm(upper, unit):
    t, b = RNG.standard_normal((5, 5)) + 4 * np.eye(5), RNG.standard_normal((5, 3))
    x = matrix_routines.ROUTINES["trsm"]([t, b], 5, 3, upper, unit).reshape(5, 3)
    want = scipy_linalg.solve_triangular(t, b, lower=not upper, unit_diagonal=bool(unit))
    np.testing.assert_allclose(x, want, rtol=1e-12)


def _prog(call, out_floats):
    bufs = (ir.Buffer("a", "f32", 16, "input"), ir.Buffer("o", "f32", out_floats, "temp"))
    return ir.Program(bufs, (call,), (ir.InputSpec("a", (4, 4), "f32"),), ())


def test_verify_matrix_calls():
    a = ir.Operand("a", 0, 0, 4, 1)
    good = ir.MatrixCall("m", "cholesky", (a,), "o", 1, (4,))
    _prog(good, good.out_floats()).verify()
    with pytest.raises(IRError, match="holds"):
        _prog(good, good.out_floats() - 1).verify()
    with pytest.raises(IRError, match="unknown matrix routine"):
        _prog(ir.MatrixCall("m", "schur", (a,), "o", 1, (4,)), 99).verify()
    with pytest.raises(IRError, match="takes operands"):
        _prog(ir.MatrixCall("m", "cholesky", (a, a), "o", 1, (4,)), 99).verify()


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
@pytest.mark.parametrize("complete", [0, 1])
def test_qr_is_lapacks_geqrf_orgqr(shape, complete):
    m, n = shape
    k = min(m, n)
    a = RNG.standard_normal(shape)
    out = matrix_routines.ROUTINES["qr"]([a], m, n, complete)
    (geqrf,) = scipy_linalg.get_lapack_funcs(("geqrf",), (a,))
    g, tau, _, _ = geqrf(a)
    np.testing.assert_allclose(out[: m * n].reshape(m, n), g, atol=1e-13)
    np.testing.assert_allclose(out[m * n : m * n + k], tau, atol=1e-13)
    q = out[m * n + k :].reshape(m, m if complete else k)
    np.testing.assert_allclose(q, scipy_linalg.qr(a, mode="full" if complete else "economic")[0], atol=1e-13)


def test_eigh_matches_lapack_up_to_sign():
    g = RNG.standard_normal((9, 9))
    for upper in (0, 1):
        out = matrix_routines.ROUTINES["eigh"]([g], 9, upper)
        sym = np.triu(g) + np.triu(g, 1).T if upper else np.tril(g) + np.tril(g, -1).T
        w, v = np.linalg.eigh(sym)
        np.testing.assert_allclose(out[:9], w, atol=1e-13)
        mine = out[9:].reshape(9, 9)
        np.testing.assert_allclose(np.abs(mine), np.abs(v), atol=1e-12)
        lead = np.abs(mine).argmax(axis=0)
        assert (mine[lead, np.arange(9)] > 0).all()


@pytest.mark.parametrize("shape", [(6, 4), (5, 5), (4, 1)])
def test_svd_matches_lapack(shape):
    m, n = shape
    a = RNG.standard_normal(shape)
    out = matrix_routines.ROUTINES["svd"]([a], m, n)
    s, u, v = out[:n], out[n : n + m * m].reshape(m, m), out[n + m * m :].reshape(n, n)
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-13)
    np.testing.assert_allclose(u[:, :n] * s @ v.T, a, atol=1e-13)
    np.testing.assert_allclose(u.T @ u, np.eye(m), atol=1e-13)
    np.testing.assert_allclose(v.T @ v, np.eye(n), atol=1e-13)


def test_ldl_is_lapacks_sytrf():
    """The same pivots as LAPACK (scipy's sytrf, 1-based with negative 2x2 entries) and LD."""
    (sytrf,) = scipy_linalg.get_lapack_funcs(("sytrf",), (np.zeros((2, 2)),))
    for seed in range(20):
        g = np.random.default_rng(seed).standard_normal((7, 7))
        a = g + g.T
        out = matrix_routines.ROUTINES["ldl"]([a], 7)
        ld, piv, info = sytrf(a, lower=1)
        np.testing.assert_array_equal(out[49:56], piv)
        np.testing.assert_allclose(out[:49].reshape(7, 7), np.tril(ld), atol=1e-12)
        assert out[56] == info == 0
