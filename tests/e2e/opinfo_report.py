"""Conformance sweep of the wasm backend against PyTorch's OpInfo database (float32 samples;
``--dtype float64`` or ``float16`` for those).

For every OpInfo in ``torch.testing._internal.common_methods_invocations.op_db`` that supports
the dtype on CPU (or only the ops the README claims, ``CLAIMED`` below) and each of its first
``--samples`` sample inputs of that dtype, ``fn = lambda *args: op(*args, **kwargs)`` is compiled with
``torch.compile(fn, backend="wasm")`` (non-strict) after ``torch._dynamo.reset()``, run under
``torch.no_grad()`` and compared with eager PyTorch. Each sample gets one status:

``wasm``      correct, at least one ``CompiledGraph`` ran, no ``WasmFallbackWarning`` and no
              Dynamo graph break: everything the op does ran as WebAssembly
``fallback``  correct, but some or all of it ran in eager PyTorch (fallback warning, graph
              break, or no compiled graph was called at all)
``wrong``     the compiled result differs from eager (a bug)
``crash``     the compiled call raised while eager succeeded (and Dynamo with
              ``backend="eager"`` does not raise too, so the exception is ours)
``hang``      the sample exceeded the per-sample time limit
``skipped``   eager raises, the output is uninitialised memory (``empty`` & co.), the op is nondeterministic (two eager runs differ), the sample
              has no tensor output, or Dynamo itself (``backend="eager"``) fails on it

Samples run in a worker subprocess (``python opinfo_report.py --worker``, JSON lines on a
private pipe) so a hang can be killed: the parent waits at most ``timeout`` seconds per
sample, then kills the worker, records ``hang`` and starts a fresh worker for the remaining
samples. ``tests/e2e/test_opinfo.py`` uses the same machinery.

Usage::

    python tests/e2e/opinfo_report.py                 # the claimed list
    python tests/e2e/opinfo_report.py --all           # the whole op_db (slow: tens of minutes)
    python tests/e2e/opinfo_report.py --ops sum,cumsum --samples 8 --json out.json -v
    python tests/e2e/opinfo_report.py --all --dtype float64   # float64 samples (float16 too)

Comparison: float outputs with ``torch.testing.assert_close(rtol=RTOL, atol=ATOL,
equal_nan=True)`` (float64: ``DTYPE_TOL``, torch's own float64 defaults, so a float64 result
computed in float32 is wrong; float16: torch's float16 defaults, about one float16 rounding, or else no further from the
float64 result than eager is: ``_no_worse_than_eager``) (for the sign-ambiguous ops of ``SIGN_AMBIGUOUS``, after OpInfo's own
``output_process_fn_grad`` of the sample, e.g. |eigenvectors|) (looser than the float32 default to allow a different summation order and
the polynomial exp/log/tanh/erf routines; per-op overrides in ``TOL``); integer and bool
outputs, dtypes and shapes exactly; non-tensor outputs by ``==``.

Needs ``expecttest`` (imported by ``torch.testing._internal``); if it is missing a tiny
stand-in is installed into ``sys.modules`` (only its ``TestCase`` base class is used).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import selectors
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STATUSES = ("wasm", "fallback", "wrong", "crash", "hang", "skipped")
MAX_SAMPLES = 4
TIMEOUT = 60.0  # seconds per sample (compiling a first module can take a few seconds)
RTOL, ATOL = 1e-4, 1e-5
TOL: dict[str, tuple[float, float]] = {}  # float32: "name" or "name.variant" -> (rtol, atol)
DTYPES = ("float32", "float64", "float16")
# (rtol, atol) of the other dtypes: torch.testing's defaults for them
DTYPE_TOL = {"float64": (1e-7, 1e-7), "float16": (1e-3, 1e-5)}
DTYPE = "float32"  # the sweep's dtype (--dtype; the worker gets it on its command line)
# Ops whose outputs are defined only up to sign (eigenvectors, singular vectors): OpInfo marks
# this with each sample's ``output_process_fn_grad`` (|V| for eigh; |U|, |Vh|, U Vh or S for
# svd), which is applied to both the compiled and the eager outputs before comparing.
SIGN_AMBIGUOUS = {"linalg.eigh", "linalg.svd", "svd"}
# Ops whose result is (partly) uninitialised memory: nothing to compare.
UNINITIALIZED = {"empty", "empty_like", "empty_permuted", "empty_strided", "new_empty", "new_empty_strided",
                 "resize_", "resize_as_"}  # "name" or "name.variant" -> (rtol, atol)

# Metadata-only ATen ops that count as views for the "views" classification (no compute).
_METADATA_OPS_NAMES = ("alias", "lift_fresh", "detach", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset")

# Ops (OpInfo name or "name.variant") the README lists as supported: the CI list.
CLAIMED = [
    # elementwise arithmetic and comparisons
    "add", "sub", "rsub", "mul", "div.no_rounding_mode", "div.trunc_rounding", "div.floor_rounding",
    "true_divide", "floor_divide", "remainder", "fmod", "maximum", "minimum",
    "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_xor", "logical_not", "where", "masked_fill",
    # unary math and activations
    "neg", "abs", "sign", "floor", "ceil", "round", "round.decimals_0", "round.decimals_3",
    "round.decimals_neg_3", "trunc", "exp", "log", "sqrt", "rsqrt",
    "reciprocal", "sigmoid", "tanh", "erf", "square", "pow",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh",
    "log1p", "expm1", "log2", "log10", "exp2", "hypot", "erfc", "erfinv", "special.erfcx",
    "special.log_ndtr", "i0", "special.i0e", "special.i1", "special.i1e", "digamma",
    "special.chebyshev_polynomial_t", "special.chebyshev_polynomial_u", "special.chebyshev_polynomial_v",
    "special.chebyshev_polynomial_w", "special.shifted_chebyshev_polynomial_t", "special.shifted_chebyshev_polynomial_u",
    "special.shifted_chebyshev_polynomial_v", "special.shifted_chebyshev_polynomial_w", "special.hermite_polynomial_h",
    "special.hermite_polynomial_he", "special.laguerre_polynomial_l", "special.legendre_polynomial_p",
    "special.spherical_bessel_j0", "special.modified_bessel_i0", "special.modified_bessel_i1",
    "lgamma", "polygamma.polygamma_n_0", "polygamma.polygamma_n_1", "polygamma.polygamma_n_2",
    "polygamma.polygamma_n_3", "polygamma.polygamma_n_4", "special.polygamma.special_polygamma_n_0",
    "mvlgamma.mvlgamma_p_1", "mvlgamma.mvlgamma_p_3", "mvlgamma.mvlgamma_p_5",
    "isinf", "isposinf", "isneginf", "isfinite", "logaddexp2", "copysign", "fmax", "fmin", "ldexp",
    "nn.functional.relu", "nn.functional.leaky_relu", "nn.functional.hardtanh", "nn.functional.relu6",
    "nn.functional.hardswish", "nn.functional.hardsigmoid", "nn.functional.gelu", "nn.functional.silu",
    "nn.functional.elu", "nn.functional.selu", "nn.functional.celu",
    "clamp", "clamp_min", "clamp_max",
    # dtype casts
    "float", "int", "long", "bool",
    # reductions
    "sum", "mean", "prod", "amax", "amin", "max.reduction_no_dim", "max.reduction_with_dim",
    "min.reduction_no_dim", "min.reduction_with_dim", "argmax", "argmin", "var", "var.unbiased",
    "any", "all",
    # scans
    "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp",
    # softmax / norms
    "softmax", "log_softmax", "nn.functional.layer_norm", "nn.functional.batch_norm",
    # views and joins
    "view", "reshape", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze", "narrow",
    "narrow_copy", "permute_copy", "view_copy", "unbind_copy", "select", "flatten", "split", "split_with_sizes", "chunk", "unbind", "cat", "stack", "__getitem__",
    # linear algebra
    "mm", "bmm", "addmm", "baddbmm", "matmul", "nn.functional.linear", "addbmm", "addmv", "cdist", "dist",
    "nn.functional.pdist",
    # convolution and pooling
    "nn.functional.conv1d", "nn.functional.conv2d", "nn.functional.max_pool2d", "nn.functional.avg_pool2d",
    "nn.functional.adaptive_avg_pool2d", "nn.functional.max_pool1d", "nn.functional.avg_pool1d",
    "nn.functional.adaptive_avg_pool1d",
    # indexing
    "sort", "argsort", "msort", "bucketize", "searchsorted", "histc", "_segment_reduce.lengths", "_segment_reduce.offsets",
    "nn.functional.embedding", "index_select", "gather", "scatter", "scatter_add", "scatter_reduce.sum",
    "scatter_reduce.prod", "scatter_reduce.mean", "scatter_reduce.amax", "scatter_reduce.amin",
    "index_reduce.prod", "index_reduce.mean", "index_reduce.amax", "index_reduce.amin",
    # factories
    "full", "zeros", "ones", "arange", "scalar_tensor",
    # padding, interpolation, norms, index views and their scatters, adaptive max pooling (issue 14)
    "constant_pad_nd", "nn.functional.pad.constant", "nn.functional.pad.reflect", "nn.functional.pad.replicate",
    "nn.functional.pad.circular", "nn.functional.pad.replicate_negative",
    "nn.functional.interpolate.nearest", "nn.functional.interpolate.nearest-exact", "grid_sampler_2d",
    "nn.functional.grid_sample",
    "nn.functional.interpolate.bilinear", "nn.functional.interpolate.linear", "nn.functional.interpolate.trilinear",
    "nn.functional.interpolate.bicubic",
    "nn.functional.upsample_bilinear", "nn.functional.upsample_nearest",
    "linalg.vector_norm", "nn.functional.normalize", "norm", "norm.inf",
    "repeat", "roll", "tril", "triu", "diagonal", "linalg.diagonal", "diagonal_copy", "diag", "diag_embed",
    "diagonal_scatter", "slice_scatter", "select_scatter", "unfold", "unfold_copy",
    "nn.functional.adaptive_max_pool2d", "nn.functional.adaptive_max_pool1d", "nn.functional.max_pool3d",
    "nn.functional.avg_pool3d",
    # factorizations and solvers (ir.MatrixCall, csrc/wat/linalg_f32.wat; issue 14)
    "linalg.solve", "linalg.solve_ex", "linalg.inv", "linalg.inv_ex", "linalg.det", "logdet", "linalg.slogdet",
    "linalg.lu_factor", "linalg.lu_factor_ex", "linalg.lu", "lu", "lu_unpack", "lu_solve", "linalg.lu_solve",
    "cholesky", "cholesky_inverse", "cholesky_solve", "linalg.cholesky", "linalg.cholesky_ex",
    "linalg.solve_triangular", "triangular_solve", "linalg.tensorinv", "linalg.tensorsolve",
    "linalg.qr", "qr", "geqrf", "linalg.householder_product", "ormqr", "linalg.eigh", "linalg.eigvalsh",
    "linalg.svd", "svd", "linalg.svdvals", "linalg.pinv", "linalg.pinv.singular", "linalg.pinv.hermitian",
    "linalg.cond", "linalg.ldl_factor", "linalg.ldl_factor_ex", "linalg.ldl_solve",
]


@dataclass
class SampleResult:
    op: str
    index: int
    status: str
    detail: str = ""
    seconds: float = 0.0
    kind: str = ""  # "random": eager calls a random-number op; "views": eager calls only view ops


def op_key(op) -> str:
    return op.name + ("." + op.variant_test_name if op.variant_test_name else "")


# --------------------------------------------------------------------------- in the worker

def _ensure_expecttest() -> None:
    try:
        import expecttest  # noqa: F401
    except ImportError:
        import types
        import unittest
        mod = types.ModuleType("expecttest")
        mod.TestCase = unittest.TestCase
        sys.modules["expecttest"] = mod


_OPS = None


def ops_by_key() -> dict:
    global _OPS
    if _OPS is None:
        _ensure_expecttest()
        import torch
        from torch.testing._internal.common_methods_invocations import op_db
        dt = getattr(torch, DTYPE)
        _OPS = {op_key(op): op for op in op_db if dt in op.supported_dtypes("cpu")}
    return _OPS


def _samples(op, max_samples: int) -> list:
    import torch
    torch.manual_seed(0)
    out = []
    for s in op.sample_inputs("cpu", getattr(torch, DTYPE), requires_grad=False):
        out.append(s)
        if len(out) >= max_samples:
            break
    return out


def _clone(x):
    import torch
    import torch.utils._pytree as pytree
    return pytree.tree_map(lambda a: a.clone() if isinstance(a, torch.Tensor) else a, x)


def _compare(actual, expected, rtol: float, atol: float) -> str | None:
    """None if equal, else a short description of the first difference."""
    import torch
    import torch.utils._pytree as pytree
    a_leaves = pytree.tree_leaves(actual)  # leaves only: a namedtuple may come back as a tuple
    e_leaves = pytree.tree_leaves(expected)
    if len(a_leaves) != len(e_leaves):
        return f"output structure differs: {len(a_leaves)} leaves vs {len(e_leaves)}"
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves)):
        if not isinstance(e, torch.Tensor):
            both_nan = isinstance(a, float) and isinstance(e, float) and math.isnan(a) and math.isnan(e)
            if (isinstance(a, torch.Tensor) or a != e) and not both_nan:
                return f"output {i}: {a!r} != {e!r}"
            continue
        if not isinstance(a, torch.Tensor):
            return f"output {i}: got {type(a).__name__}, expected a tensor"
        if a.dtype != e.dtype:
            return f"output {i}: dtype {a.dtype} != {e.dtype}"
        if a.shape != e.shape:
            return f"output {i}: shape {tuple(a.shape)} != {tuple(e.shape)}"
        if e.dtype.is_floating_point or e.dtype.is_complex:
            try:
                torch.testing.assert_close(a, e, rtol=rtol, atol=atol, equal_nan=True)
            except AssertionError as err:
                return f"output {i}: " + " ".join(str(err).split())[:400]
        elif not torch.equal(a, e):
            bad = (a != e).nonzero()[:4].tolist()
            return f"output {i}: values differ at {bad}"
    return None


def _rmse(a, b) -> float:
    return float(((a - b) ** 2).mean().sqrt()) if a.numel() else 0.0


def _no_worse_than_eager(op, args, kwargs, actual, expected, diff: str) -> str | None:
    """float16 results that differ from eager's by more than float16's tolerance pass when
    they are no further from the float64 result than eager's are (twice its root-mean-square
    error, plus 1e-4), as Inductor's accuracy checks judge low precision: eager's own float16
    kernels round differently (per kernel, not per operator). Non-finite float64 results must
    match eager's. Returns None if accepted, else ``diff``."""
    import torch
    import torch.utils._pytree as pytree

    to64 = lambda a: a.double() if isinstance(a, torch.Tensor) and a.dtype == torch.float16 else a
    try:
        with torch.no_grad():
            torch.manual_seed(0)
            ref = op(*pytree.tree_map(to64, _clone(args)), **pytree.tree_map(to64, dict(kwargs)))
    except Exception:  # noqa: BLE001 - no float64 reference: keep the verdict
        return diff
    a_l, e_l, r_l = pytree.tree_leaves(actual), pytree.tree_leaves(expected), pytree.tree_leaves(ref)
    if not len(a_l) == len(e_l) == len(r_l):
        return diff
    for a, e, r in zip(a_l, e_l, r_l):
        if not isinstance(e, torch.Tensor) or not e.dtype.is_floating_point:
            continue
        if not isinstance(r, torch.Tensor) or r.shape != e.shape:
            return diff
        a64, e64, r64 = a.double(), e.double(), r.double()
        finite = torch.isfinite(r64)
        odd_a, odd_e = a64[~finite], e64[~finite]
        if not torch.equal(torch.nan_to_num(odd_a, nan=0.5), torch.nan_to_num(odd_e, nan=0.5)):
            return diff
        if not torch.isfinite(a64[finite]).all():
            return diff
        if _rmse(a64[finite], r64[finite]) > 2 * _rmse(e64[finite], r64[finite]) + 1e-4:
            return diff
    return None


