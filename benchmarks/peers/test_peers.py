"""Our compiled models next to onnxruntime-web, the most used WebAssembly inference runtime,
in the same run, interleaved. Opt-in (see conftest.py here)::

    python -m pytest benchmarks/peers -q --benchmark-only --benchmark-json=/tmp/peers.json
    python benchmarks/peers/report_peers.py /tmp/peers.json

One test per model (benchmark group = model name). Five engines, all single-threaded:

``eager``          PyTorch, 1 thread, ``torch.no_grad()`` (as in test_bench.py)
``wasm``           ``torch.compile(model, backend="wasm", options={"strict": True})`` in wasmtime:
                   the pytest-benchmark row of the test (its stats are this engine's timing)
``wasm_artifact``  the saved artifact (``torch_wasm_backend.save``) loaded with
                   ``torch_wasm_backend.load`` (wasmtime), called with numpy arrays
``node_ours``      the same artifact file in Node (V8) through csrc/js/loader.mjs (run_ours.mjs)
``node_ort``       the model exported to ONNX (export.py) in onnxruntime-web's WebAssembly
                   backend in Node, ``numThreads = 1`` (run_ort.mjs)

Both Node processes run with ``--no-liftoff`` and stay alive for the whole test. Every
engine's output is checked before anything is timed (eager: reference; wasm: strict compile
and assert_close, as in test_bench.py; artifact: assert_close to eager; node_ours: bitwise
equal to the artifact in wasmtime, it is the same code; node_ort: assert_close to eager with
rtol=atol=1e-4).

Timing is interleaved in blocks: the wasm rounds are timed by ``benchmark.pedantic``, and
before every block of ``k`` of its rounds its ``setup`` hook times a block of ``k`` calls of each
other engine (their order rotated every block). All engines thus share the same stretches of
machine load, which on a shared 2-core machine moves single measurements by up to 1.7x.
``extra_info["engines"]`` holds each engine's median/min per call; the report prints ratios.
Rounds: the case's ``rounds`` from models.py (at least 30) for every engine, scaled by
``TORCH_WASM_BENCH_PEERS_SCALE`` (default 1).

A test fails (after its timings are recorded) if any engine could not be prepared or gave a
wrong output, naming which.
"""

from __future__ import annotations

import math
import os
import statistics
import time
import traceback
from pathlib import Path

import engines
import export as onnx_export
import numpy as np
import pytest
import torch
from models import CASES
from torch._dynamo.utils import counters

SCALE = float(os.environ.get("TORCH_WASM_BENCH_PEERS_SCALE", "1"))
MIN_ROUNDS = 30  # the 224x224 cases time 10 rounds in test_bench.py: too few for a median of 5 engines here
BLOCKS = 20  # blocks per engine: each engine's rounds are spread over this many stretches of time
NODE_WARMUP_MS = 1500  # with --no-liftoff the wasm is optimised up front; this settles JS glue and caches
PY_WARMUP_S = 0.5
ORT_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
OTHER_ENGINES = ("eager", "wasm_artifact", "node_ours", "node_ort")


def _params():
    out = []
    for name, case in CASES.items():
        marks = [pytest.mark.benchmark(group=name)]
        if case.opt_in and os.environ.get(case.opt_in) != "1":
            marks.append(pytest.mark.skip(reason=f"opt-in: set {case.opt_in}=1"))
        elif case.wasm_skip:
            marks.append(pytest.mark.skip(reason=case.wasm_skip))
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.fixture(scope="session")
def peer_dir(tmp_path_factory):
    """Working directory for ONNX files, artifacts and inputs; skips when a peer cannot run here."""
    reason = engines.node_missing() or onnx_export.requirements_missing()
    if reason:
        pytest.skip(reason)
    try:
        engines.ensure_node_modules()
    except engines.PeerUnavailable as e:
        pytest.skip(str(e))
    return tmp_path_factory.mktemp("peers")


def _where(e: BaseException) -> str:
    """The innermost frames of ``e``'s traceback inside torch_wasm_backend (where a compiler
    failure happened), else the innermost frame."""
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if "torch_wasm_backend" in f.filename] or frames[-1:]
    return "".join(traceback.format_list(ours[-3:]))


