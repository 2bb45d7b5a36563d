"""LU, Cholesky and triangular solves as WebAssembly (``ir.MatrixCall``) against eager PyTorch
(LAPACK): ``linalg.lu_factor``, ``lu``, ``lu_unpack``, ``lu_solve``, ``solve``, ``inv``,
``det``, ``slogdet``, ``cholesky`` (lower and upper), ``cholesky_solve``,
``cholesky_inverse``, ``solve_triangular``, ``triangular_solve``, ``qr`` (all modes), ``geqrf``,
``householder_product``, ``ormqr``, ``ldl_factor`` (Bunch-Kaufman), ``ldl_solve``,
``eigh``/``eigvalsh``, ``svd``/``svdvals`` and ``pinv`` (eigen- and singular vectors up to sign).

Every case runs in strict mode (a fallback raises) and checks values, dtypes and output
layouts against eager (torch returns LU factors, inverses and Cholesky factors
column-major), then the IR interpreter against the ATen graph, then that the interpreter
(the routines' numpy spec) and the WebAssembly agree bit for bit (they do the same float64
operations in the same order; log|det| aside, whose log is a different routine). Inputs:
batched, 1x1, odd sizes, non-contiguous views, empty batches, NaN. Singular and non-positive-
definite inputs where torch raises trap with torch's reason.
"""

from __future__ import annotations

import pytest
import torch

from tests.e2e.helpers import _interp_outputs, assert_same, check_interp, meta_outputs, run_wasm
from torch_wasm_backend.runtime import WasmTrap

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated in favor of")  # torch.cholesky, triangular_solve
TOL = {"rtol": 1e-4, "atol": 1e-5}


def _rand(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed + sum(shape)))


def _spd(*shape, seed=0):
    a = _rand(*shape, seed=seed)
    return a @ a.mT + shape[-1] * torch.eye(shape[-1])


def _tri(*shape, seed=0):
    """Well-conditioned for either triangle: a dominant diagonal."""
    return _rand(*shape, seed=seed) + 3 * shape[-1] ** 0.5 * torch.eye(shape[-1])


def _check(fn, *args, tol=TOL, bitwise=True):
    with torch.no_grad():
        want = fn(*[a.clone() for a in args])
    got, rec = run_wasm(fn, *args)
    assert_same(got, want, msg="[wasm]", meta=meta_outputs(fn, args), **tol)
    check_interp(rec, **tol)
    if bitwise:  # the numpy spec and the WAT routines: same operations, same order
        graph, inputs, outs = rec.calls[-1]
        for i, (spec, wasm) in enumerate(zip(_interp_outputs(graph, inputs), outs)):
            assert torch.equal(spec.nan_to_num(7.0), wasm.contiguous().nan_to_num(7.0)), f"output {i}: interp != wasm"


SHAPES = [(1, 1), (3, 3), (5, 5), (2, 4, 4), (3, 2, 7, 7), (17, 17)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lu_factor_det_slogdet_inv(shape):
    a = _rand(*shape)
    _check(lambda a: torch.linalg.lu_factor_ex(a), a)
    _check(lambda a: (torch.linalg.det(a), torch.linalg.inv(a)), a)
    _check(torch.linalg.slogdet, a, bitwise=False)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (2, 4, 6), (1, 4), (4, 1)], ids=str)
def test_rectangular_lu(shape):
    a = _rand(*shape)
    _check(torch.linalg.lu_factor_ex, a)
    _check(torch.linalg.lu, a)


def test_lu_unpack_and_lu_solve_of_eager_factors():
    a, b = _rand(2, 5, 5), _rand(2, 5, 3)
    lu, piv = torch.linalg.lu_factor(a)
    _check(torch.lu_unpack, lu, piv)
    for left in (True, False):
        for adjoint in (True, False):
            rhs = b if left else b.mT.contiguous()
            fn = lambda lu, p, b, left=left, adjoint=adjoint: torch.linalg.lu_solve(
                lu, p, b, left=left, adjoint=adjoint
            )
            _check(fn, lu, piv, rhs)


@pytest.mark.parametrize("left", [True, False])
def test_solve_matrix_vector_and_broadcast(left):
    a = _rand(3, 1, 4, 4)
    _check(lambda a, b: torch.linalg.solve(a, b, left=left), a, _rand(3, 2, 4, 5) if left else _rand(3, 2, 5, 4))
    if left:
        _check(torch.linalg.solve, a, _rand(3, 1, 4))  # a batch of vectors
        _check(torch.linalg.solve, a[0, 0], _rand(4))


