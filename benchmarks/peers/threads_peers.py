#!/usr/bin/env python3
"""Ours and onnxruntime-web at 1 and 2 threads, side by side, in Node, headless Chromium and
(ours only) wasmtime, in one run:

    python benchmarks/peers/threads_peers.py --large --json /tmp/threads_peers.json

Per model: inputs, the ONNX file (export.py) and our artifact saved with
``save(..., threads=True)`` (the threaded variant beside the single-thread module; a graph
too small to split is saved without one, and its 2-thread runtime then runs one thread, as
``load()`` says). Four runtimes per engine: ``ours`` and ``ours_t2`` (the artifact's SIMD128
code through csrc/js/loader.mjs with ``threads`` 1 and 2; in wasmtime through
``torch_wasm_backend.load``), ``ort`` and ``ort_t2`` (``ort.env.wasm.numThreads`` 1 and 2,
ORT's own threaded build). ``ours_t2`` uses the loaders' measured choice of 1 or 2 threads
(``threads_adaptive``); ``--fixed-threads`` runs its every call on 2, as ``numThreads = 2``
does ORT's (the choice's trial can be misled by a neighbour's spinning workers: ORT-web's
process runs between our batches). Chromium pages are served cross-origin isolated
(``shipping.Server(isolated=True)``: the COOP/COEP headers of ``python -m torch_wasm_backend
serve``), which both threaded runtimes need there.

The engines run one after the other (never competing for the two cores); within an engine and
model every runtime's output is checked first (ours bitwise equal to the SIMD128 module in
wasmtime, ORT within rtol = atol = 1e-4 of eager), then ``--rounds`` rounds each time one
batch of every runtime, in an order rotated each round (shipping.py's machinery: drivers,
batches sized to ``--batch-ms``, medians of per-call time). Prints a Markdown table; nothing
asserts a timing; exit code 1 if a runtime failed or gave a wrong output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import engines
import export as onnx_export
import numpy as np
import shipping  # also puts benchmarks/, benchmarks/peers/ and the checkout on sys.path
import torch
from models import CASES

ENGINES = ("node", "chromium", "wasmtime")
RUNTIMES = {"ours": 1, "ours_t2": 2, "ort": 1, "ort_t2": 2}  # runtime -> threads


def prepare(name: str, work: Path) -> shipping.Prepared:
    import torch_wasm_backend
    from torch_wasm_backend.ran import SaveError

    case = CASES[name]
    p, model, inputs = shipping.prepared_case(name, work)
    d, expected = p.dir, p.expected
    p.files["ort"] = p.files["ort_t2"] = Path(onnx_export.export_case(name, d).path)
    art = d / f"{name}.wasm"
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="wasm", options={"threads": 1})
    try:
        torch_wasm_backend.save(compiled, art, example_inputs=tuple(inputs), relaxed_simd=False, threads=True)
    except SaveError as e:  # too small to split: the 2-thread runtime runs one thread
        p.skipped["threaded variant"] = str(e)
        torch_wasm_backend.save(compiled, art, example_inputs=tuple(inputs), relaxed_simd=False)
    p.files["ours"] = p.files["ours_t2"] = art
    p.ours_wasmtime = np.asarray(torch_wasm_backend.load(art, variant="simd128")(*p.np_inputs))
    torch.testing.assert_close(torch.from_numpy(p.ours_wasmtime), torch.from_numpy(expected), **case.tolerance)
    return p


def make_runtime(engine: str, rt: str, p: shipping.Prepared, pages, fixed: bool = False) -> shipping.Driver:
    """``fixed``: ours runs every call on its thread count (no measured choice of 1 or N)."""
    model, threads, ours = p.files[rt], RUNTIMES[rt], rt.startswith("ours")
    if engine == "node":
        script = engines.RUN_OURS if ours else engines.RUN_ORT
        args = ("--variant", "simd128", *(("--fixed-threads",) if fixed else ())) if ours else ()
        return shipping.NodeDriver(script, model, p.spec, args=(*args, "--threads", str(threads)))
    if engine == "chromium":
        inputs = [{**x, "url": pages.server.url(Path(x["file"]))} for x in p.inputs]
        return shipping.PageDriver(
            pages(rt),
            {
                "op": "load",
                "runtime": "ours" if ours else "ort",
                "model": pages.server.url(model),
                "inputs": inputs,
                "variant": "simd128" if ours else None,
                "threads": threads,
                "threadsAdaptive": not fixed,
            },
        )
    import torch_wasm_backend

    art = torch_wasm_backend.load(model, variant="simd128", threads=threads, threads_adaptive=not fixed)
    return shipping.PyDriver(lambda: art(*p.np_inputs), {"loader": "torch_wasm_backend.load", "threads": art.threads})


def threads_ran(rt: str, info: dict) -> int | None:
    return info.get("threads") if rt.startswith("ours") else info.get("numThreads")


def run_engine(engine: str, prepared: list, args, pages) -> dict:
    out = {}
    for p in prepared:
        rts = [rt for rt in RUNTIMES if engine != "wasmtime" or rt.startswith("ours")]
        row = {"checks": {}, "problems": {}, "threads_ran": {}, "info": {}, "runtimes": {}, "notes": dict(p.skipped)}
        drivers = {}
        for rt in rts:  # start every process first: their compiles overlap
            try:
                drivers[rt] = make_runtime(engine, rt, p, pages, args.fixed_threads)
            except Exception as ex:  # noqa: BLE001 (reported in the table, the run goes on)
                row["problems"][rt] = f"start: {ex}"
        calls = {}
        try:
            for rt in list(drivers):
                try:
                    info = drivers[rt].load()
                    row["threads_ran"][rt] = threads_ran(rt, info)
                    row["info"][rt] = {
                        k: info[k] for k in ("crossOriginIsolated", "variant", "ortVersion") if k in info
                    }
                    got = drivers[rt].outputs(p.dir / f"{engine}_{rt}_out")[0]
                    row["checks"][rt] = shipping.check("ours" if rt.startswith("ours") else "ort", got, p)
                    if not row["checks"][rt]["ok"]:
                        raise RuntimeError(f"wrong output: {row['checks'][rt]}")
                    calls[rt] = shipping.calls_for(drivers[rt].warmup(args.warmup_ms), args.batch_ms)
                except Exception as ex:  # noqa: BLE001
                    row["problems"][rt] = str(ex)[:1000]
                    drivers.pop(rt).close()
            per_call = shipping.time_rounds({rt: drivers[rt] for rt in calls}, calls, args.rounds) if calls else {}
            row["runtimes"] = {rt: shipping.summary(v, calls[rt]) for rt, v in per_call.items()}
        finally:
            for d in drivers.values():
                d.close()
        out[p.name] = row
        shown = ", ".join(f"{rt} {v['median_ms']:.3g} ms" for rt, v in row["runtimes"].items())
        print(
            f"  {engine} {p.name}: {shown}" + (f"  PROBLEMS {row['problems']}" if row["problems"] else ""), flush=True
        )
    return out


def _ms(row: dict, rt: str) -> float | None:
    r = row["runtimes"].get(rt)
    return r["median_ms"] if r else None


def table(result: dict) -> str:
    head = [
        "engine",
        "model",
        "ours 1 thread",
        "ours 2 threads",
        "ours 1→2",
        "ORT-web 1",
        "ORT-web 2",
        "ORT-web 1→2",
        "ORT-web 2 / ours 2",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def t(x):
        return "—" if x is None else f"{x:.3g} ms"

    def r(a, b):
        return "—" if a is None or b is None else f"{a / b:.2f}x"

    for engine, models in result["engines"].items():
        for name, row in models.items():
            o1, o2, e1, e2 = (_ms(row, rt) for rt in RUNTIMES)
            ran = row["threads_ran"].get("ours_t2")
            o2_cell = t(o2) + (f" (ran {ran} thread)" if ran == 1 else "")
            lines.append(
                f"| {engine} | {name} | {t(o1)} | {o2_cell} | {r(o1, o2)} | {t(e1)} | {t(e2)} | "
                f"{r(e1, e2)} | {r(e2, o2)} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shipping.timing_args(ap, batch_ms=50, engines=ENGINES)
    ap.add_argument("--json", type=Path, required=True, help="results file")
    ap.add_argument("--fixed-threads", action="store_true",
                    help="ours at 2 threads runs every call on 2 (threads_adaptive off), as ORT-web's numThreads does")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: close every browser
    names = shipping.chosen_models(ap, args)
    reason = engines.node_missing() or onnx_export.requirements_missing()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if reason or ("chromium" in args.engines and chromium is None):
        print(reason or "chromium is not on PATH, or leave it out: --engines node wasmtime", file=sys.stderr)
        return 2
    engines.ensure_node_modules()
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="threads_peers_"))
    t0 = time.perf_counter()
    result = {
        "machine": shipping.machine(),
        "loadavg_before": os.getloadavg(),
        "settings": {k: getattr(args, k) for k in ("rounds", "batch_ms", "warmup_ms", "fixed_threads")},
        "versions": {"onnxruntime-web": engines.ort_version()},
        "inputs": {n: CASES[n].shape for n in names},
        "engines": {},
    }
    server = shipping.Server(work, isolated=True)
    pages = None
    try:
        prepared = [prepare(n, work) for n in names]
        print(f"prepared {', '.join(names)} in {time.perf_counter() - t0:.0f} s", flush=True)
        for engine in args.engines:
            pages = shipping.Pages(server, chromium, work)
            try:
                result["engines"][engine] = run_engine(engine, prepared, args, pages)
            finally:
                pages.close()
            args.json.write_text(json.dumps(result, indent=1))
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    result["loadavg_after"] = os.getloadavg()
    args.json.write_text(json.dumps(result, indent=1))
    print(table(result))
    problems = {(e, m): r["problems"] for e, ms in result["engines"].items() for m, r in ms.items() if r["problems"]}
    print(f"wrote {args.json} ({time.perf_counter() - t0:.0f} s)" + (f"; PROBLEMS: {problems}" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
