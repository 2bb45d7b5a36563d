"""The saved artifact: one self-describing ``.wasm`` file, and its loader.

An artifact is an ordinary WebAssembly module that imports nothing and exports
``memory``, ``forward`` and ``prepare``. Weights (and anything ``prepare`` derives from
them) are baked into a data segment. A custom section named ``torch_wasm_backend.manifest``
holds a JSON manifest: format version, input and output names, shapes, dtypes and byte
offsets in memory, the features the module needs, the options it was built with and tool
versions. This module needs numpy and a WebAssembly engine only (no torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import get_engine

MANIFEST_SECTION = "torch_wasm_backend.manifest"
FORMAT_VERSION = 1
DTYPES = {"float32": np.float32, "int32": np.int32, "int64": np.int64, "bool": np.bool_}


class ArtifactError(ValueError):
    pass


# --------------------------------------------------------------------------- binary format
def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_leb128(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ArtifactError("truncated WebAssembly module")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def custom_section(name: str, payload: bytes) -> bytes:
    body = _leb128(len(name.encode())) + name.encode() + payload
    return b"\x00" + _leb128(len(body)) + body


def sections(wasm: bytes):
    """Yield ``(id, start, end)`` of each section's payload."""
    if wasm[:4] != b"\0asm" or wasm[4:8] != b"\x01\0\0\0":
        raise ArtifactError("not a WebAssembly module (bad magic number or version)")
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, start = _read_leb128(wasm, pos + 1)
        end = start + size
        if end > len(wasm):
            raise ArtifactError("truncated WebAssembly section")
        yield sid, start, end
        pos = end


def custom_sections(wasm: bytes) -> dict:
    out = {}
    for sid, start, end in sections(wasm):
        if sid == 0:
            n, p = _read_leb128(wasm, start)
            out[wasm[p:p + n].decode("utf-8", "replace")] = wasm[p + n:end]
    return out


def read_manifest(wasm: bytes) -> dict:
    raw = custom_sections(wasm).get(MANIFEST_SECTION)
    if raw is None:
        raise ArtifactError(f"no {MANIFEST_SECTION!r} custom section: not a torch_wasm_backend artifact")
    manifest = json.loads(raw)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"artifact format version {manifest.get('format_version')} is not supported "
                            f"(this loader reads version {FORMAT_VERSION})")
    return manifest


def size_breakdown(wasm: bytes) -> dict:
    names = {0: "custom", 1: "type", 2: "import", 3: "function", 5: "memory", 7: "export", 10: "code",
             11: "data", 12: "datacount"}
    sizes: dict = {}
    for sid, start, end in sections(wasm):
        key = names.get(sid, f"section{sid}")
        sizes[key] = sizes.get(key, 0) + (end - start)
    return sizes


def import_count(wasm: bytes) -> int:
    """How many imports the module declares (an artifact declares none)."""
    for sid, start, _ in sections(wasm):
        if sid == 2:
            return _read_leb128(wasm, start)[0]
    return 0


# --------------------------------------------------------------------------- loading
def eval_dim(d, binding: dict) -> int:
    """A manifest size: an int, a symbol name, or ``{"poly": [[coef, {sym: power}], ...]}``."""
    if isinstance(d, int):
        return d
    if isinstance(d, str):
        return binding[d]
    total = 0
    for coef, powers in d["poly"]:
        term = coef
        for sym, p in powers.items():
            term *= binding[sym] ** p
        total += term
    return total


