"""Engine interface of the runtime layer, and ``get_engine``.

The runtime layer runs already-assembled WebAssembly modules.  It depends
only on numpy and on the wasm engine packages (``wasmtime``, optionally
``wasmer``); it never imports torch.

Contract for modules run here:

* they import nothing (the one exception: a threaded module imports its shared memory,
  ``runtime/threaded.py``);
* they export their linear memory as ``"memory"``;
* the functions called through :meth:`Instance.call` / :meth:`Instance.caller`
  have the type ``() -> ()`` (all data goes through memory).

Address space: an instance reserves room for its memory as the engine decides;
wasmtime's is fitted to the module's initial memory size
(:func:`wasm_memory_limits`, ``wasmtime_engine.memory_settings``), and an
instance is freed (memory unmapped) as soon as nothing references it.

Typical use::

    eng = get_engine()                      # wasmtime, cached per settings
    inst = eng.compile(wasm_bytes).instantiate()
    mem = inst.memory_view()                # uint8, zero copy, writable
    mem[0:16] = np.arange(4, dtype=np.float32).view(np.uint8)
    run = inst.caller("forward")            # pre-bound fast path
    run()
    mem = inst.memory_view()                # re-fetch if the call may grow memory
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Callable

import numpy

from .wasm_binary import read_leb128, sections

__all__ = [
    "Engine",
    "CompiledModule",
    "Instance",
    "WasmTrap",
    "WasmCompileError",
    "get_engine",
    "available_engines",
    "wasm_memory_limits",
    "ENGINE_NAMES",
]


class WasmTrap(RuntimeError):
    """A WebAssembly trap raised while running an export.

    ``str(exc)`` names the wasm function where the trap happened (when the
    runtime reports it; modules are assembled with a name section) and the
    trap reason.  Attributes:

    * ``reason``: the trap reason as reported by the runtime
      (e.g. "wasm `unreachable` instruction executed");
    * ``func_name``: name of the innermost wasm function, or None;
    * ``export``: the export that was called, or None;
    * ``frames``: function names of the wasm backtrace, innermost first
      (entries may be None when a frame has no name);
    * ``trap_code``: an engine-specific code (e.g. wasmtime's ``TrapCode``
      name such as "UNREACHABLE"), or None;
    * ``raw_message``: the runtime's full message.
    """

    def __init__(
        self,
        reason: str,
        *,
        func_name: str | None = None,
        export: str | None = None,
        frames: tuple[str | None, ...] = (),
        trap_code: str | None = None,
        raw_message: str | None = None,
    ) -> None:
        self.reason = reason
        self.func_name = func_name
        self.export = export
        self.frames = tuple(frames)
        self.trap_code = trap_code
        self.raw_message = raw_message if raw_message is not None else reason
        where = f"in wasm function `{func_name}`" if func_name else "in an unnamed wasm function"
        via = f" (called through export `{export}`)" if export else ""
        code = f" [{trap_code}]" if trap_code else ""
        super().__init__(f"wasm trap {where}{via}: {reason}{code}")


class WasmCompileError(RuntimeError):
    """A module could not be compiled (invalid, or uses an unsupported feature)."""


class Instance:
    """A module instance with its own linear memory.

    Instances are not thread-safe: use one instance per thread.
    """

    def memory_view(self) -> numpy.ndarray:
        """A writable uint8 numpy view of the exported memory ``"memory"``, zero copy.

        The view is cached and refreshed when the memory size changed, so this
        is cheap to call.  A view obtained before a call that grew memory covers
        only the old size (and, on engines whose memory may move, may point to
        freed memory): re-fetch after calls that may grow memory.
        """
        raise NotImplementedError


    def grow_memory(self, pages: int) -> None:
        """Grow the exported memory to at least ``pages`` 64 KiB pages (never shrinks).
        Views from ``memory_view()`` taken before are stale afterwards."""
        raise NotImplementedError

    def call(self, export: str = "forward") -> None:
        """Call an exported ``() -> ()`` function.  Traps raise :class:`WasmTrap`."""
        raise NotImplementedError

    def caller(self, export: str = "forward") -> Callable[[], None]:
        """A pre-bound zero-argument callable running ``export``: the fast path for hot loops.

        Traps raise :class:`WasmTrap`; the instance stays usable afterwards
        (its memory keeps whatever the trapped call wrote).
        """
        raise NotImplementedError


class CompiledModule:
    """A compiled module; instantiate it as many times as needed."""

    def instantiate(self) -> Instance:
        """A fresh instance with its own memory (modules import nothing)."""
        raise NotImplementedError


class Engine:
    """A wasm engine with fixed settings.  One per process per settings
    (see :func:`get_engine`); caches compiled modules in process by the sha256 of their
    bytes (``compile``). A subclass sets ``_modules`` (a dict, or a weak one), ``_lock`` and
    ``stats`` (with ``memory_hits`` and ``compiles``) and implements ``_compile``."""

    name: str = ""

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why this engine cannot run here (its package missing, ...), or None."""
        return None

    def compile(self, wasm: bytes) -> CompiledModule:
        wasm = bytes(wasm)
        sha = hashlib.sha256(wasm).hexdigest()
        cm = self._modules.get(sha)
        if cm is None:
            with self._lock:
                cm = self._modules.get(sha)
                if cm is None:
                    cm = self._modules[sha] = self._compile(wasm, sha)
                    return cm
        self.stats["memory_hits"] += 1
        return cm

    def _compile(self, wasm: bytes, sha256: str) -> CompiledModule:
        """Compile ``wasm`` (not in the in-process cache): the engine's own work."""
        raise NotImplementedError

    @staticmethod
    def check_no_imports(names: list) -> None:
        """Modules run by this backend import nothing (the one exception would be a threaded
        module's shared memory)."""
        if names:
            raise WasmCompileError(f"modules run by this backend must import nothing; this one imports {names}")

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"<{type(self).__name__} name={self.name!r}>"


