"""Conformance against PyTorch's OpInfo database (``op_db``), float32 samples.

Each test takes one OpInfo, runs its first ``MAX_SAMPLES`` float32 sample inputs through
``torch.compile(fn, backend="wasm")`` (non-strict) and eager PyTorch, and classifies every
sample as ``wasm`` / ``fallback`` / ``wrong`` / ``crash`` / ``hang`` / ``skipped`` (see
``tests/e2e/opinfo_report.py``, which holds the machinery, the ``CLAIMED`` op list and a
command-line report). Samples run in one worker subprocess shared by the session, with a
per-sample time limit, so a hang fails one test instead of stalling CI.

The default run covers ``CLAIMED`` (the ops the README says are supported), and every sample
of those ops must run fully as WebAssembly unless ``EXPECTED`` below says otherwise:

* an observed status must equal the ``EXPECTED`` entry for that (op, sample); a sample
  without an entry must be ``wasm`` (or ``skipped``);
* an entry that now runs as ``wasm`` is an UNEXPECTED PASS and fails too: delete the entry,
  so ``EXPECTED`` stays the honest list of what does not run as WebAssembly;
* ``wrong``, ``crash`` and ``hang`` always fail, except known bugs listed in ``EXPECTED`` as
  ``wrong``/``crash``: those are reported as (strict) xfail and fail once they stop failing.

Whole op_db (opt-in, tens of minutes)::

    TORCH_WASM_OPINFO_ALL=1 python -m pytest tests/e2e/test_opinfo.py --runslow -q

adds one test per remaining OpInfo, marked ``slow`` (so ``--runslow`` is needed as well). For
those unclaimed ops ``fallback`` is fine; only ``wrong``, ``crash`` and ``hang`` fail.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.opinfo_report import CLAIMED, MAX_SAMPLES, TIMEOUT, Sweeper

# (OpInfo name, variant_test_name) -> {sample index: (expected status, reason)} for samples
# that do not run fully as WebAssembly. Sample indices are the order of
# ``op.sample_inputs("cpu", torch.float32)`` after ``torch.manual_seed(0)``.
EXPECTED: dict[tuple[str, str], dict[int, tuple[str, str]]] = {
    ("narrow", ""): {
        1: ("fallback", "start is a 0-dim tensor: no CompiledGraph runs"),
        3: ("fallback", "start is a 0-dim tensor: no CompiledGraph runs"),
    },
    ("linalg.pinv", ""): {1: ("fallback", "rtol=1.0, a Python float, becomes a float64 tensor: dtype not supported")},
    **{(name, ""): {0: ("fallback", "rows of 8000 elements: over the O(n^2) rank formulation's 2048")}
       for name in ("sort", "argsort", "msort")},
    # --- known bugs (strict xfail) ---
}

RUN_ALL = os.environ.get("TORCH_WASM_OPINFO_ALL") == "1"
BAD = ("wrong", "crash", "hang")


def _params():
    params = [pytest.param(k, True, id=k) for k in CLAIMED]
    if RUN_ALL:
        from tests.e2e.opinfo_report import ops_by_key
        claimed = set(CLAIMED)
        params += [pytest.param(k, False, id=k, marks=pytest.mark.slow)
                   for k in sorted(ops_by_key()) if k not in claimed]
    return params


@pytest.fixture(scope="module")
def sweeper():
    sw = Sweeper(timeout=TIMEOUT, max_samples=MAX_SAMPLES)
    yield sw
    sw.close()


def _key(name: str, variant: str) -> str:
    return name + ("." + variant if variant else "")


_EXPECTED_BY_KEY = {_key(*nv): entry for nv, entry in EXPECTED.items()}


def test_expected_table_only_names_claimed_ops():
    keys = set(_EXPECTED_BY_KEY)
    assert keys <= set(CLAIMED), f"EXPECTED names ops outside CLAIMED: {sorted(keys - set(CLAIMED))}"


@pytest.mark.parametrize("key,claimed", _params())
def test_opinfo(sweeper, key, claimed):
    results = sweeper.run_op(key)
    assert results, f"{key}: no samples"
    expected = _EXPECTED_BY_KEY.get(key, {})
    failures, xfails = [], []
    seen = set()
    for r in results:
        seen.add(r.index)
        exp = expected.get(r.index)
        where = f"{key} sample {r.index}"
        if exp is not None:
            status, reason = exp
            if r.status == status:
                if status in BAD:
                    xfails.append(f"{where}: {reason}")
            elif r.status == "wasm":
                failures.append(f"UNEXPECTED PASS {where}: expected {status} ({reason}) but it ran fully as "
                                f"WebAssembly; remove it from EXPECTED")
            else:
                failures.append(f"{where}: expected {status} ({reason}), got {r.status}: {r.detail}")
        elif r.status in BAD:
            failures.append(f"{r.status.upper()} {where}: {r.detail}")
        elif r.status == "fallback" and claimed:
            failures.append(f"{where}: claimed op fell back to eager: {r.detail}")
    stale = sorted(set(expected) - seen)
    if stale:
        failures.append(f"{key}: EXPECTED lists samples {stale} that were not produced")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    if xfails:
        pytest.xfail("; ".join(xfails))