def test_non_contiguous_inputs():
    a = _rand(4, 6, 6)[:, ::2, 1::2]  # strided rows and columns
    _check(torch.linalg.inv, a)
    b = _rand(3, 2, 5, 5).permute(1, 0, 3, 2)  # batch dims that do not flatten: copied first
    _check(lambda b: torch.linalg.solve(b, b[..., :2]), b)
    s = _spd(2, 4, 4).mT  # transposed view
    _check(torch.linalg.cholesky, s)


def test_empty_batches_and_empty_matrices():
    for a in (torch.zeros(0, 3, 3), torch.zeros(2, 0, 0)):
        _check(lambda a: (torch.linalg.inv(a), torch.linalg.det(a), torch.linalg.lu_factor(a)), a)
        _check(torch.linalg.cholesky, a)


def test_nan_propagates():
    a = _rand(3, 3)
    a[1, 1] = float("nan")
    _check(torch.linalg.lu_factor_ex, a)
    _check(torch.linalg.solve_ex, a, _rand(3))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (2, 3, 9, 9)], ids=str)
def test_cholesky_family(upper, shape):
    s = _spd(*shape)
    _check(lambda s: torch.linalg.cholesky_ex(s, upper=upper), s)
    _check(lambda s: torch.cholesky(s, upper=upper), s)
    factor = torch.linalg.cholesky(s, upper=upper)
    b = _rand(*shape[:-1], 3)
    _check(lambda b, f: torch.cholesky_solve(b, f, upper=upper), b, factor)
    _check(lambda f: torch.cholesky_inverse(f, upper=upper), factor[(0,) * (factor.ndim - 2)])


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular(upper, left, unit):
    t = _tri(2, 6, 6)
    b = _rand(2, 6, 3) if left else _rand(2, 3, 6)
    _check(lambda t, b: torch.linalg.solve_triangular(t, b, upper=upper, left=left, unitriangular=unit), t, b)


@pytest.mark.parametrize("transpose", [False, True])
def test_triangular_solve(transpose):
    _check(lambda b, a: torch.triangular_solve(b, a, upper=False, transpose=transpose), _rand(5, 2), _tri(5, 5))


@pytest.mark.parametrize(
    "fn,a,reason",
    [
        (torch.linalg.inv, torch.tensor([[1.0, 2.0], [2.0, 4.0]]), "linalg.inv: The input matrix is singular"),
        (torch.linalg.solve, torch.zeros(2, 3, 3), "linalg.solve: The input matrix is singular"),
        (torch.linalg.cholesky, -torch.eye(3), "linalg.cholesky: The factorization could not be completed because"),
    ],
    ids=["inv", "solve", "cholesky"],
)
def test_errors_trap_with_torchs_reason(fn, a, reason):
    call = (lambda a: fn(a, a[..., :1])) if fn is torch.linalg.solve else fn
    with pytest.raises(RuntimeError):  # torch.linalg.LinAlgError
        call(a)
    with pytest.raises(WasmTrap, match=reason):
        run_wasm(call, a)


