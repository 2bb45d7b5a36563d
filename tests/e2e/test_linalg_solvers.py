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


def _check(fn, *args, tol=TOL, bitwise=True, skip=()):
    """One compile: wasm == eager (values, dtypes, layouts), interp == ATen graph, and (unless
    ``bitwise`` is False) interp == wasm bit for bit, except the output indices in ``skip``."""
    with torch.no_grad():
        want = fn(*[a.clone() for a in args])
    got, rec = run_wasm(fn, *args)
    assert_same(got, want, msg="[wasm]", meta=meta_outputs(fn, args), **tol)
    check_interp(rec, **tol)
    if bitwise:  # the numpy spec and the WAT routines: same operations, same order
        graph, inputs, outs = rec.calls[-1]
        for i, (spec, wasm) in enumerate(zip(_interp_outputs(graph, inputs), outs)):
            if i not in skip:
                assert torch.equal(spec.nan_to_num(7.0), wasm.contiguous().nan_to_num(7.0)), (
                    f"output {i}: interp != wasm"
                )


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (3, 2, 7, 7), (17, 17)], ids=str)
def test_lu_factor_det_slogdet_inv(shape):
    def fn(a):
        lu, piv, info = torch.linalg.lu_factor_ex(a)
        sign, logabs = torch.linalg.slogdet(a)
        return lu, piv, info, torch.linalg.det(a), torch.linalg.inv(a), sign, logabs

    _check(fn, _rand(*shape), skip=(6,))  # log|det|: numpy's log against the WAT's


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (2, 4, 6), (4, 1)], ids=str)
def test_rectangular_lu(shape):
    _check(lambda a: (*torch.linalg.lu_factor_ex(a), *torch.linalg.lu(a)), _rand(*shape))


def test_lu_unpack_and_lu_solve_of_eager_factors():
    a, b, c = _rand(2, 5, 5), _rand(2, 5, 3), _rand(2, 3, 5)
    lu, piv = torch.linalg.lu_factor(a)

    def fn(lu, piv, b, c):
        solves = [torch.linalg.lu_solve(lu, piv, b, adjoint=adj) for adj in (False, True)]
        solves += [torch.linalg.lu_solve(lu, piv, c, left=False, adjoint=adj) for adj in (False, True)]
        return (*torch.lu_unpack(lu, piv), *solves)

    _check(fn, lu, piv, b, c)


def test_solve_left_right_vector_and_broadcast():
    a = _rand(3, 1, 4, 4)

    def fn(a, b, c, v, a2, v2):
        return (
            torch.linalg.solve(a, b),
            torch.linalg.solve(a, c, left=False),
            torch.linalg.solve(a, v),
            torch.linalg.solve(a2, v2),
        )

    _check(fn, a, _rand(3, 2, 4, 5), _rand(3, 2, 5, 4), _rand(3, 1, 4), a[0, 0].clone(), _rand(4))


def test_non_contiguous_inputs():
    def fn(a, b, s):
        return torch.linalg.inv(a), torch.linalg.solve(b, b[..., :2]), torch.linalg.cholesky(s)

    a = _rand(4, 6, 6)[:, ::2, 1::2]  # strided rows and columns
    b = _rand(3, 2, 5, 5).permute(1, 0, 3, 2)  # batch dims that do not flatten: copied first
    _check(fn, a, b, _spd(2, 4, 4).mT)  # a transposed view


def test_empty_batches_and_empty_matrices():
    def fn(a):
        return torch.linalg.inv(a), torch.linalg.det(a), *torch.linalg.lu_factor(a), torch.linalg.cholesky(a)

    for a in (torch.zeros(0, 3, 3), torch.zeros(2, 0, 0)):
        _check(fn, a)


def test_nan_propagates():
    a = _rand(3, 3)
    a[1, 1] = float("nan")
    _check(lambda a, b: (*torch.linalg.lu_factor_ex(a), *torch.linalg.solve_ex(a, b)), a, _rand(3))


@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (2, 3, 9, 9)], ids=str)
def test_cholesky_family(shape):
    s, b = _spd(*shape), _rand(*shape[:-1], 3)
    lower, upper = torch.linalg.cholesky(s), torch.linalg.cholesky(s, upper=True)
    first = (0,) * (len(shape) - 2)

    def fn(s, b, lower, upper):
        out = []
        for up, f in ((False, lower), (True, upper)):
            out += [*torch.linalg.cholesky_ex(s, upper=up), torch.cholesky(s, upper=up)]
            out += [torch.cholesky_solve(b, f, upper=up), torch.cholesky_inverse(f[first], upper=up)]
        return out

    _check(fn, s, b, lower, upper)


