"""Compile options: one frozen object, read once at the entry point.

``torch.compile(model, backend="wasm", options={...})`` passes a dict; ``Options.from_dict``
rejects unknown keys with the list of known ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

DEBUG_ENV = "TORCH_WASM_DEBUG_DIR"
CACHE_ENV = "TORCH_WASM_CACHE_DIR"
MAX_THREADS = 64


def cache_dir() -> str:
    """Where assembled modules and compiled engine code are cached: ``$TORCH_WASM_CACHE_DIR``
    or ``~/.cache/torch_wasm_backend``."""
    env = os.environ.get(CACHE_ENV)
    return os.path.expanduser(env) if env else os.path.join(os.path.expanduser("~"), ".cache", "torch_wasm_backend")


@dataclass(frozen=True)
class Options:
    engine: str = "wasmtime"  # WebAssembly engine that runs the module in Python
    simd: bool = True  # vectorise loops with v128 (False: scalar code only, for debugging)
    strict: bool = False  # raise instead of falling back to eager PyTorch
    debug_dir: str | None = None  # dump every stage of every graph here (also $TORCH_WASM_DEBUG_DIR)
    alignment: int = 16  # byte alignment of every buffer in linear memory
    # pack GEMM B operands for the packed microkernel: weights once in prepare, runtime
    # operands (inputs, activations, im2col columns) before each GEMM where it pays
    gemm_packing: bool = True
    # packed GEMMs use f32x4.relaxed_madd (FMA) and the module needs relaxed SIMD; results
    # differ from mul+add by rounding. Off by default: no faster here (benchmarks/README.md)
    relaxed_simd: bool = False
    interpret: bool = False  # run the IR in the numpy interpreter instead of wasm (debugging, tests)
    # symbolic sizes: "auto" compiles one module for all sizes where every operator allows it
    # and specialises per shape otherwise; "symbolic" makes the fallback an error in strict mode;
    # "specialize" always compiles per distinct shape
    dynamic: str = "auto"
    # threads running each call (static shapes, wasmtime): None follows torch.get_num_threads();
    # a graph whose kernels are all too small to split (target.THREADS) runs on one thread
    threads: int | None = None
    # a threaded graph measures `threads` threads against one on its first calls and keeps the
    # faster, re-checking now and then (runtime/thread_choice.py); False: every call on `threads`
    threads_adaptive: bool = True

    @classmethod
    def from_dict(cls, options: dict | None) -> "Options":
        options = dict(options or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown torch_wasm_backend option(s) {unknown}; known options: {sorted(known)}")
        if "debug_dir" not in options and os.environ.get(DEBUG_ENV):
            options["debug_dir"] = os.environ[DEBUG_ENV]
        opts = cls(**options)
        if opts.dynamic not in ("auto", "symbolic", "specialize"):
            raise ValueError(f"dynamic must be 'auto', 'symbolic' or 'specialize', got {opts.dynamic!r}")
        if opts.threads is not None and (isinstance(opts.threads, bool) or not isinstance(opts.threads, int)
                                         or not 1 <= opts.threads <= MAX_THREADS):
            raise ValueError(f"threads must be an int from 1 to {MAX_THREADS} (or None: torch.get_num_threads()), "
                             f"got {opts.threads!r}")
        if opts.threads not in (None, 1) and opts.engine != "wasmtime":
            raise ValueError(f"threads={opts.threads} needs engine='wasmtime' (the {opts.engine!r} engine has no "
                             "WebAssembly threads); use threads=1")
        if not isinstance(opts.threads_adaptive, bool):
            raise ValueError(f"threads_adaptive must be True or False, got {opts.threads_adaptive!r}")  # noqa: TRY004
        if opts.alignment < 16 or opts.alignment & (opts.alignment - 1):
            raise ValueError(f"alignment must be a power of two >= 16, got {opts.alignment}")
        return opts
