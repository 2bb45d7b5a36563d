#!/usr/bin/env python3
"""Does a larger FMA register tile pay in the shipping engines? (issue 18)

    python benchmarks/peers/fma_tile_probe.py --json /tmp/fma_tiles.json

Times, interleaved in the same rounds in each engine (headless Chromium, Node 20 with
``--experimental-wasm-relaxed-simd``, wasmtime), three kernels on the same data: the shipped
SIMD128 packed GEMM ($f32_gemm_packed, 2x4 dot product, 8 accumulators), its FMA twin
($f32_gemm_packed_fma, the artifact's relaxed-SIMD variant) and an XNNPACK-style 6x8
"loadsplat" FMA tile over B rows (fma_tile_probe.wat: 12 accumulators, the tile whose
accumulator count covers the FMA latency). All three must return the same C bits (the
data are small exact values). Prints GFLOP/s, medians and best batches. The drivers and
the interleaved batch timing are shipping.py's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import shipping

KERNELS = ("g_simd128", "g_fma_2x4", "g_fma_6x8")
SHAPES = [(240, 256, 256), (960, 1024, 1024)]  # M % 6 == 0 for the probe tile


def build(m: int, n: int, k: int, out: Path) -> Path:
    a, b = 4096, 4096 + 4 * m * k
    bp = b + 4 * k * n
    br = bp + 4 * k * n
    c = br + 4 * k * n
    values = {"PAGES": (c + 4 * m * n) // 65536 + 1, "A": a, "B": b, "BP": bp, "BR": br, "C": c, "M": m, "N": n,
              "K": k, "MK": m * k, "KN": k * n, "PS": 16 * k, "NQ": n // 4}
    text = (HERE / "fma_tile_probe.wat").read_text()
    for key in sorted(values, key=len, reverse=True):
        text = text.replace(f"@{key}@", str(values[key]))
    lib = (shipping.ROOT / "csrc" / "wat" / "f32_gemm_packed.wat").read_text()
    src = out / f"probe_{m}x{n}x{k}.wat"
    src.write_text("(module\n" + text + lib + ")\n")
    wasm = src.with_suffix(".wasm")
    subprocess.run([shutil.which("wat2wasm"), str(src), "-o", str(wasm)], check=True)
    return wasm


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", nargs="+", default=list(shipping.ENGINES), choices=shipping.ENGINES)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fma_tiles_"))
    server = shipping.Server(work)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    results = {}
    try:
        for engine in args.engines:
            pages = shipping.Pages(server, chromium, work)
            try:
                for m, n, k in SHAPES:
                    wasm = build(m, n, k, work)
                    reps = max(1, round(2e8 / (2 * m * n * k)))
                    drivers = {e: shipping.make_kernel(engine, f"{e}_{m}", wasm, e, reps, pages, work, relaxed=True)
                               for e in KERNELS}
                    for d in drivers.values():
                        d.load()
                    outs = {e: d.outputs(work)[0].tobytes() for e, d in drivers.items()}
                    if len(set(outs.values())) != 1:
                        raise SystemExit(f"{engine} {m}x{n}x{k}: the kernels disagree")
                    calls = {e: shipping.calls_for(d.warmup(1000), 40) for e, d in drivers.items()}
                    per = shipping.time_rounds(drivers, calls, args.rounds)
                    flops = 2 * m * n * k * reps
                    row = {e: {"median_gflops": flops / (statistics.median(v) * 1e6),
                               "best_gflops": flops / (min(v) * 1e6)} for e, v in per.items()}
                    results[f"{engine} {m}x{n}x{k}"] = row
                    print(f"{engine} {m}x{n}x{k}: " + ", ".join(
                        f"{e[2:]} {r['median_gflops']:.1f} (best {r['best_gflops']:.1f})" for e, r in row.items()),
                        flush=True)
                    for d in drivers.values():
                        d.close()
            finally:
                pages.close()
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