def wasm_memory_limits(wasm: bytes) -> tuple[int, int | None, bool] | None:
    """``(initial pages, maximum pages or None, shared)`` of a module's first defined
    memory (64 KiB pages, from its memory section), or None when it defines none or the
    bytes are not a wasm module (the engine then says what is wrong when it compiles them)."""
    try:
        for section, start, _ in sections(bytes(wasm)):
            if section == 5:
                count, p = read_leb128(wasm, start)
                if count == 0:
                    return None
                flags, p = read_leb128(wasm, p)
                initial, p = read_leb128(wasm, p)
                maximum = read_leb128(wasm, p)[0] if flags & 1 else None
                return initial, maximum, bool(flags & 2)
    except (ValueError, IndexError):  # ArtifactError is a ValueError
        return None
    return None


# --------------------------------------------------------------------------
# registry

ENGINE_NAMES = ("wasmtime", "wasmer")

_IMPL = {
    "wasmtime": ("torch_wasm_backend.runtime.wasmtime_engine", "WasmtimeEngine"),
    "wasmer": ("torch_wasm_backend.runtime.wasmer_engine", "WasmerEngine"),
}

_ENGINES: dict[tuple[str, bool, bool], Engine] = {}
_LOCK = threading.Lock()


def _engine_class(name: str):
    try:
        module_name, cls_name = _IMPL[name]
    except KeyError:
        raise ValueError(
            f"unknown wasm engine {name!r}; known engines: {', '.join(ENGINE_NAMES)}"
        ) from None
    return getattr(importlib.import_module(module_name), cls_name)


def get_engine(name: str = "wasmtime", *, relaxed_simd: bool = False, threads: bool = False) -> Engine:
    """The process-wide engine ``name`` with the given settings (cached per settings).

    Raises ValueError for an unknown name and RuntimeError when the engine
    cannot be used here (e.g. wasmer on Python >= 3.11, or a feature the
    engine does not support).
    """
    key = (name, bool(relaxed_simd), bool(threads))
    eng = _ENGINES.get(key)
    if eng is not None:
        return eng
    cls = _engine_class(name)
    with _LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            eng = cls(relaxed_simd=bool(relaxed_simd), threads=bool(threads))
            _ENGINES[key] = eng
    return eng


def available_engines() -> dict[str, str | None]:
    """``{name: None}`` for each usable engine, ``{name: reason}`` for the others."""
    out: dict[str, str | None] = {}
    for name in ENGINE_NAMES:
        try:
            cls = _engine_class(name)
            out[name] = cls.unavailable_reason()
        except ImportError as exc:
            out[name] = f"{name} is not installed (pip install {name}): {exc}"
        except Exception as exc:  # never let a probe crash the caller
            out[name] = f"{type(exc).__name__}: {exc}"
    return out
