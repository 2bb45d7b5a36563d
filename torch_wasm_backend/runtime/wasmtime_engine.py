"""wasmtime implementation of the runtime interface (wasmtime-py >= 50).

* Settings are pinned in one place, ``wasmtime_config.py``: :func:`wasmtime_settings` (applied by
  :func:`build_wasmtime_config`).  The disk-cache key is derived from the
  same dict, so it changes whenever a setting does.
* Linear memory reserves what the module needs, not wasmtime's default 4 GiB
  + guards per instance: :func:`memory_settings` derives the reservation,
  guard and growth reservation from the module's initial memory size (read
  from the wasm bytes), rounded up to a power of two, so a few settings
  cover every module.  One ``wasmtime.Engine`` is kept per distinct memory
  setting (compiled code depends on it).  Growth past the reservation moves
  the memory (``memory_may_move``), so ``memory.grow`` always works.
* ``Engine.compile`` caches modules in process (sha256 of the wasm bytes;
  weakly: a module no graph uses any more is freed) and on disk
  (``Module.serialize()`` bytes, keyed by sha256 + wasmtime version +
  settings, memory settings included).  Unreadable, corrupt or incompatible
  entries are ignored: the module is recompiled and the entry overwritten.
* ``Instance.caller()`` calls ``wasmtime_func_call_unchecked`` through a
  ctypes function pointer with every argument pre-built (store context,
  func struct, raw-argument array, trap out-pointer).  This uses private
  parts of wasmtime-py (``_ffi``, ``Store._context``, ``Func._func``,
  ``Memory._memory``); if they are missing the public (slower) API is used.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import hashlib
import json
import logging
import os
import platform
import threading
import weakref
from collections.abc import Callable

import numpy as np
import wasmtime

from .engine import CompiledModule, Engine, Instance, WasmCompileError, wasm_memory_limits
from .module_cache import DiskCache
from .wasmtime_config import (  # noqa: F401  (the settings, re-exported: part of this engine's interface)
    CACHE_DIR_ENV,
    FULL_RESERVATION,
    build_wasmtime_config,
    default_cache_dir,
    memory_settings,
    wasmtime_settings,
    wasmtime_version,
)
from . import wasmtime_raw as raw
from .wasmtime_traps import trap_from_error, trap_from_wasmtime

__all__ = [
    "WasmtimeEngine",
    "wasmtime_settings",
    "memory_settings",
    "FULL_RESERVATION",
    "build_wasmtime_config",
    "wasmtime_version",
    "default_cache_dir",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------
# instance


class WasmtimeInstance(Instance):
    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module) -> None:
        store = wasmtime.Store(engine)
        self._store = store
        self._instance = wasmtime.Instance(store, module, [])
        self._exports = self._instance.exports(store)
        self._callers: dict[str, Callable[[], None]] = {}
        self._view: np.ndarray | None = None
        self._view_len = -1
        self._mem = None
        self._setup_memory()

    # ---- memory

    def _setup_memory(self) -> None:
        try:
            mem = self._exports["memory"]
        except KeyError:
            return
        if not isinstance(mem, (wasmtime.Memory, wasmtime.SharedMemory)):
            return
        self._mem = mem
        self._mem_size_fn = None
        if not raw.FAST_PATH:
            return
        if isinstance(mem, wasmtime.Memory):
            ctx = ctypes.c_void_p(ctypes.cast(self._store._context(), ctypes.c_void_p).value)
            mem_struct = raw.MEMORY_T.from_buffer_copy(mem._memory)
            mp = ctypes.c_void_p(ctypes.addressof(mem_struct))
            self._mem_size_fn = raw.MEMORY_DATA_SIZE
            self._mem_data_fn = raw.MEMORY_DATA
            self._mem_size_args = (ctx, mp, mem_struct)
        elif isinstance(mem, wasmtime.SharedMemory):
            mp = ctypes.c_void_p(ctypes.cast(mem.ptr(), ctypes.c_void_p).value)
            self._mem_size_fn = raw.SHARED_MEMORY_DATA_SIZE
            self._mem_data_fn = raw.SHARED_MEMORY_DATA
            self._mem_size_args = (mp, mem)

    def memory_view(self) -> np.ndarray:
        mem = self._mem
        if mem is None:
            raise RuntimeError('the module does not export a memory named "memory"')
        fn = self._mem_size_fn
        if fn is not None:
            if fn is raw.MEMORY_DATA_SIZE:
                ctx, mp, _ = self._mem_size_args
                n = fn(ctx, mp)
                if n == self._view_len:
                    return self._view  # type: ignore[return-value]
                addr = self._mem_data_fn(ctx, mp)
            else:
                mp = self._mem_size_args[0]
                n = fn(mp)
                if n == self._view_len:
                    return self._view  # type: ignore[return-value]
                addr = self._mem_data_fn(mp)
        else:  # public API
            if isinstance(mem, wasmtime.SharedMemory):
                n = mem.data_len()
                if n == self._view_len:
                    return self._view  # type: ignore[return-value]
                addr = ctypes.addressof(mem.data_ptr().contents) if n else 0
            else:
                n = mem.data_len(self._store)
                if n == self._view_len:
                    return self._view  # type: ignore[return-value]
                addr = ctypes.addressof(mem.data_ptr(self._store).contents) if n else 0
        self._view = self._make_view(addr, n)
        self._view_len = n
        return self._view

    def grow_memory(self, pages: int) -> None:
        mem = self._mem
        # (SharedMemory.size() passes a wrong pointer type in wasmtime-py 50: use data_len)
        current = mem.size(self._store) if isinstance(mem, wasmtime.Memory) else mem.data_len() // 65536
        if pages > current:
            if isinstance(mem, wasmtime.Memory):
                mem.grow(self._store, pages - current)
            else:
                mem.grow(pages - current)

    def _make_view(self, addr: int | None, n: int) -> np.ndarray:
        if n == 0 or not addr:
            return np.zeros(0, dtype=np.uint8)
        buf = (ctypes.c_ubyte * n).from_address(addr)
        # the view's base is this ctypes array, which keeps the store (and so
        # the memory) alive for as long as the view exists
        buf._keepalive = (self._store, self._mem)  # type: ignore[attr-defined]
        return np.frombuffer(buf, dtype=np.uint8)

    # ---- calls

    def call(self, export: str = "forward") -> None:
        c = self._callers.get(export)
        if c is None:
            c = self.caller(export)
        c()

    def caller(self, export: str = "forward") -> Callable[[], None]:
        c = self._callers.get(export)
        if c is None:
            c = self._make_caller(export)
            self._callers[export] = c
        return c

    def _export_func(self, export: str) -> "wasmtime.Func":
        try:
            func = self._exports[export]
        except KeyError:
            names = sorted(self._exports)
            raise KeyError(f"the module has no export {export!r} (exports: {names})") from None
        if not isinstance(func, wasmtime.Func):
            raise TypeError(f"export {export!r} is not a function")
        ty = func.type(self._store)
        if list(ty.params) or list(ty.results):
            raise TypeError(
                f"export {export!r} has type {list(ty.params)} -> {list(ty.results)}; "
                "only () -> () functions can be called"
            )
        return func

    def _make_caller(self, export: str) -> Callable[[], None]:
        func = self._export_func(export)
        store = self._store
        if not raw.FAST_PATH:
            return _public_caller(store, func, export)

        call_raw = raw.CALL_UNCHECKED
        ctx = ctypes.c_void_p(ctypes.cast(store._context(), ctypes.c_void_p).value)
        func_struct = raw.FUNC_T.from_buffer_copy(func._func)
        fp = ctypes.c_void_p(ctypes.addressof(func_struct))
        args = (raw.VAL_RAW_T * 1)()  # () -> (): nothing passed, but never hand out NULL
        ap = ctypes.c_void_p(ctypes.addressof(args))
        nargs = ctypes.c_size_t(0)
        trap_cell = ctypes.c_void_p(None)  # wasm_trap_t* out-parameter
        tp = ctypes.c_void_p(ctypes.addressof(trap_cell))
        fail = raw.raise_call_failure

        def run() -> None:
            err = call_raw(ctx, fp, ap, nargs, tp)
            if err or trap_cell.value:
                fail(err, trap_cell, export)

        # keep alive what the raw pointers point into (no reference to self:
        # the instance caches its callers, and a cycle would delay freeing the store)
        run._keepalive = (store, func_struct, args, trap_cell)  # type: ignore[attr-defined]
        run.__qualname__ = f"wasm_caller[{export}]"
        return run


def _public_caller(store: "wasmtime.Store", func: "wasmtime.Func", export: str) -> Callable[[], None]:
    def run() -> None:
        try:
            func(store)
        except wasmtime.Trap as t:
            raise trap_from_wasmtime(t, export) from None
        except wasmtime.WasmtimeError as e:
            raise trap_from_error(str(e), export) from None

    return run


# --------------------------------------------------------------------------
# module / engine


class WasmtimeCompiledModule(CompiledModule):
    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module, sha256: str, source: str,
                 memory: dict[str, object]) -> None:
        self.wasmtime_engine = engine
        self.module = module
        self.sha256 = sha256
        self.source = source  # "compiled" or "disk"
        self.memory = memory  # the memory settings of the engine it was compiled for

    def instantiate(self) -> WasmtimeInstance:
        return WasmtimeInstance(self.wasmtime_engine, self.module)


_FACADES: "weakref.WeakSet[WasmtimeEngine]" = weakref.WeakSet()


@atexit.register
def _close_engines() -> None:
    """Free the wasmtime engines before the interpreter tears modules down: wasmtime-py's
    finaliser prints "'NoneType' object is not callable" once its own globals are gone.
    (Modules and stores still alive keep their own reference to the engine inside wasmtime.)
    Stores, modules and the like still alive (held by a traceback or a cache until the very
    end) are closed first, for the same reason."""
    managed = getattr(getattr(wasmtime, "_managed", None), "Managed", None)
    if managed is not None:
        for obj in gc.get_objects():
            if issubclass(type(obj), managed):  # type(), not isinstance: no __class__ lookups
                try:
                    obj.close()
                except Exception:  # noqa: BLE001  (exiting: nothing left to report it to)
                    pass
    for facade in list(_FACADES):
        for engine, _ in facade._backends.values():
            engine.close()
        facade._backends.clear()


class WasmtimeEngine(Engine):
    """wasmtime engine with pinned settings, an in-process and an on-disk module cache.

    Behind it, one ``wasmtime.Engine`` per distinct memory setting
    (:func:`memory_settings` of each module's initial memory size).
    ``memory``: None -> fit each module; a dict (e.g. :data:`FULL_RESERVATION`)
    -> that setting for every module.
    ``cache_dir``: None -> ``$TORCH_WASM_CACHE_DIR`` or ``~/.cache/torch_wasm_backend``;
    False -> no disk cache.
    """

    name = "wasmtime"

    def __init__(self, *, relaxed_simd: bool = False, threads: bool = False, cache_dir=None,
                 memory: dict[str, object] | None = None, spectre_mitigation: bool | None = None) -> None:
        self.relaxed_simd = bool(relaxed_simd)
        self.threads = bool(threads)
        self.spectre_mitigation = spectre_mitigation
        self.fixed_memory = dict(memory) if memory is not None else None
        self.settings = wasmtime_settings(
            relaxed_simd=self.relaxed_simd, threads=self.threads, spectre_mitigation=spectre_mitigation
        )
        if cache_dir is None:
            cache_dir = default_cache_dir()
        self.cache_dir: str | None = os.path.join(cache_dir, "modules") if cache_dir else None
        self.cache_key = self._key({})
        # memory setting (sorted items) -> (wasmtime.Engine, DiskCache)
        self._backends: dict[tuple, tuple[wasmtime.Engine, DiskCache]] = {}
        # weak: a module is freed with the last graph (or artifact) that uses it
        self._modules: "weakref.WeakValueDictionary[str, WasmtimeCompiledModule]" = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        self.stats = {"memory_hits": 0, "disk_hits": 0, "disk_errors": 0, "disk_writes": 0, "compiles": 0}
        _FACADES.add(self)

    def _key(self, memory: dict[str, object]) -> str:
        key_src = json.dumps(
            {"wasmtime": wasmtime_version(), "machine": platform.machine(), "settings": self.settings,
             "memory": memory},
            sort_keys=True,
        )
        return hashlib.sha256(key_src.encode()).hexdigest()[:16]

    def memory_for(self, wasm: bytes) -> dict[str, object]:
        """The memory setting a module is compiled (and instantiated) with."""
        if self.fixed_memory is not None:
            return self.fixed_memory
        limits = wasm_memory_limits(wasm)
        if limits is None:
            return memory_settings(None)
        initial, maximum, shared = limits
        # a shared memory never moves: reserve its maximum
        return memory_settings(maximum if shared and maximum is not None else initial)

    def _backend(self, memory: dict[str, object]) -> tuple[wasmtime.Engine, DiskCache]:
        k = tuple(sorted(memory.items()))
        b = self._backends.get(k)
        if b is None:
            cfg = build_wasmtime_config(relaxed_simd=self.relaxed_simd, threads=self.threads,
                                        spectre_mitigation=self.spectre_mitigation, memory=memory)
            b = self._backends[k] = (wasmtime.Engine(cfg), DiskCache(self.cache_dir, self._key(memory)))
        return b

    @property
    def wasmtime_engine(self) -> wasmtime.Engine:
        """The engine of the smallest memory setting (modules with a 1-page memory)."""
        with self._lock:
            return self._backend(self.fixed_memory or memory_settings(1))[0]

    @property
    def engine_count(self) -> int:
        """How many ``wasmtime.Engine`` (distinct memory settings) are in use."""
        return len(self._backends)

    def cache_path(self, sha256: str) -> str | None:
        cm = self._modules.get(sha256)
        memory = cm.memory if cm is not None else (self.fixed_memory or memory_settings(1))
        with self._lock:
            return self._backend(memory)[1].path(sha256)

    def _compile(self, wasm: bytes, sha: str) -> WasmtimeCompiledModule:  # under self._lock (Engine.compile)
        memory = self.memory_for(wasm)
        engine, disk = self._backend(memory)
        module = disk.load(sha, engine, self.stats)
        source = "disk"
        if module is None:
            module = self._compile_fresh(engine, wasm)
            source = "compiled"
            disk.store(sha, module, self.stats)
        return WasmtimeCompiledModule(engine, module, sha, source, memory)

    def _compile_fresh(self, engine: wasmtime.Engine, wasm: bytes) -> wasmtime.Module:
        try:
            module = wasmtime.Module(engine, wasm)
        except wasmtime.WasmtimeError as e:
            msg = str(e)
            if "relaxed SIMD support is not enabled" in msg:
                msg += "\n(the module uses relaxed SIMD: use get_engine(..., relaxed_simd=True))"
            elif "threads must be enabled" in msg or "threads support is not enabled" in msg:
                msg += "\n(the module uses threads/shared memory: use get_engine(..., threads=True))"
            raise WasmCompileError(f"wasmtime could not compile the module: {msg}") from None
        self.stats["compiles"] += 1
        self.check_no_imports([f"{i.module}.{i.name}" for i in module.imports])
        return module
