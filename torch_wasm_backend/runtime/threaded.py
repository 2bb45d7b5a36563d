"""Running a threaded module (``emit/threads.py``) on N host threads in wasmtime.

One ``wasmtime.SharedMemory`` and N stores, each with its own instance of the module (the
memory is its one import). The calling thread is thread 0; N - 1 persistent worker threads
each sit inside a call to the module's ``worker(tid, nthreads, go)`` export for their whole
life: parked in ``memory.atomic.wait32`` (spinning ~0.2 ms first) until ``run(nthreads)``,
called by thread 0 once per model call, bumps the job counter and notifies them. ctypes
releases the GIL during every wasm call, so the threads run in parallel. ``forward`` of a
``ThreadedInstance`` (the ``Instance`` interface, for ``compiled.Runner``) is that ``run``;
``prepare`` runs on thread 0 alone while the workers are parked. Each call runs on N threads
or on thread 0 alone (``run(1)``: the workers stay parked), whichever the instance measured
faster on its first calls and re-checks now and then (``thread_choice.py``; ``threads_used``).

A trap on any thread must not leave the others waiting (for a chunk, or for the call to
close): the thread that trapped calls ``abort`` (an ABORT flag every waiting thread checks,
plus a notify), so every thread traps out; the host then resets the control block, lets the workers park again and raises
the first trap that is not the abort's echo in ``$threads_wait``. The instance stays usable.

The engine (``ThreadedEngine``) is wasmtime with threads and shared memory, the Spectre
mitigation of heap accesses on (``wasmtime_settings``' rule with threads), and the memory
declared with a 4 GiB maximum and reserved in full (``FULL_RESERVATION``: virtual address
space, once per model, the instances share it). Accesses then need no bounds checks, so
the mitigation (a conditional move per checked access) costs nothing. Measured on gemm
1024^3, one thread, thread CPU time, same runs: the single-thread
module 42-45 ms; the threaded module run on one thread 48-50 ms with maximum = initial
size (bounds checks), 68-77 ms with the mitigation too; with the 4 GiB maximum 43.9 ms
(mitigation on) and 44.4 ms (off).

Workers stop when the instance is freed or at interpreter exit (``stop``), before
``wasmtime_engine`` closes the stores at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import threading
import time
import weakref
from collections.abc import Callable

import numpy as np
import wasmtime

from .engine import CompiledModule, Instance, WasmCompileError, WasmTrap
from .thread_choice import ThreadChoice
from .wasm_binary import read_leb128, sections
from .wasmtime_config import FULL_RESERVATION
from .wasmtime_engine import WasmtimeEngine, WasmtimeInstance
from .wasmtime_raw import FAST_PATH, raise_call_failure
from .wasmtime_traps import trap_from_wasmtime

if FAST_PATH:
    from .wasmtime_raw import CALL_UNCHECKED, FUNC_T, VAL_RAW_T

MAX_THREADS = 64
STOP_TIMEOUT_S = 30.0  # a trapped run waits this long for every worker to trap out too
_ECHO = ("threads_wait", "threads_await", "threads_barrier")  # where the abort makes the other threads trap


# wasmtime-py issue #318: SharedMemory._as_extern wraps its pointer in a second pointer
def _shared_as_extern(self):
    union = wasmtime._ffi.wasmtime_extern_union(sharedmemory=self.ptr())
    return wasmtime._ffi.wasmtime_extern_t(wasmtime._ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)


wasmtime.SharedMemory._as_extern = _shared_as_extern


def imported_memory_limits(wasm: bytes) -> tuple | None:
    """``(initial, maximum or None, shared)`` pages of the module's imported memory, or None."""
    for sid, start, end in sections(bytes(wasm)):
        if sid != 2:
            continue
        count, p = read_leb128(wasm, start)
        for _ in range(count):
            for _ in range(2):  # module and field names
                n, p = read_leb128(wasm, p)
                p += n
            kind = wasm[p]
            p += 1
            if kind == 2:
                flags, p = read_leb128(wasm, p)
                initial, p = read_leb128(wasm, p)
                maximum = read_leb128(wasm, p)[0] if flags & 1 else None
                return initial, maximum, bool(flags & 2)
            if kind == 0:
                p = read_leb128(wasm, p)[1]
            elif kind == 1:  # table: reftype, limits
                flags, p = read_leb128(wasm, p + 1)
                p = read_leb128(wasm, p)[1]
                if flags & 1:
                    p = read_leb128(wasm, p)[1]
            elif kind == 3:  # global: valtype, mutability
                p += 2
            else:
                return None
    return None