def _summary(seconds: list[float]) -> dict:
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "rounds": len(seconds)}


def _timed_block(fn, k: int) -> list[float]:
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _warm(fn, rounds: int, seconds: float) -> int:
    t0, n = time.perf_counter(), 0
    while n < rounds or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n


class Interleave:
    """``benchmark.pedantic`` setup hook: before every ``k``-th wasm round, time a block of ``k``
    calls of every other engine, rotating their order from block to block."""

    def __init__(self, blocks: dict, k: int):
        self.blocks = blocks  # name -> (k -> list of seconds)
        self.k = k
        self.times = {name: [] for name in blocks}
        self.extra: dict[str, list[float]] = {}
        self.calls = 0
        self.cycle = 0

    def __call__(self):
        if self.calls % self.k == 0 and self.blocks:
            names = list(self.blocks)
            r = self.cycle % len(names)
            for name in names[r:] + names[:r]:
                self.times[name].extend(self.blocks[name](self.k))
            self.cycle += 1
        self.calls += 1


def _node_block(engine: engines.NodeEngine, extra: dict, name: str):
    def block(k: int) -> list[float]:
        reply = engine.time(k)
        for key, values in reply.items():
            if key != "times_ms":
                extra.setdefault(f"{name}.{key}", []).extend(values)
        return [ms / 1e3 for ms in reply["times_ms"]]

    return block


