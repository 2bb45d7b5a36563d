"""Command line: ``python -m torch_wasm_backend {demo,inspect,run,serve}`` (``--help`` on each).

* ``demo``: compile a small CNN and an MLP, check them against eager PyTorch, and time both
  in interleaved rounds; say whether WebAssembly was faster or slower, with the spread.
* ``inspect model.wasm``: print a saved artifact's manifest, size breakdown and imports.
* ``run model.wasm in0.npy [in1.npy ...] [--out DIR] [--repeat N]``: run an artifact on
  ``.npy`` inputs, print the outputs and the latency per call.
* ``serve [--dir .] [--port 8000]``: a local web server for the browser demo: ``.mjs`` and
  ``.wasm`` MIME types, and the cross-origin isolation headers (COOP/COEP) that pages using
  shared WebAssembly memory (threaded artifacts) need. Prints the demo page's URL.

``inspect`` and ``run`` need numpy and a WebAssembly engine only (no torch).

Timing strategy: a measurement is the mean time per call over a batch of calls long enough
for the clock (``_per_call``); comparisons alternate the two contenders round by round, so
drift on a shared machine hits both, and report the median ratio and its range.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import sys
import time
from typing import ClassVar

from . import __version__


def plural(n: int, word: str) -> str:
    """``plural(1, "input") == "1 input"``, ``plural(2, "input") == "2 inputs"``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _per_call(fn, *args, min_seconds: float = 0.02) -> float:
    """Mean seconds per call of ``fn(*args)`` over a batch of calls lasting >= ``min_seconds``."""
    calls, t0 = 0, time.perf_counter()
    while True:
        fn(*args)
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return elapsed / calls


def _ms_range(seconds: list) -> str:
    return (f"{statistics.median(seconds) * 1e3:.3f} ms "
            f"({min(seconds) * 1e3:.3f}-{max(seconds) * 1e3:.3f})")


def _times_text(ratio: float) -> str:
    return f"{1 / ratio:.2f}x faster" if ratio < 1 else f"{ratio:.2f}x slower"


def describe_ratio(ratios: list) -> str:
    """A plain sentence about per-round ratios ``t_wasm / t_eager``: the median says faster or
    slower; the range says how far rounds disagreed (and whether they disagreed on which won)."""
    med, lo, hi = statistics.median(ratios), min(ratios), max(ratios)
    text = f"WebAssembly was {_times_text(med)} than eager" if f"{med:.2f}" != "1.00" else \
        "WebAssembly was as fast as eager, 1.00x"
    if len(ratios) == 1:
        return f"{text} (1 round)"
    text += f" (median of {len(ratios)} rounds; "
    if hi < 1:
        return text + f"rounds {1 / hi:.2f}x-{1 / lo:.2f}x faster)"
    if lo >= 1:
        return text + f"rounds {lo:.2f}x-{hi:.2f}x slower)"
    return text + (f"rounds ranged from {_times_text(lo)} to {_times_text(hi)}: they disagree on which is "
                   "faster, so the difference is within this machine's noise)")


def demo(rounds: int = 5) -> int:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1, groups=16), torch.nn.ReLU(), torch.nn.Conv2d(32, 32, 1),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10), torch.nn.Softmax(-1),
    ).eval()
    mlp = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                              torch.nn.GELU(), torch.nn.Linear(512, 10)).eval()
    cases = [("small CNN, 1x3x64x64", cnn, torch.randn(1, 3, 64, 64)),
             ("MLP 784-512-512-10, batch 32", mlp, torch.randn(32, 784))]
    print(f"torch {torch.__version__}; eager uses 1 thread, WebAssembly runs single-threaded in wasmtime; "
          f"{plural(rounds, 'timing round')} per model, wasm and eager alternating")
    for name, model, x in cases:
        fast = torch.compile(model, backend="wasm", options={"strict": True})
        with torch.no_grad():
            t0 = time.perf_counter()
            y = fast(x)
            compile_s = time.perf_counter() - t0
            ref = model(x)
            torch.testing.assert_close(y, ref)
            t_wasm, t_eager = [], []
            _per_call(fast, x), _per_call(model, x)  # warm up both
            for r in range(rounds):  # alternate which goes first
                for fn, out in ((fast, t_wasm), (model, t_eager))[:: 1 if r % 2 == 0 else -1]:
                    out.append(_per_call(fn, x))
        ratios = [w / e for w, e in zip(t_wasm, t_eager)]
        print(f"\n{name}: compiled in {compile_s:.2f} s; matches eager (max abs diff "
              f"{(y - ref).abs().max().item():.1e})")
        print(f"  first output row: {[round(v, 4) for v in y[0, :5].tolist()]} ...")
        print(f"  latency per call, median (range) of {plural(rounds, 'round')}: "
              f"wasm {_ms_range(t_wasm)}, eager {_ms_range(t_eager)}")
        print(f"  {describe_ratio(ratios)}")
    return 0