def _short(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg[:300]}"


def _has_tensor(x) -> bool:
    import torch
    import torch.utils._pytree as pytree
    return any(isinstance(a, torch.Tensor) for a in pytree.tree_leaves(x))


def _eager_kind(fn, args) -> str:
    """"random" if the eager call runs an ATen op tagged ``nondeterministic_seeded`` (random
    numbers: dropout, bernoulli, randn, ...), "views" if every ATen op it runs is a view (or
    it runs none), else "" -- read off the ops a dispatch mode sees."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class Seen(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.add(func)
            return func(*args, **(kwargs or {}))

    seen, cloned = Seen(), _clone(args)
    try:
        with torch.no_grad(), seen:
            torch.manual_seed(0)
            fn(*cloned)
    except Exception:  # noqa: BLE001 - only a classification; the sample was run already
        return ""
    if any(torch.Tag.nondeterministic_seeded in f.tags for f in seen.ops):
        return "random"
    metadata = {getattr(torch.ops.aten, n) for n in _METADATA_OPS_NAMES}
    if all(f.is_view or f.overloadpacket in metadata for f in seen.ops):
        return "views"
    return ""


def run_sample(op, sample, index: int) -> SampleResult:
    """Run one sample eagerly and through the wasm backend; classify it."""
    import warnings

    import torch
    from torch._dynamo.utils import counters

    from tests.e2e.helpers import recording
    from torch_wasm_backend.backend import WasmFallbackWarning

    key = op_key(op)
    t0 = time.perf_counter()

    kind = ""

    def res(status, detail=""):
        return SampleResult(key, index, status, detail, round(time.perf_counter() - t0, 3), kind)

    if op.name in UNINITIALIZED:
        return res("skipped", "output is uninitialised memory")
    args = (sample.input, *sample.args)
    kwargs = dict(sample.kwargs)

    def fn(*a):
        return op(*a, **kwargs)

    try:
        with torch.no_grad():
            torch.manual_seed(0)
            expected = fn(*_clone(args))
            torch.manual_seed(0)
            again = fn(*_clone(args))
    except Exception as e:  # noqa: BLE001 - classifying any failure is the point
        return res("skipped", "eager raises: " + _short(e))
    if not _has_tensor(expected):
        return res("skipped", "no tensor output")
    if _compare(again, expected, 0.0, 0.0) is not None:
        return res("skipped", "nondeterministic (two eager runs differ)")
    kind = _eager_kind(fn, args)

    if DTYPE == "float32":
        rtol, atol = TOL.get(key, TOL.get(op.name, (RTOL, ATOL)))
    else:
        rtol, atol = DTYPE_TOL[DTYPE]
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(fn, backend="wasm")
    with warnings.catch_warnings(record=True) as caught, recording() as rec:
        warnings.simplefilter("always")
        try:
            with torch.no_grad():
                torch.manual_seed(0)
                actual = compiled(*_clone(args))
        except Exception as e:  # noqa: BLE001 - classifying any failure is the point
            err = _short(e)
            # Is it ours? If Dynamo alone (backend="eager") fails too, it is not.
            torch._dynamo.reset()
            try:
                with torch.no_grad():
                    torch.compile(fn, backend="eager")(*_clone(args))
            except Exception as e2:  # noqa: BLE001 - classifying any failure is the point
                return res("skipped", "Dynamo fails with backend='eager' too: " + _short(e2))
            finally:
                torch._dynamo.reset()
            return res("crash", err)
    torch._dynamo.reset()
    if key in SIGN_AMBIGUOUS and sample.output_process_fn_grad is not None:
        actual, expected = sample.output_process_fn_grad(actual), sample.output_process_fn_grad(expected)
    diff = _compare(actual, expected, rtol, atol)
    if diff is not None and DTYPE == "float16":
        diff = _no_worse_than_eager(op, args, kwargs, actual, expected, diff)
    if diff is not None:
        return res("wrong", diff)
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, WasmFallbackWarning)]
    breaks = sum(counters["graph_break"].values())
    if fallbacks:
        return res("fallback", " | ".join(" ".join(f.split())[:200] for f in fallbacks))
    if breaks:
        return res("fallback", "Dynamo graph break: " + " ".join("; ".join(list(counters["graph_break"])[:2]).split())[:200])
    if not rec.calls:
        return res("fallback", "no CompiledGraph was called")
    return res("wasm")


def worker_main() -> None:
    """Read requests ``{"op": key, "start": i, "max": n}`` from stdin; for each, write one
    JSON line per sample (from index ``start``) and then ``{"done": true}``."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    import warnings
    warnings.filterwarnings("ignore")
    for line in sys.stdin:
        req = json.loads(line)
        try:
            op = ops_by_key()[req["op"]]
            samples = _samples(op, req["max"])
            out.write(json.dumps({"count": len(samples)}) + "\n")
            for i in range(req["start"], len(samples)):
                try:
                    r = run_sample(op, samples[i], i)
                except Exception as e:  # noqa: BLE001 - classifying any failure is the point  # a bug in the harness or something truly unexpected
                    r = SampleResult(req["op"], i, "crash", "harness: " + _short(e) + " "
                                     + traceback.format_exc(limit=3).replace("\n", " ")[-300:])
                out.write(json.dumps(asdict(r)) + "\n")
        except Exception as e:  # noqa: BLE001 - classifying any failure is the point
            out.write(json.dumps({"error": _short(e)}) + "\n")
        out.write(json.dumps({"done": True}) + "\n")


