#!/usr/bin/env python3
"""Whether a relaxed-SIMD int8 GEMM could beat the SIMD128 one: the register-only peaks of
``i32x4.dot_i16x8_s`` (+ add) and ``i32x4.relaxed_dot_i8x16_i7x16_add_s`` in every engine.

Usage:
  python benchmarks/int8_dot_peak.py [--no-browser]

Runs ``int8_dot_peak.wat`` (12 independent chains per kernel) in wasmtime (relaxed SIMD
deterministic, as this backend configures it, and not), Node (``--experimental-wasm-relaxed-simd``)
and headless Chromium (``int8_dot_peak.html``, served from this directory, result POSTed
back). GOP/s count 2 per int8 product. The relaxed dot's i7 operand must lie in [0, 127]
for results that agree on every engine, so an exact int8 x int8 product costs two of them
(weights split as ``(w & 127) - 128 * (w < 0)``): its "exact" rate is half the raw one. A
relaxed GEMM is worth writing only where that exceeds the SIMD128 dot's rate.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

import wasmtime

HERE = Path(__file__).resolve().parent


def wasmtime_peaks(wasm: bytes, deterministic: bool) -> dict:
    cfg = wasmtime.Config()
    cfg.wasm_relaxed_simd = True
    cfg.wasm_relaxed_simd_deterministic = deterministic
    store = wasmtime.Store(wasmtime.Engine(cfg))
    exports = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), []).exports(store)
    best = {}
    for _ in range(5):
        for name, products in (("dot16", 96), ("rdot", 192)):
            t0 = time.thread_time()
            exports[name](store, 2_000_000, 3)
            best[name] = max(best.get(name, 0.0), 2 * 2e6 * products / (time.thread_time() - t0) / 1e9)
    return best


def chromium_peaks(wasm_path: Path) -> dict | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    got = {}
    arrived = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map: ClassVar[dict] = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                          ".wasm": "application/wasm"}

        def translate_path(self, path):
            return str(wasm_path) if path.startswith("/peak.wasm") else super().translate_path(path)

        def do_POST(self):
            got.update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(HERE)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/int8_dot_peak.html?wasm=/peak.wasm&report=/result"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                 f"--user-data-dir={profile}", url],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            arrived.wait(120)
        finally:
            proc.terminate()
            proc.wait(10)
            httpd.shutdown()
    return got or None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    wasm = wasmtime.wat2wasm((HERE / "int8_dot_peak.wat").read_text())
    rows = {"wasmtime (relaxed deterministic)": wasmtime_peaks(wasm, True),
            "wasmtime (relaxed not deterministic)": wasmtime_peaks(wasm, False)}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "peak.wasm"
        path.write_bytes(wasm)
        if shutil.which("node"):
            out = subprocess.run(["node", "--experimental-wasm-relaxed-simd", HERE / "int8_dot_peak.mjs", path],
                                 check=True, capture_output=True, text=True).stdout
            version = subprocess.run(["node", "--version"], check=True, capture_output=True, text=True).stdout
            rows[f"Node {version.strip()}"] = json.loads(out)
        if not args.no_browser:
            r = chromium_peaks(path)
            if r is not None:
                agent = r.pop("userAgent", "")
                version = next((w for w in agent.split() if w.startswith(("Chrome/", "HeadlessChrome/"))), agent)
                rows[f"Chromium {version.split('/')[-1]}"] = r
    print("| engine | dot_i16x8_s + add | relaxed_dot_i8x16_i7x16_add_s (raw) | relaxed, exact int8 (2 per product) |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['dot16']:.0f} GOP/s | {r['rdot']:.0f} GOP/s | {r['rdot'] / 2:.0f} GOP/s |")


if __name__ == "__main__":
    main()
