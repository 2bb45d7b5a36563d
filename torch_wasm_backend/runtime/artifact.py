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
@dataclass
class LoadedModel:
    """A callable artifact: numpy arrays (or torch tensors) in, the same kind out."""

    manifest: dict
    wasm: bytes
    engine: str = "wasmtime"

    def __post_init__(self):
        req = self.manifest.get("requires", {})
        eng = get_engine(self.engine, relaxed_simd=bool(req.get("relaxed_simd")))
        self._instance = eng.compile(self.wasm).instantiate()
        self._forward = self._instance.caller("forward")
        mem = self._instance.memory_view()
        self._in = [(spec, self._view(mem, spec["offset"], spec["shape"], spec["dtype"]))
                    for spec in self.manifest["inputs"]]
        self._out = []
        for spec in self.manifest["outputs"]:
            dtype = DTYPES[spec["dtype"]]
            item = np.dtype(dtype).itemsize
            if 0 in spec["shape"]:
                self._out.append((spec, None))
                continue
            base = mem[spec["offset"]:]
            base = base[: base.size // item * item].view(dtype)
            view = np.lib.stride_tricks.as_strided(base, spec["shape"], [s * item for s in spec["strides"]],
                                                   writeable=False)
            self._out.append((spec, view))

    @staticmethod
    def _view(mem, offset, shape, dtype):
        n = int(np.prod(shape)) if shape else 1
        dt = DTYPES[dtype]
        return mem[offset: offset + n * np.dtype(dt).itemsize].view(dt).reshape(shape) if n else None

    @property
    def input_names(self) -> list:
        return [s["name"] for s in self.manifest["inputs"]]

    def __call__(self, *inputs):
        if len(inputs) != len(self._in):
            raise ArtifactError(f"the model takes {len(self._in)} inputs ({', '.join(self.input_names)}), "
                                f"got {len(inputs)}")
        as_torch = any(type(x).__module__.startswith("torch") for x in inputs)
        for x, (spec, view) in zip(inputs, self._in):
            arr = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
            if list(arr.shape) != list(spec["shape"]):
                raise ArtifactError(f"input {spec['name']!r}: expected shape {spec['shape']}, got {list(arr.shape)}")
            if arr.dtype != DTYPES[spec["dtype"]]:
                raise ArtifactError(f"input {spec['name']!r}: expected dtype {spec['dtype']}, got {arr.dtype} "
                                    f"(convert it with .astype / .to first)")
            if view is not None:
                view[...] = arr
        self._forward()
        outs = [np.array(v) if v is not None else np.zeros(s["shape"], DTYPES[s["dtype"]]) for s, v in self._out]
        if as_torch:
            import torch

            outs = [torch.from_numpy(o) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)


def load(source, engine: str = "wasmtime") -> LoadedModel:
    """Load an artifact from a path or bytes; returns a callable model."""
    wasm = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
    return LoadedModel(read_manifest(wasm), wasm, engine)