def inspect_artifact(path: str) -> int:
    import json

    from .runtime.artifact import import_count, read_manifest, size_breakdown

    wasm = open(path, "rb").read()
    manifest = read_manifest(wasm)
    sizes = size_breakdown(wasm)
    print(f"{path}: {len(wasm)} bytes; {plural(len(manifest['inputs']), 'input')}, "
          f"{plural(len(manifest['outputs']), 'output')}")
    print(f"  code {sizes.get('code', 0)} bytes, weights and constants (data) {sizes.get('data', 0)} bytes, "
          f"custom sections {sizes.get('custom', 0)} bytes")
    print(f"  imports: {import_count(wasm)}")
    for name, entry in manifest.get("variants", {}).items():
        print(f"  variant {name}: {entry['bytes']} bytes of code in custom section {entry['section']!r} "
              "(shares the weights; run where the engine has relaxed SIMD)")
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0


def run_artifact(path: str, inputs: list, out_dir: str | None, engine: str, repeat: int) -> int:
    import os

    import numpy as np

    from .runtime.artifact import load

    t0 = time.perf_counter()
    model = load(path, engine)
    load_ms = (time.perf_counter() - t0) * 1e3
    specs = model.manifest["inputs"]
    if len(inputs) != len(specs):
        names = ", ".join(f"{s['name']} {s['dtype']}{s['shape']}" for s in specs)
        raise ValueError(f"{path} takes {plural(len(specs), 'input')} ({names}), got {plural(len(inputs), '.npy file')}"
                         f"; pass one .npy file per input, in this order")
    arrays = [np.load(p) for p in inputs]
    t0 = time.perf_counter()
    outs = model.run_flat(*arrays)  # manifest order, whatever structure the model returns
    first_ms = (time.perf_counter() - t0) * 1e3
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model.run_flat(*arrays)
        times.append((time.perf_counter() - t0) * 1e3)
    for spec, arr in zip(model.manifest["outputs"], outs):
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            np.save(os.path.join(out_dir, f"{spec['name']}.npy"), arr)
        print(f"{spec['name']}: {arr.dtype}{list(arr.shape)} {np.array2string(arr.reshape(-1)[:8], precision=5)}"
              f"{' ...' if arr.size > 8 else ''}")
    if out_dir:
        print(f"wrote {plural(len(outs), 'output')} to {out_dir}")
    spread = f", min {min(times):.3f}, max {max(times):.3f}" if repeat > 1 else ""
    print(f"latency per call: {statistics.median(times):.3f} ms (median of {plural(repeat, 'run')}{spread}; "
          f"inputs copied in and outputs out; first run {first_ms:.3f} ms; loaded and compiled in {load_ms:.1f} ms; "
          f"engine {engine}, variant {model.variant})")
    return 0


ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}
DEMO_PAGE = "examples/browser/"


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    """``serve``'s request handler: JavaScript and WebAssembly MIME types, the cross-origin
    isolation headers on every response (``crossOriginIsolated`` pages: shared WebAssembly
    memory, so threaded artifacts run on Web Workers), and no caching."""

    extensions_map: ClassVar[dict] = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}

    def end_headers(self):
        for key, value in ISOLATION_HEADERS.items():  # cross-origin isolation: SharedArrayBuffer
            self.send_header(key, value)
        self.send_header("Cache-Control", "no-store")  # a rebuilt model.wasm is picked up on reload
        super().end_headers()


