"""Runtime layer: run assembled WebAssembly modules from Python.

Depends only on numpy and the wasm engine packages (never on torch).
Engine implementations are imported lazily by :func:`get_engine`.
"""

from .engine import (
    ENGINE_NAMES,
    CompiledModule,
    Engine,
    Instance,
    WasmCompileError,
    WasmTrap,
    available_engines,
    get_engine,
)

__all__ = [
    "ENGINE_NAMES",
    "CompiledModule",
    "Engine",
    "Instance",
    "WasmCompileError",
    "WasmTrap",
    "available_engines",
    "get_engine",
]
