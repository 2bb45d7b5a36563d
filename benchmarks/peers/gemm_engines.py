#!/usr/bin/env python3
"""Two versions of the packed GEMM kernel (csrc/wat/f32_gemm_packed.wat) in the same run,
in each engine: headless Chromium, Node and wasmtime, with the SIMD128 and FMA register
peaks timed in the same rounds.

    python benchmarks/peers/gemm_engines.py --before HEAD~1 --json /tmp/gemm_engines.json
    python benchmarks/peers/gemm_engines.py --before main --shape 1024 1024 1024 --rounds 9

"before" is the file at a git revision (``git show REV:csrc/wat/f32_gemm_packed.wat``),
"after" the working copy (or ``--after REV``). For every shape each version is assembled into
a module from gemm_harness.wat (its SIMD128 part only: the artifacts' code), whose one export
runs the GEMM ``reps`` times; both versions must return the same C[0, 0] bits. The drivers
and the interleaved batch timing are shipping.py's (one page per version in Chromium, one
process per version in Node, in-process in wasmtime). Prints GFLOP/s (medians over batches),
after/before and each version's fraction of the peaks.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import shipping
from gemm_probe import plain_part

ROOT = shipping.ROOT
KERNEL = "csrc/wat/f32_gemm_packed.wat"
DEFAULT_SHAPES = [(256, 256, 256), (1024, 1024, 1024), (32, 512, 784), (64, 3136, 576)]
FLOPS_PER_CALL = 2e8  # reps per call so that one call is ~5 ms (wasmtime's host call cost < 1%)


def kernel_text(rev: str | None) -> str:
    if rev is None:
        return (ROOT / KERNEL).read_text()
    return subprocess.run(["git", "show", f"{rev}:{KERNEL}"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def build(kernel: str, m: int, n: int, k: int, out: Path) -> Path:
    def up(x):
        return (x + 4095) // 4096 * 4096

    a = 4096
    b = a + up(4 * m * k)
    c = b + up(4 * k * n)
    bp = c + up(4 * m * n)
    end = bp + up(4 * (-(-k // 4) * 4) * (-(-n // 4) * 4))
    values = {"PAGES": end // 65536 + 1, "A": a, "B": b, "C": c, "BP": bp, "M": m, "N": n, "K": k,
              "MK": m * k, "KN": k * n}
    text = (HERE / "gemm_harness.wat").read_text()
    for key, v in values.items():
        text = text.replace(f"@{key}@", str(v))
    src = out.with_suffix(".wat")
    src.write_text("(module\n" + text + "\n" + plain_part(kernel) + ")\n")
    subprocess.run([shutil.which("wat2wasm") or "wat2wasm", "--disable-relaxed-simd", str(src), "-o", str(out)],
                   check=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision of the 'before' kernel")
    ap.add_argument("--after", help="git revision of the 'after' kernel (default: the working copy)")
    ap.add_argument("--shape", type=int, nargs=3, action="append", metavar=("M", "N", "K"))
    ap.add_argument("--engines", nargs="+", choices=shipping.ENGINES, default=list(shipping.ENGINES))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--batch-ms", type=float, default=40)
    ap.add_argument("--warmup-ms", type=float, default=800)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    shapes = [tuple(s) for s in args.shape] if args.shape else DEFAULT_SHAPES
    chromium = shutil.which("chromium")
    if "chromium" in args.engines and chromium is None:
        ap.error("chromium is not on PATH; leave it out with --engines node wasmtime")
    work = Path(tempfile.mkdtemp(prefix="gemm_engines_"))
    versions = {"before": kernel_text(args.before), "after": kernel_text(args.after)}
    peaks = shipping.build_peaks(work)
    modules = {(v, s): build(text, *s, work / f"{v}_{'x'.join(map(str, s))}.wasm")
               for v, text in versions.items() for s in shapes}
    server = shipping.Server(work)
    result = {"before": args.before, "after": args.after or "working copy", "machine": shipping.machine(),
              "engines": {}}
    try:
        for engine in args.engines:
            pages = shipping.Pages(server, chromium, work)
            rows = {}
            try:
                peak_drivers = {e: shipping.make_peak(engine, e, peaks, work, pages) for e in shipping.PEAKS}
                for d in peak_drivers.values():
                    d.load()
                calls = {e: shipping.calls_for(d.warmup(args.warmup_ms), args.batch_ms)
                         for e, d in peak_drivers.items()}
                for m, n, k in shapes:
                    flops = 2 * m * n * k
                    reps = max(1, round(FLOPS_PER_CALL / flops))
                    drivers = {v: shipping.make_kernel(engine, v, modules[(v, (m, n, k))], "gemm", reps, pages, work)
                               for v in versions}
                    bits = {}
                    for v, d in drivers.items():
                        d.load()
                        bits[v] = d.outputs(work)[0].tobytes()
                        calls[v] = shipping.calls_for(d.warmup(args.warmup_ms), args.batch_ms)
                    if len(set(bits.values())) != 1:
                        raise SystemExit(f"{engine} {m}x{n}x{k}: before and after give different C[0, 0]")
                    per_call = shipping.time_rounds({**drivers, **peak_drivers}, calls, args.rounds)
                    g = {v: [flops * reps / (t * 1e6) for t in per_call[v]] for v in versions}
                    g.update({e: [shipping.PEAKS[e] * shipping.PEAK_ITERS / (t * 1e6) for t in per_call[e]]
                              for e in peak_drivers})
                    row = {name: {"median_gflops": statistics.median(x), "best_gflops": max(x), "gflops": x}
                           for name, x in g.items()}
                    # same-round ratio: after/before batch by batch (their batches are adjacent in a round)
                    row["after_over_before_median"] = statistics.median(a / b for a, b in zip(g["after"], g["before"]))
                    rows[f"{m}x{n}x{k}"] = row
                    pm = max(row[e]["median_gflops"] for e in ("peak_muladd", "peak12_muladd"))
                    pf = max(row[e]["median_gflops"] for e in ("peak_fma", "peak12_fma"))
                    print(f"{engine:9s} {m}x{n}x{k:<5d} before {row['before']['median_gflops']:5.1f} "
                          f"after {row['after']['median_gflops']:5.1f} GFLOP/s  after/before "
                          f"{row['after_over_before_median']:.3f}  peak mul+add {pm:5.1f} "
                          f"FMA {pf:5.1f}  after {100 * row['after']['median_gflops'] / pm:.0f}% "
                          f"of mul+add", flush=True)
                for d in peak_drivers.values():
                    d.close()
            finally:
                pages.close()
            result["engines"][engine] = rows
            if args.json:
                args.json.write_text(json.dumps(result, indent=1))
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