def test_solve_triangular_and_triangular_solve():
    t, b, c = _tri(2, 6, 6), _rand(2, 6, 3), _rand(2, 3, 6)

    def fn(t, b, c):
        out = [
            torch.linalg.solve_triangular(t, b if left else c, upper=up, left=left, unitriangular=unit)
            for up in (False, True)
            for left in (True, False)
            for unit in (False, True)
        ]
        out += [torch.triangular_solve(b, t, upper=False, transpose=tr)[0] for tr in (False, True)]
        return out

    _check(fn, t, b, c)


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
    indefinite = torch.diag(torch.tensor([1.0, 2.0, -1.0]))

    def fn(a, d):
        return (
            torch.linalg.inv_ex(a).info,
            torch.linalg.lu_factor_ex(a).info,
            torch.linalg.cholesky_ex(d).info,
            torch.linalg.det(a),
            *torch.linalg.slogdet(a),
        )

    _check(fn, sing, indefinite, skip=(5,))


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (3, 5), (2, 4, 4), (6, 1)], ids=str)
def test_qr_modes_and_geqrf(shape):
    """LAPACK's sign convention (larfg: R's diagonal is -sign(alpha) * norm), so Q and R equal eager's."""

    def fn(a, t):
        return [x for mode in ("reduced", "complete", "r") for x in torch.linalg.qr(a, mode)] + [
            *torch.geqrf(a),
            *torch.linalg.qr(t),
        ]

    a = _rand(*shape)
    _check(fn, a, a.mT)  # and a transposed view


@pytest.mark.parametrize("shape,uplo", [((1, 1), "L"), ((3, 3), "U"), ((2, 5, 5), "L"), ((16, 16), "U")], ids=str)
def test_eigh(shape, uplo):
    """Eigenvalues as eager's; eigenvectors up to each one's sign (LAPACK's is not a stated
    convention; ours: the first largest |entry| of each is positive), so they are compared
    through that normalisation, and through A V = V diag(w)."""
    a = _rand(*shape)

    def normalised(a):
        w, v = torch.linalg.eigh(a, UPLO=uplo)
        lead = v.abs().argmax(dim=-2, keepdim=True)
        return torch.linalg.eigvalsh(a, UPLO=uplo), w, v * torch.sign(torch.gather(v, -2, lead))

    _check(normalised, a, bitwise=False)
    (w, v), _ = run_wasm(lambda a: torch.linalg.eigh(a, UPLO=uplo), a)
    sym = a.tril() + a.tril(-1).mT if uplo == "L" else a.triu() + a.triu(1).mT
    torch.testing.assert_close(sym @ v, v * w.unsqueeze(-2), rtol=1e-4, atol=1e-4)
    lead = v.abs().argmax(dim=-2, keepdim=True)
    assert (torch.gather(v, -2, lead) > 0).all()


@pytest.mark.parametrize(
    "shape,full",
    [((1, 1), True), ((5, 3), False), ((5, 3), True), ((3, 5), True), ((2, 4, 4), False), ((2, 0, 3), True)],
    ids=str,
)
def test_svd(shape, full):
    """Singular values as eager's; U and Vh up to the signs of their vector pairs (compared as
    |U|, |Vh| and U Vh, as OpInfo's svd samples do); the completion of a full U orthonormal."""
    a = _rand(*shape)

    def unique(a):
        u, s, vh = torch.linalg.svd(a, full_matrices=full)
        k = s.shape[-1]
        return torch.linalg.svdvals(a), s, u[..., :k] @ vh[..., :k, :], u[..., :k].abs(), vh[..., :k, :].abs()

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
    singular = a.clone()
    singular[..., 0] = singular[..., 1]  # rank-deficient: the cut-off drops a singular value
    if shape[-1] != shape[-2]:
        _check(lambda a, s: (torch.linalg.pinv(a), torch.linalg.pinv(s)), a, singular, bitwise=False)
        return
    sym = _spd(*shape) - 2 * shape[-1] * torch.eye(shape[-1])  # indefinite
    fn = lambda a, s, h: (torch.linalg.pinv(a), torch.linalg.pinv(s), torch.linalg.pinv(h, hermitian=True))
    _check(fn, a, singular, sym, bitwise=False)


def test_householder_product_and_ormqr():
    g, tau = torch.geqrf(_rand(2, 6, 4))

    def fn(g, tau, c, d):
        out = [torch.linalg.householder_product(g, tau)]
        return out + [
            torch.ormqr(g, tau, c if left else d, left=left, transpose=tr)
            for left in (True, False)
            for tr in (False, True)
        ]

    _check(fn, g, tau, _rand(2, 6, 3), _rand(2, 3, 6))


