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
    widen: str = ""  # a WAT function applied to what ``load`` gives (float16: its bits -> f32)
    narrow: str = ""  # and to a value before ``store`` (f32 -> float16 bits)


DTYPES = (
    DType("f32", "float32", 4, np.float32, "f32", "f32.load", "f32.store"),
    # float64 is computed as float64 (scalar f64 code: the vector code generator has 32-bit
    # lanes only); the lowering rules that take it are listed in lower/registry.FLOAT64_OPS
    DType("f64", "float64", 8, np.float64, "f64", "f64.load", "f64.store"),
    DType("i32", "int32", 4, np.int32, "i32", "i32.load", "i32.store"),
    DType("i64", "int64", 8, np.int64, "i64", "i64.load", "i64.store"),
    DType("bool", "bool", 1, np.bool_, "i32", "i32.load8_u", "i32.store8"),
    # int8 is a storage dtype (quantized tensors): values are loaded sign-extended and cast,
    # or computed in another dtype and cast to it; the IR has no int8 arithmetic
    DType("i8", "int8", 1, np.int8, "i32", "i32.load8_s", "i32.store8"),
    # float16 is stored as such; its values are computed in float32 and rounded where
    # PyTorch rounds (lower/registry.py); in registers an f32 holding a float16 value
    # (csrc/wat/f16_round.wat)
    DType("f16", "float16", 2, np.float16, "f32", "i32.load16_u", "i32.store16", "$f16_bits_to_f32", "$f32_to_f16_bits"),
    # uint8 and int16 likewise: computed in int32, each result wrapped to 8 or 16 bits
    DType("u8", "uint8", 1, np.uint8, "i32", "i32.load8_u", "i32.store8"),
    DType("i16", "int16", 2, np.int16, "i32", "i32.load16_s", "i32.store16"),
)
IR_DTYPES = tuple(d.ir for d in DTYPES)
FLOATS = ("f32", "f64")  # the floating-point dtypes the IR computes in
FLOAT_STORAGE = FLOATS + ("f16",)  # and those tensors can have
# storage dtypes computed in a wider one, as PyTorch's CPU kernels compute them (float16 in
# float32, "opmath"; uint8 and int16 in int32, which wraps the same way), each operator's
# result cast back (lower/registry.py, lower_graph)
WIDENED = {"f16": "f32", "u8": "i32", "i16": "i32"}
# the float64 math routines (scalar, csrc/wat/math_f64.wat); float64 sqrt is an instruction
FLOAT64_MATH = ("exp", "log", "tanh", "sigmoid", "log1p", "expm1", "log2", "log10")
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
class Cache:
    """The data cache, as layouts see it. Rows read together, a power-of-two number of bytes
    apart, fall into the same L1 sets and evict each other: the strided GEMM reading k rows of
    an im2col buffer of 4096 pixels (16 KiB apart) ran at 19-22 GFLOP/s in Chromium, Node and
    wasmtime, and at 25-35 with the rows 16 floats further apart (2026-12-02, AMD EPYC,
    16x4096x28 and 64x1024x32). Buffers the compiler lays out with many such rows get
    ``row_pad`` extra floats per row when a row is a multiple of ``alias_period`` floats."""

    alias_period: int = 256  # floats (1 KiB): rows this far apart share a quarter of L1's sets
    row_pad: int = 16  # floats (one 64-byte line)


CACHE = Cache()


@dataclass(frozen=True)
class Threads:
    """When a kernel of a threaded module is split between the threads (``emit/threads.py``).

    A kernel's single-thread time is estimated as its work (GEMM: multiply-adds; the loop
    kernels: points of the iteration space, reduced dims included; packing: elements) times
    ``ns_per_unit`` of its kind; it is split when that reaches ``min_ns``, else thread 0 runs it
    alone. A graph whose split kernels add up to less than ``graph_min_ns`` gets the
    single-thread module (no workers, no shared memory).

    Measured with ``benchmarks/threads_probe.py --calibrate`` (2026-12-01, 2-core AMD EPYC,
    wasmtime 50, the cores busy with other jobs: on-CPU time per thread): ns per unit at
    1 thread ``x * 2 + 1`` 0.10, a (s, 256) @ (256, 256) GEMM 0.04, a row sum 0.05 (packing
    0.12-0.2 from ``schedule.PACK_MIN_ROWS``' note; scans unmeasured: sequential, 1.0 is a
    guess). A threaded call costs thread 0 ~20 us of CPU on that busy host (its barrier spin
    while the other thread waits for a core); splitting paid (on-CPU ratio > 1.2x) from
    ~100 us of pointwise work and ~180 us of GEMM, and lost below ~30 us.

    A loop kernel's point costs ``math_ns`` more per math routine its body calls (``exp``,
    ``tanh``, ...), and ``scalar_factor`` times as much in scalar mode (no v128 loop):
    ``benchmarks/kernel_profile.py``-style per-kernel times of the GPT-2 blocks
    (``threads_probe.py --models gpt2``; 2026-12-02, busy host, so ~2x slow throughout):
    tanh-GELU and softmax's ``exp(x - max)`` 3.4-4.0 ns a point (estimated 0.1 before: the
    GELUs, 1.2% of the time each, ran on thread 0 alone), plain vector pointwise kernels
    0.25-0.6, a scalar (strided) one 1.0."""

    min_ns: float = 50_000.0
    # a graph whose split kernels add up to less runs on one thread (each call wakes the
    # workers and passes one barrier per kernel)
    graph_min_ns: float = 300_000.0
    ns_per_unit: tuple = (("Gemm", 0.04), ("PackB", 0.15), ("Pointwise", 0.1), ("Reduce", 0.05), ("Scan", 1.0))
    math_ns: float = 2.0  # per point and math routine call of a loop kernel
    scalar_factor: float = 4.0  # a scalar loop kernel's point over a vector one's


THREADS = Threads()
