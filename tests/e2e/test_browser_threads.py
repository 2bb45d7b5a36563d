"""Threaded artifacts in headless Chromium: on Web Workers over a shared WebAssembly.Memory in
a cross-origin isolated page, bitwise the outputs of one thread and of the Python loader;
in a page that is not isolated, one thread, correct outputs and exactly one console warning
naming the COOP/COEP headers. A small graph (a pointwise op on 4096 floats, split anyway) runs
on the count its measured first calls chose (``model.threadsUsed``; ``csrc/js/threads.mjs``,
``ThreadChoice``), the workers woken by exactly the calls on all threads.

The isolated page is served by ``python -m torch_wasm_backend serve``'s own request handler
(``IsolatedHandler``: the headers are what makes the page isolated, so the test fails if
``serve`` stops sending them); the other by the plain handler of tests/e2e/test_browser.py.
Both add that file's routes (``/_e2e/`` -> a temporary directory) and result POSTs.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import threading

import numpy as np
import pytest
import torch

import torch_wasm_backend
from torch_wasm_backend.__main__ import IsolatedHandler
from torch_wasm_backend.runtime.artifact import load as py_load

from .js.models import ROOT
from .test_browser import CHROMIUM, Handler, open_page
from .test_threads import SmallCNN, _model, split_all
from .test_threads_choice import CALLS, woken_for

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (see tests/e2e/test_browser.py)")
COUNTS = (1, 2, 3)


class Tiny(torch.nn.Module):
    def forward(self, x):
        return x * 2 + 1


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """name -> (the Python loader's outputs, eager outputs), with artifacts, inputs and
    cases.json in a temporary directory: an MLP at the default thresholds and a small CNN
    (convolutions, batch norm, pooling, softmax) saved with every kernel split."""
    work = tmp_path_factory.mktemp("browser_threads")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)).eval()
    models = {
        "mlp": (mlp, torch.randn(64, 784, generator=torch.Generator().manual_seed(6)), False),
        "cnn": (_model(SmallCNN), torch.randn(2, 3, 29, 31, generator=torch.Generator().manual_seed(2)), True),
        "tiny": (Tiny().eval(), torch.randn(4096, generator=torch.Generator().manual_seed(11)), True),
    }
    listing, out = [], {}
    for name, (model, x, split) in models.items():
        torch._dynamo.reset()
        f = torch.compile(model, backend="wasm", options={"threads": 1})
        with torch.no_grad():
            eager = model(x)
            f(x)
        path = work / f"{name}.wasm"
        if split:
            with split_all():
                torch_wasm_backend.save(f, path, threads=True)
        else:
            torch_wasm_backend.save(f, path, threads=True)
        (work / f"{name}.x.bin").write_bytes(x.numpy().tobytes())
        got = py_load(path)(x.numpy())
        want = [np.ascontiguousarray(a) for a in (got if isinstance(got, (tuple, list)) else [got])]
        eager = [e.numpy() for e in (eager if isinstance(eager, tuple) else (eager,))]
        out[name] = (want, eager)
        listing.append(
            {
                "name": name,
                "artifact": f"/_e2e/{path.name}",
                "inputs": [f"/_e2e/{name}.x.bin"],
                "threads": list(COUNTS),
                "calls": CALLS if name == "tiny" else 3,
            }
        )
    (work / "cases.json").write_text(json.dumps(listing))
    return work, out


def _server(handler_base, work):
    handler = type(
        "RoutedHandler", handler_base, {"routes": {"/_e2e/": work}, "reports": {}, "arrived": threading.Condition()}
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(ROOT)))
    httpd.handler = handler
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def _report(handler_base, work, key):
    httpd = _server(handler_base, work)
    try:
        report = json.loads(open_page(httpd, "/tests/e2e/js/threads_page.html?cases=/_e2e/cases.json", key))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert report["ok"], report.get("error")
    return report


def _check_outputs(report, cases, threads_ran):
    for name, (want, eager) in cases.items():
        runs = report["results"][name]
        assert [r["threads"] for r in runs] == list(COUNTS), name
        for r in runs:
            assert r["ran"] == threads_ran(r["threads"]), (name, r)
            for call, outputs in enumerate(r["calls"]):
                assert len(outputs) == len(want), name
                for got, w, e in zip(outputs, want, eager):
                    data = base64.b64decode(got["base64"])
                    assert data == w.tobytes(), f"{name} at {r['threads']} threads, call {call}: {got['name']} differs"
                    np.testing.assert_allclose(w, e, rtol=1e-4, atol=1e-4, err_msg=f"{name} vs eager")


def test_isolated_page_runs_threads_on_web_workers_bitwise(cases):
    work, expected = cases
    report = _report((IsolatedHandler, Handler), work, "isolated")
    assert report["crossOriginIsolated"] is True, "serve's headers did not make the page cross-origin isolated"
    assert report["warnings"] == []
    _check_outputs(report, expected, lambda n: n)
    for name, runs in report["results"].items():
        for r in runs:
            assert r["used"] in (1, r["threads"]), (name, r)
    for r in report["results"]["tiny"]:
        if r["threads"] > 1:  # measured: the workers woken by the warm-up, the trial and the calls on all threads
            assert r["woken"] == woken_for(r["used"]), r


def test_page_without_isolation_runs_one_thread_and_warns_once_per_load(cases):
    work, expected = cases
    report = _report((Handler,), work, "plain")
    assert report["crossOriginIsolated"] is False
    _check_outputs(report, expected, lambda n: 1)
    assert all(r["used"] == 1 for runs in report["results"].values() for r in runs)
    loads_with_threads = sum(n > 1 for n in COUNTS) * len(expected)
    assert len(report["warnings"]) == loads_with_threads, report["warnings"]
    for w in report["warnings"]:
        assert "one thread" in w and "not cross-origin isolated" in w, w
        assert "Cross-Origin-Opener-Policy: same-origin" in w and "Cross-Origin-Embedder-Policy: require-corp" in w, w