@pytest.mark.parametrize("n", [4, 7])
def test_ldl_factor_and_solve(n):
    """LAPACK sytf2's pivots (1x1 and 2x2 blocks, negative for 2x2) on definite and indefinite
    inputs, a zero column's info, and sytrs's solve from eager's factors."""
    g = _rand(4, n, n, seed=n)
    indefinite = (g[:2] + g[:2].mT) * (1 - torch.eye(n))  # a zero diagonal: a 2x2 block first
    a = torch.cat([indefinite, g[2:] @ g[2:].mT + 0.1 * torch.eye(n)])
    assert (torch.linalg.ldl_factor(a).pivots < 0).any()  # a 2x2 block is exercised
    ld, piv = torch.linalg.ldl_factor(a)

    def fn(a, z, ld, piv, b):
        return (*torch.linalg.ldl_factor_ex(a), *torch.linalg.ldl_factor_ex(z), torch.linalg.ldl_solve(ld, piv, b))

    _check(fn, a, torch.zeros(3, 3), ld, piv, _rand(4, n, 3))


def test_eigh_svd_non_finite_inputs():
    """A NaN makes LAPACK's eigh and svd fail to converge (PyTorch raises: we trap with its
    reason); an infinity gives NaN results without raising, in both."""
    a = _rand(4, 4)
    a = a + a.mT
    a[1, 2] = a[2, 1] = float("inf")
    _check(lambda a: (torch.linalg.eigvalsh(a), torch.linalg.svdvals(a)), a)
    a[1, 2] = a[2, 1] = float("nan")
    for fn, what in (
        (torch.linalg.eigh, "linalg.eigh"),
        (torch.linalg.svd, "linalg.svd"),
        (torch.linalg.pinv, "linalg.pinv"),
    ):
        with pytest.raises(RuntimeError):
            fn(a)
        with pytest.raises(
            WasmTrap, match=f"{what}: The algorithm failed to converge because the input matrix contains NaN"
        ):
            run_wasm(fn, a)


def test_pivots_out_of_range_trap():
    lu, piv = torch.linalg.lu_factor(_rand(3, 3))
    with pytest.raises(WasmTrap, match=r"linalg.lu_solve: a pivot is out of range \[1, 3\]"):
        run_wasm(torch.linalg.lu_solve, lu, piv + 5, _rand(3, 1))


class _Solver(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(_rand(5, 5) + 5 * torch.eye(5))

    def forward(self, x):
        sym = x + x.mT
        return (
            torch.linalg.solve(self.w, x),
            torch.linalg.inv(x),
            torch.linalg.det(x),
            torch.linalg.eigvalsh(sym),
            torch.linalg.svdvals(x),
            torch.linalg.qr(x).R,
            torch.linalg.cholesky(self.w @ self.w.mT),
        )


def test_saved_artifact_in_python_and_node(tmp_path):
    """A saved artifact (the routines baked in, a weight-only factorization in ``prepare``) gives
    the compiled model's outputs bit for bit in the Python loader and in Node, and a singular
    input traps there with PyTorch's reason."""
    import shutil
    import subprocess

    import numpy as np

    import torch_wasm_backend

    model, x = _Solver().eval(), _rand(5, 5, seed=3)
    fast = torch.compile(model, backend="wasm", options={"strict": True})
    with torch.no_grad():
        want = [t.numpy() for t in fast(x)]
    torch_wasm_backend.save(fast, tmp_path / "solver.wasm", example_inputs=(x,))  # zeros: a singular x
    loaded = torch_wasm_backend.load(tmp_path / "solver.wasm")
    for got, w in zip(loaded.run_flat(x.numpy()), want):
        assert np.array_equal(np.ascontiguousarray(got), np.ascontiguousarray(w))
    with pytest.raises(WasmTrap, match="linalg.inv: The input matrix is singular"):
        loaded.run_flat(np.zeros((5, 5), np.float32))
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    (tmp_path / "x.bin").write_bytes(x.numpy().tobytes())
    runner = __import__("pathlib").Path(__file__).parent / "js" / "run_node.mjs"
    proc = subprocess.run(
        ["node", str(runner), str(tmp_path / "solver.wasm"), str(tmp_path), str(tmp_path / "x.bin")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = __import__("json").loads(proc.stdout)
    for out, w in zip(report["outputs"], want):
        assert (tmp_path / f"{out['name']}.bin").read_bytes() == np.ascontiguousarray(w).tobytes(), out["name"]


def test_weight_only_product_of_a_transposed_weight():
    """``w @ w.T`` of weights alone runs in ``prepare``, where its transposed B is copied first
    (the microkernel reads B with unit column stride): a Cholesky factor's input, e.g."""

    class Gram(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(_rand(5, 5))

        def forward(self, x):
            return self.w @ self.w.mT + x

    model, x = Gram().eval(), _rand(5, 5, seed=1)
    with torch.no_grad():
        want = model(x)
        got = torch.compile(model, backend="wasm", options={"strict": True})(x)
    torch.testing.assert_close(got, want, **TOL)