def serve(directory: str, port: int, host: str) -> int:
    import functools
    import os

    if not os.path.isdir(directory):
        raise ValueError(f"--dir {directory}: not a directory")
    try:
        handler = functools.partial(IsolatedHandler, directory=directory)
        httpd = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror or e}; pick another --port (0 picks a free one)") \
            from e
    with httpd:
        root = f"http://{host}:{httpd.server_address[1]}/"
        print(f"serving {os.path.abspath(directory)} at {root} (cross-origin isolated: COOP same-origin, "
              f"COEP require-corp; Ctrl-C stops)")
        if os.path.isfile(os.path.join(directory, DEMO_PAGE, "index.html")):
            print(f"demo page: {root}{DEMO_PAGE}")
            if not os.path.isfile(os.path.join(directory, DEMO_PAGE, "model.wasm")):
                print("  (no examples/browser/model.wasm yet: run python examples/browser/make_model.py first)")
        else:
            print(f"no {DEMO_PAGE} under {directory}: run serve from the repository root for the demo page")
        sys.stdout.flush()
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m torch_wasm_backend",
                                     description="Compile PyTorch models to WebAssembly; inspect, run and serve "
                                                 "saved .wasm artifacts.")
    parser.add_argument("--version", action="version", version=f"torch_wasm_backend {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="what to do (python -m torch_wasm_backend COMMAND --help for its options)")
    p = sub.add_parser("demo", help="compile two small models, check them against eager, time them",
                       description="Compile a small CNN and an MLP with backend='wasm', check them against eager "
                                   "PyTorch and time both in alternating rounds.")
    p.add_argument("--rounds", type=_positive, default=5, metavar="N",
                   help="timing rounds per model; each round times wasm and eager once (default: 5)")
    p = sub.add_parser("inspect", help="print a saved artifact's manifest, sizes and imports",
                       description="Print a saved artifact's manifest, its code/weight/custom-section bytes and "
                                   "its import count.")
    p.add_argument("artifact", metavar="ARTIFACT", help="a .wasm file written by torch_wasm_backend.save()")
    p = sub.add_parser("run", help="run a saved artifact on .npy inputs and time it",
                       description="Run a saved artifact on .npy inputs (numpy and a WebAssembly engine only, no "
                                   "torch); print the outputs and the latency per call.")
    p.add_argument("artifact", metavar="ARTIFACT", help="a .wasm file written by torch_wasm_backend.save()")
    p.add_argument("inputs", nargs="*", metavar="INPUT.npy",
                   help="one .npy file per model input, in the manifest's order (see inspect)")
    p.add_argument("--out", metavar="DIR", help="write each output to DIR/<output name>.npy")
    p.add_argument("--engine", default="wasmtime", choices=["wasmtime", "wasmer"],
                   help="WebAssembly engine (default: wasmtime; wasmer needs Python <= 3.10)")
    p.add_argument("--repeat", type=_positive, default=1, metavar="N",
                   help="time N runs after a first, warm-up run; print their median and range (default: 1)")
    p = sub.add_parser("serve", help="serve a directory for the browser demo (MIME types, COOP/COEP headers)",
                       description="Serve a directory over HTTP with .mjs/.wasm MIME types and the cross-origin "
                                   "isolation headers (COOP/COEP) that threaded artifacts need; prints the demo "
                                   "page's URL.")
    p.add_argument("--dir", default=".", help="directory to serve; the repository root for the demo (default: .)")
    p.add_argument("--port", type=int, default=8000, help="TCP port; 0 picks a free one (default: 8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return demo(args.rounds)
        if args.command == "inspect":
            return inspect_artifact(args.artifact)
        if args.command == "serve":
            return serve(args.dir, args.port, args.host)
        return run_artifact(args.artifact, args.inputs, args.out, args.engine, args.repeat)
    except (OSError, ValueError, RuntimeError) as e:  # bad input, a missing engine, a trap: say it, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
