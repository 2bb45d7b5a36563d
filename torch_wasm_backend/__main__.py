"""Command line.

* ``demo``: compile a small CNN and an MLP, check them against eager PyTorch, print the
  results and their speed.
* ``inspect model.wasm``: print a saved artifact's manifest, size breakdown and imports.
* ``run model.wasm in0.npy [in1.npy ...] [--out DIR]``: run an artifact on ``.npy`` inputs.
* ``serve [--dir .] [--port 8000]``: a local web server with the right MIME types for
  ``.mjs`` and ``.wasm`` (for the browser demo).

``inspect`` and ``run`` need numpy and a WebAssembly engine only (no torch).
"""

from __future__ import annotations

import argparse
import sys
import time


def _timeit(fn, *args, repeat: int = 50) -> float:
    fn(*args)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat // 5):
            fn(*args)
        best = min(best, (time.perf_counter() - t0) / (repeat // 5))
    return best


def demo() -> int:
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
    print(f"torch {torch.__version__}; eager uses 1 thread, WebAssembly runs single-threaded in wasmtime")
    for name, model, x in cases:
        fast = torch.compile(model, backend="wasm", options={"strict": True})
        with torch.no_grad():
            t0 = time.perf_counter()
            y = fast(x)
            compile_s = time.perf_counter() - t0
            ref = model(x)
            torch.testing.assert_close(y, ref)
            t_wasm, t_eager = _timeit(fast, x), _timeit(model, x)
        print(f"\n{name}: compiled in {compile_s:.2f} s; matches eager (max abs diff "
              f"{(y - ref).abs().max().item():.1e})")
        print(f"  first output row: {[round(v, 4) for v in y[0, :5].tolist()]} ...")
        print(f"  latency: wasm {t_wasm * 1e3:.3f} ms, eager {t_eager * 1e3:.3f} ms "
              f"(wasm/eager = {t_wasm / t_eager:.2f}x)")
    return 0


def inspect_artifact(path: str) -> int:
    import json

    from .runtime.artifact import import_count, read_manifest, size_breakdown

    wasm = open(path, "rb").read()
    manifest = read_manifest(wasm)
    sizes = size_breakdown(wasm)
    print(f"{path}: {len(wasm)} bytes")
    print(f"  code {sizes.get('code', 0)} bytes, weights and constants (data) {sizes.get('data', 0)} bytes, "
          f"custom sections {sizes.get('custom', 0)} bytes")
    print(f"  imports: {import_count(wasm)}")
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return 0


def run_artifact(path: str, inputs: list, out_dir: str | None, engine: str) -> int:
    import os

    import numpy as np

    from .runtime.artifact import load

    model = load(path, engine)
    arrays = [np.load(p) for p in inputs]
    outs = model(*arrays)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for spec, arr in zip(model.manifest["outputs"], outs):
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            np.save(os.path.join(out_dir, f"{spec['name']}.npy"), arr)
        print(f"{spec['name']}: {arr.dtype}{list(arr.shape)} {np.array2string(arr.reshape(-1)[:8], precision=5)}"
              f"{' ...' if arr.size > 8 else ''}")
    return 0


def serve(directory: str, port: int) -> int:
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    handler.func.extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                                   ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        print(f"serving {directory} at http://127.0.0.1:{port}/ (Ctrl-C stops)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m torch_wasm_backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="compile two small models, check them against eager, time them")
    p = sub.add_parser("inspect", help="print a saved artifact's manifest, sizes and imports")
    p.add_argument("artifact")
    p = sub.add_parser("run", help="run a saved artifact on .npy inputs")
    p.add_argument("artifact")
    p.add_argument("inputs", nargs="*")
    p.add_argument("--out", help="directory for output .npy files")
    p.add_argument("--engine", default="wasmtime")
    p = sub.add_parser("serve", help="serve a directory locally with .mjs/.wasm MIME types")
    p.add_argument("--dir", default=".")
    p.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return demo()
        if args.command == "inspect":
            return inspect_artifact(args.artifact)
        if args.command == "serve":
            return serve(args.dir, args.port)
        return run_artifact(args.artifact, args.inputs, args.out, args.engine)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
