"""The few pieces of the WebAssembly binary format that the artifact tools read and write.

Sections are walked by their id and LEB128 size without decoding their contents, except
custom sections (name + payload) and the export section (name and kind of each export).
The bytes are untrusted: every read is bounds-checked and a malformed module raises
``ArtifactError`` (a ``ValueError``), never ``IndexError`` or a partial result.
"""

from __future__ import annotations


class ArtifactError(ValueError):
    """A file that is not a valid artifact, or inputs that do not fit it."""


EXPORT_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 5: "memory", 7: "export", 10: "code",
                 11: "data", 12: "datacount"}


def leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_leb128(data: bytes, pos: int) -> tuple[int, int]:
    """``(value, position after it)`` of the unsigned LEB128 number at ``pos`` (at most 5 bytes: u32)."""
    result = shift = 0
    for _ in range(5):
        if pos >= len(data):
            raise ArtifactError("truncated WebAssembly module")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos
    raise ArtifactError("malformed WebAssembly module (a LEB128 number longer than 5 bytes)")


def custom_section(name: str, payload: bytes) -> bytes:
    body = leb128(len(name.encode())) + name.encode() + payload
    return b"\x00" + leb128(len(body)) + body


def sections(wasm: bytes):
    """Yield ``(id, start, end)`` of each section's payload."""
    if wasm[:4] != b"\0asm" or wasm[4:8] != b"\x01\0\0\0":
        raise ArtifactError("not a WebAssembly module (bad magic number or version)")
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, start = read_leb128(wasm, pos + 1)
        end = start + size
        if end > len(wasm):
            raise ArtifactError("truncated WebAssembly section")
        yield sid, start, end
        pos = end


def _name(wasm: bytes, pos: int, end: int) -> tuple[str, int]:
    n, p = read_leb128(wasm, pos)
    if p + n > end:
        raise ArtifactError("malformed WebAssembly module (a name runs past its section)")
    return wasm[p:p + n].decode("utf-8", "replace"), p + n


def custom_sections(wasm: bytes) -> dict:
    """``{name: payload}`` of the custom sections (the first of each name)."""
    out: dict = {}
    for sid, start, end in sections(wasm):
        if sid == 0:
            name, p = _name(wasm, start, end)
            out.setdefault(name, wasm[p:end])
    return out


def strip_custom_section(wasm: bytes, name: str) -> bytes:
    """The module without its custom sections called ``name`` (e.g. to compile the code
    independently of the manifest, so that one compiled module serves every manifest)."""
    keep, pos = [wasm[:8]], 8
    for sid, start, end in sections(wasm):
        if not (sid == 0 and _name(wasm, start, end)[0] == name):
            keep.append(wasm[pos:end])
        pos = end
    return b"".join(keep)


def exports(wasm: bytes) -> dict:
    """``{export name: kind}`` (kind: "func", "memory", ...) from the export section."""
    out: dict = {}
    for sid, start, end in sections(wasm):
        if sid != 7:
            continue
        count, p = read_leb128(wasm, start)
        for _ in range(count):
            name, p = _name(wasm, p, end)
            if p >= end:
                raise ArtifactError("malformed WebAssembly export section")
            kind = EXPORT_KINDS.get(wasm[p], f"kind{wasm[p]}")
            _, p = read_leb128(wasm, p + 1)
            out[name] = kind
    return out


def size_breakdown(wasm: bytes) -> dict:
    sizes: dict = {}
    for sid, start, end in sections(wasm):
        key = SECTION_NAMES.get(sid, f"section{sid}")
        sizes[key] = sizes.get(key, 0) + (end - start)
    return sizes


def import_count(wasm: bytes) -> int:
    """How many imports the module declares (an artifact declares none)."""
    for sid, start, _ in sections(wasm):
        if sid == 2:
            return read_leb128(wasm, start)[0]
    return 0