class ThreadedEngine(WasmtimeEngine):
    """wasmtime with threads and shared memory for threaded modules, which import exactly
    one shared memory (``env.memory``, 4 GiB maximum, reserved in full: module docstring)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("memory", dict(FULL_RESERVATION))  # the 4 GiB maximum: no bounds checks
        super().__init__(threads=True, **kwargs)

    def check_no_imports(self, names: list) -> None:
        if names != ["env.memory"]:
            raise WasmCompileError(
                f"a threaded module imports exactly one shared memory, env.memory; this one imports {names}"
            )


_THREADED: dict[bool, ThreadedEngine] = {}
_LOCK = threading.Lock()


def get_threaded_engine(relaxed_simd: bool = False) -> ThreadedEngine:
    with _LOCK:
        eng = _THREADED.get(bool(relaxed_simd))
        if eng is None:
            eng = _THREADED[bool(relaxed_simd)] = ThreadedEngine(relaxed_simd=bool(relaxed_simd))
        return eng


class _SharedInstance(WasmtimeInstance):
    """One store and instance of a threaded module over ``memory``."""

    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module, memory: wasmtime.SharedMemory) -> None:
        self._store = wasmtime.Store(engine)
        self._instance = wasmtime.Instance(self._store, module, [memory])
        self._exports = self._instance.exports(self._store)
        self._callers: dict[str, Callable[[], None]] = {}
        self._view: np.ndarray | None = None
        self._view_len = -1
        self._mem = None
        self._setup_memory()

    def func(self, export: str) -> wasmtime.Func:
        return self._exports[export]

    def call_args(self, export: str, *args: int) -> None:
        """Call ``export`` with i32 arguments (public API; traps raise WasmTrap)."""
        try:
            self._exports[export](self._store, *args)
        except wasmtime.Trap as t:
            raise trap_from_wasmtime(t, export) from None

    def raw_caller(self, export: str, *args: int) -> Callable[[], None]:
        """A zero-argument callable running ``export(*args)`` through the unchecked entry point."""
        if not FAST_PATH:
            return lambda: self.call_args(export, *args)
        store, func = self._store, self._exports[export]
        ctx = ctypes.c_void_p(ctypes.cast(store._context(), ctypes.c_void_p).value)
        func_struct = FUNC_T.from_buffer_copy(func._func)
        fp = ctypes.c_void_p(ctypes.addressof(func_struct))
        raw = (VAL_RAW_T * max(1, len(args)))()
        ap = ctypes.c_void_p(ctypes.addressof(raw))
        nargs = ctypes.c_size_t(len(args))
        trap_cell = ctypes.c_void_p(None)
        tp = ctypes.c_void_p(ctypes.addressof(trap_cell))
        call_raw, fail = CALL_UNCHECKED, raise_call_failure

        def run() -> None:
            for i, a in enumerate(args):
                raw[i].i32 = a
            err = call_raw(ctx, fp, ap, nargs, tp)
            if err or trap_cell.value:
                fail(err, trap_cell, export)

        run._keepalive = (store, func_struct, raw, trap_cell)  # type: ignore[attr-defined]
        return run


class _Pool:
    """The worker threads of one ThreadedInstance and what they report (no reference to the
    instance itself, so that freeing it can stop them)."""

    def __init__(self, members: list[_SharedInstance], nthreads: int, control: np.ndarray) -> None:
        self.members = members  # index = tid; members[0] is the calling thread's
        self.nthreads = nthreads
        self.control = control  # int32 view of bytes 0..15: JOIN, EXITED, GO, FLAGS
        self.errors: dict[int, BaseException] = {}
        self.trapped = [threading.Event() for _ in range(nthreads)]
        self.resume = [threading.Event() for _ in range(nthreads)]
        self.stopping = False
        # the job counter GO a worker waits to change when it (re-)enters ``worker``: read by the
        # host before it lets the worker go, never by the worker (run may bump it first)
        self.go = int(control[2])
        self.threads = [
            threading.Thread(target=self._work, args=(tid,), name=f"wasm-worker-{tid}", daemon=True)
            for tid in range(1, nthreads)
        ]
        for t in self.threads:
            t.start()

    def _work(self, tid: int) -> None:
        member = self.members[tid]
        while True:
            try:
                member.call_args("worker", tid, self.nthreads, self.go)
                return  # STOP
            except BaseException as exc:  # noqa: BLE001  (reported to thread 0, which raises it)
                self.errors[tid] = exc
                with contextlib.suppress(BaseException):  # the host aborts too
                    member.call_args("abort")
                self.trapped[tid].set()
                self.resume[tid].wait()
                self.resume[tid].clear()
                if self.stopping:
                    return

    def recover(self, first: BaseException | None) -> BaseException:
        """After a trap: make every worker trap out, reset the control block, let them park
        again; the error to raise."""
        self.members[0].call_args("abort")
        for tid in range(1, self.nthreads):
            if not self.trapped[tid].wait(STOP_TIMEOUT_S):
                self.stopping = True
                return RuntimeError(
                    f"wasm worker thread {tid} did not stop after a trap in another thread "
                    f"within {STOP_TIMEOUT_S} s; this model's threads are unusable"
                )
        errors = ([first] if first is not None else []) + [self.errors.pop(t) for t in sorted(self.errors)]
        self.control[0] = 0  # JOIN
        self.control[3] = 0  # FLAGS
        self.go = int(self.control[2])
        for tid in range(1, self.nthreads):
            self.trapped[tid].clear()
            self.resume[tid].set()
        real = [e for e in errors if getattr(e, "func_name", None) not in _ECHO]
        return (real or errors)[0]

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        with contextlib.suppress(Exception):  # stopping at exit: nothing to report to
            self.members[0].call_args("stop")
        for ev in self.resume:
            ev.set()
        for t in self.threads:
            t.join(timeout=5)


_POOLS: weakref.WeakSet[_Pool] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:  # registered after wasmtime_engine's: runs before it closes the stores
    for pool in list(_POOLS):
        pool.stop()


class ThreadedInstance(Instance):
    """``nthreads`` instances of a threaded module over one shared memory, behind the
    ``Instance`` interface: ``caller("forward")`` runs every thread's share."""

    def __init__(
        self,
        engine: wasmtime.Engine,
        module: wasmtime.Module,
        pages: int,
        nthreads: int,
        max_pages: int | None = None,
        adaptive: bool = True,
    ) -> None:
        if not 1 <= nthreads <= MAX_THREADS:
            raise ValueError(f"threads must be between 1 and {MAX_THREADS}, got {nthreads}")
        self.nthreads = nthreads
        self.pages = pages
        limits = wasmtime.Limits(pages, pages if max_pages is None else max_pages)
        self.memory = wasmtime.SharedMemory(engine, wasmtime.MemoryType(limits, shared=True))
        members = [_SharedInstance(engine, module, self.memory) for _ in range(nthreads)]
        self.members = members
        control = members[0].memory_view()[:16].view(np.int32)
        self.pool = _Pool(members, nthreads, control)
        _POOLS.add(self.pool)
        weakref.finalize(self, self.pool.stop)
        # the raw run by thread count: N, and 1 (thread 0 alone: the workers stay parked)
        self._runs = {1: members[0].raw_caller("run", 1), nthreads: members[0].raw_caller("run", nthreads)}
        self.choice = ThreadChoice(nthreads, adaptive)  # N threads or one, call by call (thread_choice.py)

    @property
    def threads_used(self) -> int:
        """The thread count calls run on (``ThreadChoice``: measured on the first calls)."""
        return self.choice.used

    def memory_view(self) -> np.ndarray:
        return self.members[0].memory_view()

    def grow_memory(self, pages: int) -> None:
        if pages > self.pages:
            raise RuntimeError(
                f"a threaded module's shared memory is fixed at {self.pages} pages; {pages} were asked for"
            )

    def call(self, export: str = "forward") -> None:
        self.caller(export)()

    def caller(self, export: str = "forward") -> Callable[[], None]:
        if export != "forward":
            return self.members[0].caller(export)
        runs, pool, choice, clock = self._runs, self.pool, self.choice, time.perf_counter_ns

        def forward() -> None:
            n = choice.count()
            try:
                t0 = clock()
                runs[n]()
                choice.record(n, clock() - t0)
            except BaseException as exc:  # noqa: BLE001  (re-raised below, or the worker's)
                raise pool.recover(exc) from None
            if pool.errors:  # a worker trapped after thread 0 finished (cannot happen: run waits for the workers that joined)
                raise pool.recover(None)

        return forward