@pytest.mark.parametrize("name", _params())
def test_peers(benchmark, prepare, compile_wasm, single_thread, peer_dir, name):
    case = CASES[name]
    p = prepare(name)
    work = peer_dir / name
    work.mkdir()
    problems: list[str] = []
    info = benchmark.extra_info
    info.update(model=name, backend="peers", input=case.shape, threads=torch.get_num_threads(),
                ort_version=engines.ort_version(), node_flags=list(engines.NODE_FLAGS))
    if case.flops:
        info["flops"] = case.flops
    input_names = onnx_export.input_names(p.model, len(p.inputs))
    spec = engines.write_inputs(p.inputs, work, input_names)
    nodes: dict[str, engines.NodeEngine] = {}

    try:
        # --- prepare every engine; Node processes start early so that loading and compiling
        # their WebAssembly overlaps the Python-side compilation
        try:
            exported = onnx_export.export_case(name, work)
            info.update(onnx_exporter=exported.exporter, onnx_opset=exported.opset, onnx_nodes=exported.nodes,
                        onnx_reference_max_abs_err=exported.max_abs_err)
            if exported.rejected:
                info["onnx_rejected"] = exported.rejected
            nodes["node_ort"] = engines.NodeEngine(engines.RUN_ORT, Path(exported.path), spec)
        except Exception as e:
            problems.append(f"node_ort: ONNX export failed: {e}")

        # compiled before the artifact is saved, so that its compile time is cold (save compiles the
        # same graph, and the backend caches modules in memory and on disk)
        cm, compile_s = compile_wasm(p)  # resets Dynamo, strict, checked against eager
        info["compile_s"] = compile_s  # overlaps onnxruntime-web's start-up: test_bench.py times it alone

        artifact_path = work / f"{name}.wasm"
        try:
            engines.save_artifact(p.model, p.inputs, artifact_path)
            info["artifact_bytes"] = artifact_path.stat().st_size
        except Exception as e:
            problems.append(
                f"wasm_artifact/node_ours: torch_wasm_backend.save failed: {type(e).__name__}: {e}\n"
                f"  reproduce: torch_wasm_backend.save(torch.compile(build_model(CASES[{name!r}]), backend='wasm'), "
                f"'/tmp/{name}.wasm', example_inputs=CASES[{name!r}].make_inputs())  (benchmarks/models.py)\n"
                + _where(e))
            artifact_path = None
        if artifact_path is not None:
            nodes["node_ours"] = engines.NodeEngine(engines.RUN_OURS, artifact_path, spec)
        with torch.no_grad():  # saving traced the model again: cm must still run without recompiling
            graphs = counters["stats"]["unique_graphs"]
            cm(*p.inputs)
            assert counters["stats"]["unique_graphs"] == graphs, f"{name}: recompiled after save"

        # --- correctness of every engine, before any timing
        def eager_call():  # exactly the eager call of test_bench.py
            with torch.no_grad():
                return p.model(*p.inputs)

        calls = {"eager": eager_call}
        np_inputs = [x.numpy() for x in p.inputs]
        artifact_out = None
        if artifact_path is not None:
            import torch_wasm_backend

            art = torch_wasm_backend.load(artifact_path, variant="simd128")  # what Node 20 runs without flags
            artifact_out = torch.from_numpy(np.asarray(art(*np_inputs)))
            try:
                torch.testing.assert_close(artifact_out, p.expected, **case.tolerance)
                calls["wasm_artifact"] = lambda: art(*np_inputs)
            except AssertionError as e:
                problems.append(f"wasm_artifact: output differs from eager: {' '.join(str(e).split())[:400]}")
        for key, eng in list(nodes.items()):
            try:
                info[f"{key}_load_ms"] = eng.info["loadMs"]
                out = eng.outputs(work / f"{key}_out")[0]
                if key == "node_ours":
                    if artifact_out is not None and not torch.equal(out, artifact_out):
                        raise AssertionError("output is not bitwise equal to the same artifact in wasmtime "
                                             f"(max abs diff {float((out - artifact_out).abs().max()):.3g})")
                else:
                    err = float((out - p.expected).abs().max())
                    info["node_ort_max_abs_err"] = err
                    torch.testing.assert_close(out, p.expected, **ORT_TOLERANCE)
            except Exception as e:
                problems.append(f"{key}: {' '.join(str(e).split())[:600]}")
                eng.close()
                del nodes[key]
        if "node_ours" in nodes:
            info["node_version"] = nodes["node_ours"].info["node"]
        elif "node_ort" in nodes:
            info["node_version"] = nodes["node_ort"].info["node"]

        def wasm_call():
            with torch.no_grad():
                return cm(*p.inputs)

        if benchmark.disabled:  # --benchmark-disable: a correctness check of every engine, no timing
            benchmark.pedantic(wasm_call)
        else:
            rounds = max(1, round(max(case.rounds, MIN_ROUNDS) * SCALE))
            k = max(1, math.ceil(rounds / BLOCKS))
            warm_rounds = max(2, rounds // 10)
            # --- warm-up: Node engines (in their processes) while the Python ones warm up here
            for eng in nodes.values():
                eng.send(op="warmup", ms=NODE_WARMUP_MS, min_runs=warm_rounds)
            for fn in (wasm_call, *calls.values()):
                _warm(fn, warm_rounds, PY_WARMUP_S)
            for key, eng in nodes.items():
                info[f"{key}_warmup_runs"] = eng.recv()["runs"]

            extra: dict[str, list[float]] = {}

            blocks = {key: (lambda n, fn=fn: _timed_block(fn, n)) for key, fn in calls.items()}
            blocks.update({key: _node_block(eng, extra, key) for key, eng in nodes.items()})
            hook = Interleave({key: blocks[key] for key in OTHER_ENGINES if key in blocks}, k)
            info["loadavg_before"] = os.getloadavg()[0]
            t0 = time.perf_counter()
            benchmark.pedantic(wasm_call, setup=hook, rounds=rounds, warmup_rounds=0, iterations=1)
            info["timed_wall_s"] = time.perf_counter() - t0
            info["loadavg_after"] = os.getloadavg()[0]
            info.update(block=k, blocks=hook.cycle)

            s = benchmark.stats.stats
            summary = {"wasm": {"median_s": s.median, "min_s": s.min, "rounds": s.rounds}}
            for key, times in hook.times.items():
                summary[key] = _summary(times)
            for key, values in extra.items():  # e.g. node_ours.forward_ms: forward() alone
                engine, what = key.split(".", 1)
                summary[engine][what.replace("_ms", "") + "_median_s"] = statistics.median(values) / 1e3
            info["engines"] = summary
    finally:
        for eng in nodes.values():
            eng.close()

    if problems:
        pytest.fail(f"{name}: " + "\n".join(problems), pytrace=False)
