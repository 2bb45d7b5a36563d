"""wasmtime's configuration, pinned in one place: the engine settings, the memory
reservation derived from a module's size, the version and the cache directory (see
``wasmtime_engine.py`` for why each is what it is)."""

from __future__ import annotations


import wasmtime

from ..config import CACHE_ENV as CACHE_DIR_ENV  # noqa: F401  (re-exported)
from ..config import cache_dir

# --------------------------------------------------------------------------
# settings: the ONE place where wasmtime's configuration is pinned


def wasmtime_settings(
    *, relaxed_simd: bool = False, threads: bool = False, spectre_mitigation: bool | None = None
) -> dict[str, object]:
    """The wasmtime ``Config`` attributes used by this backend, in the order applied
    (``cranelift_flags``: ``Config.cranelift_flag_set`` calls).

    * SIMD is always on.  (Never disable SIMD: with relaxed SIMD still
      enabled, wasmtime aborts the whole process.)
    * Relaxed SIMD only when requested, and then deterministic, so results
      do not depend on the host CPU.  Otherwise it is explicitly off.
    * Threads (atomics, shared memory) only when requested.
    * Cranelift optimizes for speed; no fuel metering.
    * The Spectre mitigation of heap bounds checks (a conditional move per
      access, 1.5x slower GEMMs; ``benchmarks/README.md``) is off unless
      threads are on (``spectre_mitigation=None``).  It stops *speculative*
      out-of-bounds reads from leaking through a cache-timing side channel;
      bounds are still checked and trap.  A module run here imports nothing
      (enforced), so without threads it has no clock to time anything with.
      With threads, host threads sharing a memory could make one: kept on.
    """
    if spectre_mitigation is None:
        spectre_mitigation = bool(threads)
    s: dict[str, object] = {
        "wasm_simd": True,
        "wasm_relaxed_simd": bool(relaxed_simd),
    }
    if relaxed_simd:
        s["wasm_relaxed_simd_deterministic"] = True
    s["wasm_threads"] = bool(threads)
    s["shared_memory"] = bool(threads)
    s["cranelift_opt_level"] = "speed"
    s["consume_fuel"] = False
    s["cranelift_flags"] = {"enable_heap_access_spectre_mitigation": "true" if spectre_mitigation else "false"}
    return s


_MIB = 1 << 20
_PAGE = 1 << 16
MIN_RESERVATION = 1 * _MIB
MAX_RESERVATION = 4 << 30
GUARD_BYTES = 64 << 10  # > every static offset our kernels use (< 33 KiB): one compare per access
MIN_GROWTH = 16 * _MIB
# wasmtime's own defaults on 64-bit hosts: no bounds checks, but 4 GiB + 2 x 32 MiB of
# address space per instance. Kept for comparison (benchmarks/bounds_check_probe.py).
FULL_RESERVATION = {
    "memory_reservation": 4 << 30,
    "memory_guard_size": 32 * _MIB,
    "memory_reservation_for_growth": 2 << 30,
    "memory_may_move": True,
}


def memory_settings(initial_pages: int | None) -> dict[str, object]:
    """Linear-memory settings for a module whose memory starts at ``initial_pages``.

    * ``memory_reservation``: the initial size rounded up to a power of two
      (1 MiB .. 4 GiB): an instance reserves at most twice what it uses, and
      memories of similar size share a setting (and an Engine).
    * ``memory_guard_size``: 64 KiB (wasmtime also puts one before the memory):
      accesses whose static offset fits in it need a single bounds compare.
    * ``memory_reservation_for_growth``: room left after a memory moves, the
      reservation again (at least 16 MiB): a dynamic-shape module that grows
      past its reservation moves once per doubling, not once per grow.
    * ``memory_may_move``: growth past the reservation moves the memory
      instead of failing.

    Reservations below 4 GiB bring explicit bounds checks back into compiled
    code (their cost is measured in ``benchmarks/README.md``).
    """
    need = max(int(initial_pages or 0) * _PAGE, MIN_RESERVATION)
    reservation = min(1 << (need - 1).bit_length(), MAX_RESERVATION)
    if reservation >= MAX_RESERVATION:
        return dict(FULL_RESERVATION)
    return {
        "memory_reservation": reservation,
        "memory_guard_size": GUARD_BYTES,
        "memory_reservation_for_growth": max(reservation, MIN_GROWTH),
        "memory_may_move": True,
    }


def build_wasmtime_config(
    *, relaxed_simd: bool = False, threads: bool = False, spectre_mitigation: bool | None = None,
    memory: dict[str, object] | None = None,
) -> wasmtime.Config:
    """A fresh ``wasmtime.Config`` with :func:`wasmtime_settings` (and ``memory``, e.g.
    :func:`memory_settings`, when given) applied."""
    cfg = wasmtime.Config()
    settings = wasmtime_settings(relaxed_simd=relaxed_simd, threads=threads, spectre_mitigation=spectre_mitigation)
    for attr, value in {**settings, **(memory or {})}.items():
        if attr == "cranelift_flags":
            for flag, v in value.items():
                cfg.cranelift_flag_set(flag, v)
        else:
            setattr(cfg, attr, value)
    return cfg


def wasmtime_version() -> str:
    try:
        from importlib.metadata import version

        return version("wasmtime")
    except Exception:  # pragma: no cover - unusual installs
        return getattr(wasmtime, "__version__", "unknown")


def default_cache_dir() -> str:
    return cache_dir()  # the one place: config.cache_dir