# --------------------------------------------------------------------------- in the parent

class Sweeper:
    """Owns one worker subprocess; restarts it after a hang."""

    def __init__(self, timeout: float = TIMEOUT, max_samples: int = MAX_SAMPLES, dtype: str = "float32"):
        self.dtype = dtype
        self.timeout = timeout
        self.max_samples = max_samples
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", "--dtype", self.dtype],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1, cwd=_ROOT, env=env)
        self._buf = ""

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _readline(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        try:
            while "\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 65536).decode()
                if not chunk:  # the worker died
                    return {"died": True}
                self._buf += chunk
        finally:
            sel.close()
        line, self._buf = self._buf.split("\n", 1)
        return json.loads(line)

    def run_op(self, key: str, first_timeout: float = 120.0) -> list[SampleResult]:
        results: list[SampleResult] = []
        start, count = 0, None
        while True:
            if self.proc is None:
                self._start()
            self.proc.stdin.write(json.dumps({"op": key, "start": start, "max": self.max_samples}) + "\n")
            self.proc.stdin.flush()
            # the first line (sample count) may wait for imports + op_db + sample generation
            msg = self._readline(first_timeout)
            if msg is None or "died" in msg:
                self.close()
                results.append(SampleResult(key, start, "hang" if msg is None else "crash",
                                            "worker did not produce samples" if msg is None
                                            else "worker process died"))
                return results
            if "error" in msg:
                self._readline(10)
                results.append(SampleResult(key, -1, "skipped", "sample generation: " + msg["error"]))
                return results
            count = msg["count"]
            restart = False
            while True:
                t0 = time.monotonic()
                msg = self._readline(self.timeout)
                if msg is None or "died" in msg:
                    idx = start
                    status = "hang" if msg is None else "crash"
                    detail = (f"over {self.timeout:.0f} s" if msg is None else "worker process died")
                    results.append(SampleResult(key, idx, status, detail, round(time.monotonic() - t0, 1)))
                    self.close()
                    start = idx + 1
                    restart = start < count
                    break
                if msg.get("done"):
                    return results
                results.append(SampleResult(**msg))
                start = msg["index"] + 1
            if not restart:
                return results


def summarize(results: list[SampleResult], n_ops: int) -> dict:
    """Counts by status; and, for the samples that pass (wasm or fallback), how many call a
    random-number op or only view ops eagerly (counted apart, as issue 14's goal says) and the
    fraction of the others that runs fully as WebAssembly."""
    c = Counter(r.status for r in results if r.index >= 0)
    tried = sum(v for k, v in c.items() if k != "skipped")
    passing = [r for r in results if r.index >= 0 and r.status in ("wasm", "fallback")]
    counted = [r for r in passing if not r.kind]
    wasm = sum(r.status == "wasm" for r in counted)
    return {"ops": n_ops, "samples": sum(c.values()), "samples_tried": tried,
            **{s: c.get(s, 0) for s in STATUSES},
            "passing_random": sum(r.kind == "random" for r in passing),
            "passing_views": sum(r.kind == "views" for r in passing),
            "passing_counted": len(counted), "wasm_counted": wasm,
            "wasm_fraction": round(wasm / len(counted), 4) if counted else 0.0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--all", action="store_true", help="the whole op_db instead of the claimed list")
    ap.add_argument("--ops", help="comma-separated OpInfo keys (name or name.variant)")
    ap.add_argument("--samples", type=int, default=MAX_SAMPLES, help="samples per op (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per sample (default %(default)s)")
    ap.add_argument("--dtype", choices=DTYPES, default="float32", help="the samples' dtype (default %(default)s)")
    ap.add_argument("--json", help="write every sample result and the summary here")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per sample")
    a = ap.parse_args(argv)
    global DTYPE
    DTYPE = a.dtype
    if a.worker:
        sys.path.insert(0, _ROOT)
        worker_main()
        return 0
    if a.ops:
        keys = a.ops.split(",")
    elif a.all:
        sys.path.insert(0, _ROOT)
        keys = sorted(ops_by_key())
    else:
        keys = list(CLAIMED)
    sw = Sweeper(timeout=a.timeout, max_samples=a.samples, dtype=a.dtype)
    results: list[SampleResult] = []
    t0 = time.perf_counter()
    try:
        for n, key in enumerate(keys, 1):
            rs = sw.run_op(key)
            results += rs
            c = Counter(r.status for r in rs)
            print(f"[{n}/{len(keys)} {time.perf_counter() - t0:6.0f}s] {key}: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(c.items())), file=sys.stderr, flush=True)
            if a.verbose:
                for r in rs:
                    print(f"    #{r.index} {r.status} {r.seconds}s {r.detail[:200]}", file=sys.stderr)
            if a.json and n % 20 == 0:  # partial results survive an interrupted long run
                _write_json(a.json, keys, results, time.perf_counter() - t0, partial=True)
    finally:
        sw.close()
    elapsed = time.perf_counter() - t0
    s = summarize(results, len(keys))
    print(f"\nOpInfo {a.dtype} sweep ({'whole op_db' if a.all else 'selected ops' if a.ops else 'claimed list'},"
          f" <= {a.samples} samples per op, {elapsed:.0f} s)")
    print(f"  ops tried:                    {s['ops']}")
    print(f"  samples:                      {s['samples']} ({s['skipped']} skipped, {s['samples_tried']} tried)")
    print(f"  fully in WebAssembly:         {s['wasm']}")
    print(f"  correct through fallback:     {s['fallback']}")
    print(f"  wrong results:                {s['wrong']}")
    print(f"  crashes:                      {s['crash']}")
    print(f"  hangs:                        {s['hang']}")
    print(f"  of the passing samples: {s['passing_random']} call random-number ops, {s['passing_views']} only "
          f"views; of the other {s['passing_counted']}, {s['wasm_counted']} ({100 * s['wasm_fraction']:.1f}%) "
          "run fully as WebAssembly")
    per_op: dict[str, Counter] = {}
    for r in results:
        per_op.setdefault(r.op, Counter())[r.status] += 1
    full = [k for k, c in per_op.items() if c.get("wasm") and set(c) <= {"wasm", "skipped"}]
    print(f"  ops with every tried sample in WebAssembly: {len(full)}")
    for r in results:
        if r.status in ("wrong", "crash", "hang"):
            print(f"  {r.status.upper():6} {r.op} sample {r.index}: {r.detail[:300]}")
    if a.json:
        _write_json(a.json, keys, results, elapsed, partial=False)
    return 0


def _write_json(path, keys, results, elapsed, partial):
    with open(path, "w") as f:
        json.dump({"summary": summarize(results, len(keys)), "seconds": round(elapsed, 1), "partial": partial,
                   "ops": keys, "results": [asdict(r) for r in results]}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
