"""wasmer implementation of the runtime interface (PyPI ``wasmer`` 1.1.0).

``wasmer`` 1.1.0 and ``wasmer-compiler-cranelift`` 1.1.0 ship wheels only up
to CPython 3.10, so on Python >= 3.11 this engine is unavailable.  To use it,
make a Python 3.10 environment and::

    pip install numpy wasmer==1.1.0 wasmer-compiler-cranelift==1.1.0

wasmer is imported lazily (when the engine is created), so importing this
module never fails.  Limits of wasmer 1.1.0: no relaxed SIMD, no threads;
compiled modules are cached in process only (no disk cache).
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable

import numpy as np

from .engine import CompiledModule, Engine, Instance, WasmCompileError, WasmTrap

__all__ = ["WasmerEngine", "INSTALL_HINT"]

INSTALL_HINT = (
    "use a Python 3.10 environment and `pip install numpy wasmer==1.1.0 "
    "wasmer-compiler-cranelift==1.1.0`"
)

_NO_RELAXED = (
    "the wasmer engine (wasmer 1.1.0) does not support relaxed SIMD; "
    "use the wasmtime engine (get_engine('wasmtime', relaxed_simd=True)) "
    "or generate the module without relaxed SIMD"
)


def _import_wasmer():
    """(wasmer, Compiler) or raise RuntimeError explaining how to get them."""
    try:
        import wasmer  # noqa: F401
        from wasmer_compiler_cranelift import Compiler
    except ImportError as e:
        if sys.version_info >= (3, 11):
            raise RuntimeError(
                "the wasmer engine is not available: wasmer imports only on Python <= 3.10 "
                f"(wasmer 1.1.0 ships no wheels for Python {sys.version_info[0]}.{sys.version_info[1]}); "
                f"to use it, {INSTALL_HINT}. ({type(e).__name__}: {e})"
            ) from None
        raise RuntimeError(
            f"the wasmer engine is not available ({type(e).__name__}: {e}); {INSTALL_HINT}"
        ) from None
    return wasmer, Compiler


# --------------------------------------------------------------------------
# traps

_FRAME = re.compile(r"^\s*at (.+?) \((.*)\)\s*$", re.M)
_FRAME_NAME = re.compile(r"^<module>\[\d+\]|^<unnamed>|^<unknown>")


def _trap_from_runtime_error(exc: BaseException, export: str | None) -> WasmTrap:
    message = str(exc)
    lines = message.strip().splitlines()
    first = lines[0].strip() if lines else message
    if first.startswith("RuntimeError: "):
        first = first[len("RuntimeError: "):]
    frames = []
    for m in _FRAME.finditer(message):
        name = m.group(1).strip()
        frames.append(None if _FRAME_NAME.match(name) else name)
    return WasmTrap(
        first or message,
        func_name=frames[0] if frames else None,
        export=export,
        frames=tuple(frames),
        raw_message=message,
    )


# --------------------------------------------------------------------------


class WasmerInstance(Instance):
    def __init__(self, module) -> None:
        import wasmer

        self._instance = wasmer.Instance(module)
        self._exports = self._instance.exports
        self._callers: dict[str, Callable[[], None]] = {}
        self._view: np.ndarray | None = None
        self._view_len = -1
        try:
            mem = self._exports.memory
        except LookupError:
            mem = None
        self._mem = mem if isinstance(mem, wasmer.Memory) else None

    def memory_view(self) -> np.ndarray:
        mem = self._mem
        if mem is None:
            raise RuntimeError('the module does not export a memory named "memory"')
        n = mem.data_size
        if n != self._view_len:
            self._view = np.frombuffer(mem.buffer, dtype=np.uint8) if n else np.zeros(0, np.uint8)
            self._view_len = n
        return self._view  # type: ignore[return-value]

    def grow_memory(self, pages: int) -> None:
        mem = self._exports.memory
        current = mem.size
        if pages > current:
            mem.grow(pages - current)

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

    def _make_caller(self, export: str) -> Callable[[], None]:
        import wasmer

        try:
            func = getattr(self._exports, export)
        except LookupError:
            names = [name for name, _ in self._exports]
            raise KeyError(f"the module has no export {export!r} (exports: {names})") from None
        if not isinstance(func, wasmer.Function):
            raise TypeError(f"export {export!r} is not a function")
        ty = func.type
        if list(ty.params) or list(ty.results):
            raise TypeError(
                f"export {export!r} has type {list(ty.params)} -> {list(ty.results)}; "
                "only () -> () functions can be called"
            )
        convert = _trap_from_runtime_error

        def run() -> None:
            try:
                func()
            except RuntimeError as e:  # wasmer reports traps as RuntimeError
                raise convert(e, export) from None

        run.__qualname__ = f"wasm_caller[{export}]"
        return run


class WasmerCompiledModule(CompiledModule):
    def __init__(self, module, sha256: str) -> None:
        self.module = module
        self.sha256 = sha256

    def instantiate(self) -> WasmerInstance:
        return WasmerInstance(self.module)


_RELAXED_OPCODE = re.compile(r"0xfd subopcode: 0x([0-9a-f]+)", re.I)


class WasmerEngine(Engine):
    """wasmer 1.1.0 with the Cranelift compiler (Store(engine.Universal(Compiler)))."""

    name = "wasmer"

    def __init__(self, *, relaxed_simd: bool = False, threads: bool = False) -> None:
        if relaxed_simd:
            raise RuntimeError(_NO_RELAXED)
        if threads:
            raise RuntimeError(
                "the wasmer engine (wasmer 1.1.0 Python bindings) does not support wasm threads "
                "(shared memory); use the wasmtime engine (get_engine('wasmtime', threads=True))"
            )
        wasmer, Compiler = _import_wasmer()
        self.relaxed_simd = False
        self.threads = False
        self.store = wasmer.Store(wasmer.engine.Universal(Compiler))
        self._modules: dict[str, WasmerCompiledModule] = {}
        self._lock = threading.Lock()
        self.stats = {"memory_hits": 0, "compiles": 0}

    @staticmethod
    def unavailable_reason() -> str | None:
        try:
            _import_wasmer()
        except RuntimeError as e:
            return str(e)
        return None

    def _compile(self, wasm: bytes, sha: str) -> WasmerCompiledModule:  # under self._lock (Engine.compile)
        import wasmer

        try:
            module = wasmer.Module(self.store, wasm)
        except Exception as e:
            msg = str(e)
            m = _RELAXED_OPCODE.search(msg)
            if m and 0x100 <= int(m.group(1), 16) <= 0x1FF:  # relaxed SIMD opcodes are 0xfd 0x100..
                raise WasmCompileError(f"{_NO_RELAXED} (wasmer said: {msg})") from None
            if "threads must be enabled" in msg:
                raise WasmCompileError(
                    "the module uses threads/shared memory, which the wasmer engine does not "
                    f"support; use the wasmtime engine with threads=True (wasmer said: {msg})"
                ) from None
            raise WasmCompileError(f"wasmer could not compile the module: {msg}") from None
        self.stats["compiles"] += 1
        self.check_no_imports([f"{i.module}.{i.name}" for i in module.imports])
        return WasmerCompiledModule(module, sha)
