"""Saved artifacts run in headless Chromium with the JavaScript loader (csrc/js/loader.mjs) and
must give the same bytes as the Python loader (torch_wasm_backend.load); the demo page in
examples/browser renders its output.

The repository root is served by ``http.server`` on 127.0.0.1 (a free port, in a thread);
``/_e2e/`` maps to a temporary directory with the artifacts and raw inputs, and
``/examples/browser/model.wasm`` to a demo model saved by examples/browser/make_model.py,
so nothing is written into the repository. Chromium runs headless from its command line;
the pages POST their results to ``/_e2e/result/<key>`` and the test stops the browser once
they arrive. (``--dump-dom`` can dump before a module's asynchronous work finishes, and
``--virtual-time-budget`` does not wait for off-thread WebAssembly compilation.)
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from tests.e2e.js.models import ROOT, raw, save_case

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not on PATH; install it (apt-get install -y --no-install-recommends chromium) "
           "to run the browser tests")
CASES = {"mlp": "url", "cnn": "response", "transformer": "buffer", "mixed": "url", "float64": "buffer", "float16": "url", "narrow_ints": "buffer"}
FORCED = {"mlp_simd128": ("mlp", "simd128")}  # the same artifact, its SIMD128 module forced


class Handler(http.server.SimpleHTTPRequestHandler):
    # Explicit types: module scripts need a JavaScript MIME type, streaming compilation
    # needs application/wasm, and Python 3.11's own table only knows .mjs from /etc/mime.types.
    extensions_map: ClassVar[dict] = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}
    routes: ClassVar[dict] = {}  # URL path prefix (ending in "/") or exact path -> directory or file serving it
    reports: ClassVar[dict] = {}  # key -> POSTed body
    arrived: ClassVar[threading.Condition] = threading.Condition()

    def translate_path(self, path):
        clean = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, target in self.routes.items():
            if prefix.endswith("/") and clean.startswith(prefix):
                return str(Path(target) / clean[len(prefix):])
            if clean == prefix:
                return str(target)
        return super().translate_path(path)

    def do_POST(self):
        prefix = "/_e2e/result/"
        if not self.path.startswith(prefix):
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with self.arrived:
            self.reports[self.path[len(prefix):]] = body
            self.arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("browser_e2e")


@pytest.fixture(scope="module")
def demo_model(workdir):
    spec = importlib.util.spec_from_file_location("make_model", ROOT / "examples" / "browser" / "make_model.py")
    make_model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_model)
    path = workdir / "demo" / "model.wasm"
    path.parent.mkdir()
    make_model.save(path)
    import torch_wasm_backend

    return path, torch_wasm_backend.load(path)(make_model.demo_input()).ravel()


@pytest.fixture(scope="module")
def server(workdir, demo_model):
    handler = type("RoutedHandler", (Handler,), {
        "routes": {"/_e2e/": workdir, "/examples/browser/model.wasm": demo_model[0]},
        "reports": {}, "arrived": threading.Condition()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(ROOT)))
    httpd.handler = handler
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def open_page(httpd, path: str, key: str, timeout: float = 60) -> str:
    """Open ``path`` (with ``report=`` appended) in a fresh headless Chromium profile and return
    what the page POSTs to ``/_e2e/result/<key>``."""
    url = f"http://127.0.0.1:{httpd.server_address[1]}{path}{'&' if '?' in path else '?'}report=/_e2e/result/{key}"
    handler = httpd.handler
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}", url]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            with handler.arrived:
                while key not in handler.reports and proc.poll() is None and time.monotonic() < deadline:
                    handler.arrived.wait(0.2)
        finally:
            if proc.poll() is None:  # stop the browser and the helper processes it started
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            err = proc.communicate()[1]
    if key not in handler.reports:
        why = f"exited with {proc.returncode}" if time.monotonic() < deadline else f"sent nothing in {timeout} s"
        pytest.fail(f"chromium {why} on {url}:\n{err[-3000:]}")
    return handler.reports[key]


def test_browser_matches_python_bitwise(workdir, server):
    cases = {name: save_case(name, workdir) for name in CASES}
    listing = [{"name": name, "source": source, "artifact": f"/_e2e/{cases[name].artifact.name}",
                "inputs": [f"/_e2e/{f.name}" for f in cases[name].input_files]} for name, source in CASES.items()]
    listing += [{**next(c for c in listing if c["name"] == of), "name": name, "variant": variant}
                for name, (of, variant) in FORCED.items()]
    (workdir / "cases.json").write_text(json.dumps(listing))
    report = json.loads(open_page(server, "/tests/e2e/js/browser_check.html?cases=/_e2e/cases.json", "check"))
    assert report["ok"], report.get("error")
    for name, (of, variant) in FORCED.items():
        assert report["results"][name]["variant"] == variant, name
    for name in [*CASES, *FORCED]:
        case = cases[FORCED[name][0] if name in FORCED else name]
        variant = report["results"][name]["variant"]
        if name not in FORCED:  # Chromium has relaxed SIMD: the FMA variant runs where there is one
            assert variant == ("relaxed_simd" if case.fused is not None else "simd128"), (name, variant)
        outputs = report["results"][name]["outputs"]
        assert [o["name"] for o in outputs] == [o["name"] for o in case.manifest["outputs"]], name
        for got, want, eager in zip(outputs, case.reference(variant), case.eager):
            assert got["shape"] == list(want.shape) and got["dtype"] == str(want.dtype), (name, got["name"])
            data = base64.b64decode(got["base64"])
            if data != raw(want):
                diff = np.flatnonzero(np.frombuffer(data, np.uint8) != np.frombuffer(raw(want), np.uint8)) \
                    if len(data) == want.nbytes else np.array([-1])
                pytest.fail(f"{name} {got['name']}: browser and python outputs differ ({len(data)} vs "
                            f"{want.nbytes} bytes; differing bytes {diff[:10].tolist()}) in {report['userAgent']}")
            np.testing.assert_allclose(want, eager, rtol=1e-4, atol=1e-4, err_msg=f"{name} {got['name']} vs eager")


def test_demo_page_renders(server, demo_model):
    _, expected = demo_model
    shown = json.loads(open_page(server, "/tests/e2e/js/demo_check.html", "demo"))
    assert shown["status"].startswith("ok:"), f"demo page status: {shown['status']}"
    assert f"argmax {int(np.argmax(expected))}" in shown["status"]
    assert len(shown["logits"]) == expected.size, shown
    np.testing.assert_allclose(np.array(shown["logits"], dtype=np.float64), expected, rtol=1e-5, atol=1e-6)
    assert "per call" in shown["latency"] and "batches of at least 100 ms" in shown["latency"], shown["latency"]
    assert 0 < float(shown["perCallMs"]) < 100, shown  # timed over batches: not the coarse timer's 0.000