@dataclass
class LoadedModel:
    """A callable artifact: numpy arrays (or torch tensors) in, the same kind out.

    Dimensions named by a symbol in the manifest accept any size in the symbol's
    [min, max] range; their values go to the module's parameter block before each call."""

    manifest: dict
    wasm: bytes
    engine: str = "wasmtime"

    def __post_init__(self):
        req = self.manifest.get("requires", {})
        eng = get_engine(self.engine, relaxed_simd=bool(req.get("relaxed_simd")))
        self._instance = eng.compile(self.wasm).instantiate()
        self._forward = self._instance.caller("forward")
        self._symbols = {s["name"]: s for s in self.manifest.get("symbols", [])}
        self._key = None

    def _layout(self, binding: dict) -> None:
        mem = self._instance.memory_view()
        for name, sym in self._symbols.items():
            mem[sym["offset"]: sym["offset"] + 4].view(np.int32)[0] = binding[name]
        self._in = []
        for spec in self.manifest["inputs"]:
            shape = [eval_dim(d, binding) for d in spec["shape"]]
            n = int(np.prod(shape)) if shape else 1
            dt = np.dtype(DTYPES[spec["dtype"]])
            view = mem[spec["offset"]: spec["offset"] + n * dt.itemsize].view(dt).reshape(shape) if n else None
            self._in.append((spec, shape, view))
        self._out = []
        for spec in self.manifest["outputs"]:
            dt = np.dtype(DTYPES[spec["dtype"]])
            shape = [eval_dim(d, binding) for d in spec["shape"]]
            if 0 in shape:
                self._out.append((spec, shape, None))
                continue
            base = mem[eval_dim(spec["offset"], binding):]
            base = base[: base.size // dt.itemsize * dt.itemsize].view(dt)
            strides = [eval_dim(s, binding) * dt.itemsize for s in spec["strides"]]
            self._out.append((spec, shape, np.lib.stride_tricks.as_strided(base, shape, strides, writeable=False)))
        self._key = tuple(sorted(binding.items()))

    @property
    def input_names(self) -> list:
        return [s["name"] for s in self.manifest["inputs"]]

    def _bind(self, arrays) -> dict:
        binding = {}
        for arr, spec in zip(arrays, self.manifest["inputs"]):
            if arr.ndim != len(spec["shape"]):
                raise ArtifactError(f"input {spec['name']!r}: expected shape {spec['shape']}, got {list(arr.shape)}")
            for d, size in zip(spec["shape"], arr.shape):
                if isinstance(d, str):
                    sym = self._symbols[d]
                    if not sym["min"] <= size <= sym["max"]:
                        raise ArtifactError(f"input {spec['name']!r}: size {size} for {d} is outside the range "
                                            f"[{sym['min']}, {sym['max']}] the artifact was saved for")
                    if binding.setdefault(d, size) != size:
                        raise ArtifactError(f"input {spec['name']!r}: {d} is {size} here but {binding[d]} elsewhere")
        return binding

    def __call__(self, *inputs):
        if len(inputs) != len(self.manifest["inputs"]):
            raise ArtifactError(f"the model takes {len(self.manifest['inputs'])} inputs "
                                f"({', '.join(self.input_names)}), got {len(inputs)}")
        as_torch = any(type(x).__module__.startswith("torch") for x in inputs)
        arrays = [x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x) for x in inputs]
        binding = self._bind(arrays)
        if self._key != tuple(sorted(binding.items())):
            self._layout(binding)
        for arr, (spec, shape, view) in zip(arrays, self._in):
            if list(arr.shape) != shape:
                raise ArtifactError(f"input {spec['name']!r}: expected shape {shape}, got {list(arr.shape)}")
            if arr.dtype != DTYPES[spec["dtype"]]:
                raise ArtifactError(f"input {spec['name']!r}: expected dtype {spec['dtype']}, got {arr.dtype} "
                                    f"(convert it with .astype / .to first)")
            if view is not None:
                view[...] = arr
        self._forward()
        outs = [np.array(v) if v is not None else np.zeros(shape, DTYPES[s["dtype"]]) for s, shape, v in self._out]
        if as_torch:
            import torch

            outs = [torch.from_numpy(o) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)


class LoadedTrainer(LoadedModel):
    """A trainable artifact (``save_training``): ``model(*inputs)`` runs the eval-mode
    forward with the current weights; ``train_step(*inputs, target)`` runs forward, loss,
    backward and the optimizer update inside WebAssembly and returns the loss (of the batch,
    before the update); ``get_weights()``/``set_weights()`` read and write the state
    (parameters, buffers, optimizer state) by name."""

    def __post_init__(self):
        super().__post_init__()
        self._train = self._instance.caller("train_step")
        self._instance.caller("prepare")()
        self._train_in = [self._view(s) for s in self.manifest["train_step"]["inputs"]]
        self._loss = self._view(self.manifest["train_step"]["outputs"][0])

    def _view(self, spec):
        dt = np.dtype(DTYPES[spec["dtype"]])
        n = int(np.prod(spec["shape"])) if spec["shape"] else 1
        mem = self._instance.memory_view()
        return mem[spec["offset"]: spec["offset"] + n * dt.itemsize].view(dt).reshape(spec["shape"])

    @property
    def state_names(self) -> list:
        return [s["name"] for s in self.manifest["state"]]

    def train_step(self, *batch) -> float:
        specs = self.manifest["train_step"]["inputs"]
        if len(batch) != len(specs):
            raise ArtifactError(f"train_step takes {len(specs)} arrays ({', '.join(s['name'] for s in specs)}), "
                                f"got {len(batch)}")
        arrays = [x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x) for x in batch]
        for arr, spec, view in zip(arrays, specs, self._train_in):
            if list(arr.shape) != spec["shape"] or arr.dtype != DTYPES[spec["dtype"]]:
                raise ArtifactError(f"train_step input {spec['name']!r}: expected {spec['dtype']}{spec['shape']}, "
                                    f"got {arr.dtype}{list(arr.shape)}")
        for arr, view in zip(arrays, self._train_in):
            view[...] = arr
        self._train()
        return float(self._loss.reshape(()))

    def get_weights(self, prefix: str = "") -> dict:
        """Copies of the state tensors whose names start with ``prefix`` (``"param:"`` for
        the parameters only), by name."""
        return {s["name"]: np.array(self._view(s)) for s in self.manifest["state"] if s["name"].startswith(prefix)}

    def set_weights(self, weights: dict) -> None:
        """Overwrite state tensors by name (any subset); checked before anything is written."""
        specs = {s["name"]: s for s in self.manifest["state"]}
        unknown = sorted(set(weights) - set(specs))
        if unknown:
            raise ArtifactError(f"unknown state name(s) {unknown}; see .state_names")
        arrays = {}
        for name, value in weights.items():
            arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
            spec = specs[name]
            if list(arr.shape) != spec["shape"]:
                raise ArtifactError(f"{name}: expected shape {spec['shape']}, got {list(arr.shape)}")
            arrays[name] = arr.astype(DTYPES[spec["dtype"]], copy=False)
        for name, arr in arrays.items():
            self._view(specs[name])[...] = arr


def load(source, engine: str = "wasmtime") -> LoadedModel:
    """Load an artifact from a path or bytes; returns a callable model."""
    wasm = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
    manifest = read_manifest(wasm)
    return (LoadedTrainer if manifest.get("kind") == "trainer" else LoadedModel)(manifest, wasm, engine)