class ThreadedModule(CompiledModule):
    """A compiled threaded module; ``instantiate()`` starts its workers."""

    def __init__(
        self, compiled, pages: int, nthreads: int, max_pages: int | None = None, adaptive: bool = True
    ) -> None:
        self.compiled = compiled  # WasmtimeCompiledModule
        self.pages = pages
        self.max_pages = max_pages
        self.nthreads = nthreads
        self.adaptive = adaptive  # measure N threads against one (thread_choice.py); False: always N

    def instantiate(self) -> ThreadedInstance:
        return ThreadedInstance(
            self.compiled.wasmtime_engine,
            self.compiled.module,
            self.pages,
            self.nthreads,
            self.max_pages,
            self.adaptive,
        )


def compile_threaded(wasm: bytes, nthreads: int, relaxed_simd: bool = False, adaptive: bool = True) -> ThreadedModule:
    """``adaptive``: each instance measures N threads against one on its first calls and keeps
    the faster (``thread_choice.py``); False runs every call on ``nthreads``."""
    limits = imported_memory_limits(wasm)
    if limits is None or not limits[2]:
        raise WasmCompileError("not a threaded module: it does not import a shared memory")
    return ThreadedModule(get_threaded_engine(relaxed_simd).compile(wasm), limits[0], nthreads, limits[1], adaptive)


__all__ = [
    "ThreadedEngine",
    "ThreadedInstance",
    "ThreadedModule",
    "WasmTrap",
    "compile_threaded",
    "get_threaded_engine",
]
