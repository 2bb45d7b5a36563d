"""Facts about the target, in one place: the dtypes tensors have in linear memory (the IR's
name, the manifest's name, which is also numpy's and torch's, byte size, numpy type) and
what the SIMD128 code generator can do with them. Every other table of dtypes derives from
``DTYPES``; nothing here imports torch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    ir: str  # the IR's name: "f32"
    name: str  # the manifest's, numpy's and torch's name: "float32"
    itemsize: int
    numpy: type
    wasm: str  # a scalar's WebAssembly value type
    load: str  # the instruction loading one element from memory (into ``wasm``)
    store: str  # and storing one


DTYPES = (
    DType("f32", "float32", 4, np.float32, "f32", "f32.load", "f32.store"),
    DType("i32", "int32", 4, np.int32, "i32", "i32.load", "i32.store"),
    DType("i64", "int64", 8, np.int64, "i64", "i64.load", "i64.store"),
    DType("bool", "bool", 1, np.bool_, "i32", "i32.load8_u", "i32.store8"),
)
IR_DTYPES = tuple(d.ir for d in DTYPES)
ITEMSIZE = {d.ir: d.itemsize for d in DTYPES}
NUMPY_DTYPE = {d.ir: d.numpy for d in DTYPES}
MANIFEST_DTYPE = {d.ir: d.name for d in DTYPES}  # what artifacts' manifests call them
NUMPY_BY_NAME = {d.name: d.numpy for d in DTYPES}  # manifest name -> numpy type


@dataclass(frozen=True)
class Simd128:
    """What the vector code generator does (schedule decides, emit writes; both read this)."""

    lanes: int = 4  # 32-bit lanes of a v128
    # load strides along the lane dim gathered into one v128 (4-byte elements): strides in
    # ``shuffle_strides`` by two v128 loads and an i8x16.shuffle, the others by load32_lane
    gather_strides: tuple = (2, 3, 4)
    shuffle_strides: tuple = (2, 3)


SIMD128 = Simd128()


@dataclass(frozen=True)
class Threads:
    """When a kernel of a threaded module is split between the threads (``emit/threads.py``).

    A kernel's single-thread time is estimated as its work (GEMM: multiply-adds; the loop
    kernels: points of the iteration space, reduced dims included; packing: elements) times
    ``ns_per_unit`` of its kind; it is split when that reaches ``min_ns``, else thread 0 runs it
    alone. A graph whose split kernels add up to less than ``graph_min_ns`` gets the
    single-thread module (no workers, no shared memory).
    Measured with ``benchmarks/threads_probe.py --calibrate`` (2-core AMD EPYC, wasmtime 50):
    a barrier between dependent kernels costs ~1-3 us when the other thread spins, waking a
    parked worker ~5-30 us; ``min_ns`` keeps the split worth several of those."""

    min_ns: float = 20_000.0
    # a graph whose split kernels add up to less runs on one thread (each call wakes the
    # workers and passes one barrier per kernel: ~5-40 us measured, the more the busier the host)
    graph_min_ns: float = 200_000.0
    ns_per_unit: tuple = (("Gemm", 0.025), ("PackB", 0.25), ("Pointwise", 0.4), ("Reduce", 0.3), ("Scan", 1.0))


THREADS = Threads()
