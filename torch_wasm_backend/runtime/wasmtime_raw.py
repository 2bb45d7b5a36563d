"""The raw C entry points of wasmtime behind the fast call path (``Instance.caller()``): private
parts of wasmtime-py (``_ffi``), optional. ``FAST_PATH`` says whether they are there; without
them the engines use the public (slower) API. ``raise_call_failure`` turns the raw error and
trap pointers of a failed call into a ``WasmTrap``."""

from __future__ import annotations

import ctypes
import logging

import wasmtime

from .engine import WasmTrap
from .wasmtime_traps import trap_from_error, trap_from_wasmtime

log = logging.getLogger(__name__)

try:
    from wasmtime import _ffi as ffi

    DLL = ffi.dll

    def _raw_fn(name: str, restype):
        # dll[name] makes a new function object (dll.name is cached and shared
        # with wasmtime-py's own bindings, whose argtypes we must not touch).
        # No argtypes: the pre-built ctypes objects are passed through as is.
        fn = DLL[name]
        fn.restype = restype
        return fn

    CALL_UNCHECKED = _raw_fn("wasmtime_func_call_unchecked", ctypes.c_void_p)
    MEMORY_DATA = _raw_fn("wasmtime_memory_data", ctypes.c_void_p)
    MEMORY_DATA_SIZE = _raw_fn("wasmtime_memory_data_size", ctypes.c_size_t)
    SHARED_MEMORY_DATA = _raw_fn("wasmtime_sharedmemory_data", ctypes.c_void_p)
    SHARED_MEMORY_DATA_SIZE = _raw_fn("wasmtime_sharedmemory_data_size", ctypes.c_size_t)
    TRAP_PTR = ctypes.POINTER(ffi.wasm_trap_t)
    ERROR_PTR = ctypes.POINTER(ffi.wasmtime_error_t)
    FUNC_T = ffi.wasmtime_func_t
    MEMORY_T = ffi.wasmtime_memory_t
    VAL_RAW_T = ffi.wasmtime_val_raw_t
    # the private attributes the fast path relies on
    assert hasattr(wasmtime.Store, "_context")
    assert hasattr(wasmtime.Trap, "_from_ptr")
    assert hasattr(wasmtime.WasmtimeError, "_from_ptr")
    FAST_PATH = True
except Exception as _exc:  # pragma: no cover - depends on the wasmtime-py version
    log.warning("wasmtime fast call path unavailable (%s); using the public API", _exc)
    FAST_PATH = False


def raise_call_failure(err: int | None, trap_cell: ctypes.c_void_p, export: str) -> None:
    """Slow path of the fast caller: turn the raw error / trap pointers into WasmTrap."""
    exc: WasmTrap | None = None
    error_obj = None
    if err:
        # wrapping makes wasmtime-py own (and free) the error
        error_obj = wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, ERROR_PTR))
    addr = trap_cell.value
    if addr:
        trap_cell.value = None  # wasmtime only writes it on a trap: reset for the next call
        exc = trap_from_wasmtime(wasmtime.Trap._from_ptr(ctypes.cast(addr, TRAP_PTR)), export)
    elif error_obj is not None:
        exc = trap_from_error(str(error_obj), export)
    if exc is not None:
        raise exc