def test_ex_variants_report_info_instead():
    """``inv_ex``/``cholesky_ex`` do not raise: info says which pivot or minor failed, as LAPACK's."""
    sing = torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    _check(lambda a: torch.linalg.inv_ex(a).info, sing)
    _check(lambda a: torch.linalg.lu_factor_ex(a).info, sing)
    _check(lambda a: torch.linalg.cholesky_ex(a).info, torch.diag(torch.tensor([1.0, 2.0, -1.0, 4.0])))
    _check(lambda a: (torch.linalg.det(a), torch.linalg.slogdet(a)), sing, bitwise=False)


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (3, 5), (2, 4, 4), (6, 1)], ids=str)
def test_qr_modes_and_geqrf(shape):
    """LAPACK's sign convention (larfg: R's diagonal is -sign(alpha) * norm), so Q and R equal eager's."""
    a = _rand(*shape)
    for mode in ("reduced", "complete", "r"):
        _check(lambda a, mode=mode: torch.linalg.qr(a, mode), a)
    _check(torch.geqrf, a)
    _check(torch.linalg.qr, a.mT)  # a transposed view


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 5, 5), (16, 16)], ids=str)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(shape, uplo):
    """Eigenvalues as eager's; eigenvectors up to each one's sign (LAPACK's is not a stated
    convention; ours: the first largest |entry| of each is positive), so they are compared
    through that normalisation, and through A V = V diag(w)."""
    a = _rand(*shape)
    _check(lambda a: torch.linalg.eigvalsh(a, UPLO=uplo), a)

    def normalised(a):
        w, v = torch.linalg.eigh(a, UPLO=uplo)
        lead = v.abs().argmax(dim=-2, keepdim=True)
        return w, v * torch.sign(torch.gather(v, -2, lead))

    _check(normalised, a, bitwise=False)
    (w, v), _ = run_wasm(lambda a: torch.linalg.eigh(a, UPLO=uplo), a)
    sym = a.tril() + a.tril(-1).mT if uplo == "L" else a.triu() + a.triu(1).mT
    torch.testing.assert_close(sym @ v, v * w.unsqueeze(-2), rtol=1e-4, atol=1e-4)
    lead = v.abs().argmax(dim=-2, keepdim=True)
    assert (torch.gather(v, -2, lead) > 0).all()


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (3, 5), (2, 4, 4), (6, 1), (2, 0, 3)], ids=str)
@pytest.mark.parametrize("full", [False, True])
def test_svd(shape, full):
    """Singular values as eager's; U and Vh up to the signs of their vector pairs (compared as
    |U|, |Vh| and U Vh, as OpInfo's svd samples do); the completion of a full U orthonormal."""
    a = _rand(*shape)
    _check(torch.linalg.svdvals, a)

    def unique(a):
        u, s, vh = torch.linalg.svd(a, full_matrices=full)
        k = s.shape[-1]
        return s, u[..., :k] @ vh[..., :k, :], u[..., :k].abs(), vh[..., :k, :].abs()

    _check(unique, a, bitwise=False)
    (u, _, vh), _ = run_wasm(lambda a: torch.linalg.svd(a, full_matrices=full), a)
    want = torch.linalg.svd(a, full_matrices=full)
    assert (u.shape, u.stride(), vh.shape, vh.stride()) == (
        want.U.shape,
        want.U.stride(),
        want.Vh.shape,
        want.Vh.stride(),
    )
    eye = torch.eye(u.shape[-1]).expand(u.shape[:-2] + (u.shape[-1],) * 2)
    torch.testing.assert_close(u.mT @ u, eye, rtol=0, atol=1e-5)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (2, 3, 6)], ids=str)
def test_pinv(shape):
    a = _rand(*shape)
    _check(torch.linalg.pinv, a, bitwise=False)
    singular = a.clone()
    singular[..., 0] = singular[..., 1]  # rank-deficient: the cut-off drops a singular value
    _check(torch.linalg.pinv, singular, bitwise=False)
    if shape[-1] == shape[-2]:
        _check(
            lambda a: torch.linalg.pinv(a, hermitian=True),
            _spd(*shape) - 2 * shape[-1] * torch.eye(shape[-1]),
            bitwise=False,
        )


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_householder_product_and_ormqr(left, transpose):
    a = _rand(2, 6, 4)
    g, tau = torch.geqrf(a)
    _check(torch.linalg.householder_product, g, tau)
    c = _rand(2, 6, 3) if left else _rand(2, 3, 6)
    _check(lambda g, tau, c: torch.ormqr(g, tau, c, left=left, transpose=transpose), g, tau, c)


@pytest.mark.parametrize("seed", range(6))
def test_ldl_factor_bunch_kaufman_pivots(seed):
    """LAPACK sytf2's pivots (1x1 and 2x2 blocks, negative for 2x2) on definite and indefinite inputs."""
    n = 3 + seed
    a = _rand(2, n, n, seed=seed)
    a = a + a.mT if seed % 2 else a @ a.mT + 0.1 * torch.eye(n)
    _check(torch.linalg.ldl_factor_ex, a)
    _check(torch.linalg.ldl_factor_ex, torch.zeros(3, 3))  # info: the first zero column


@pytest.mark.parametrize("seed", range(4))
def test_ldl_solve(seed):
    n = 4 + seed
    a = _rand(2, n, n, seed=seed)
    a = a + a.mT  # indefinite: 2x2 blocks appear
    ld, piv = torch.linalg.ldl_factor(a)
    _check(torch.linalg.ldl_solve, ld, piv, _rand(2, n, 3, seed=seed))
