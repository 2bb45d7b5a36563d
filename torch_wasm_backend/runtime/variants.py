"""Code variants inside one artifact: the relaxed-SIMD (FMA) module beside the SIMD128 one.

Format (``save()`` writes it when the model has packed GEMMs): the artifact is the SIMD128
module, complete with its data segments (the weights) and its manifest. A custom section
``torch_wasm_backend.relaxed_simd`` holds a second WebAssembly binary, the same program
with its packed GEMMs calling ``$f32_gemm_packed_fma`` (``f32x4.relaxed_madd``), *without
a data section*: both variants share the one copy of the weights, the SIMD128 module's
data section. The manifest names the section (``variants.relaxed_simd.section``, with
its ``bytes``); memory layout, inputs and outputs are the same for both.

To run the FMA variant a loader splices the SIMD128 module's data section into the
variant's bytes right after its code section (``splice``). Before that it checks the
variant is what it claims (``check_variant``): a well-formed module that imports
nothing, has no data section of its own, declares the same memory (and data count) as
the SIMD128 module, exports the same names, and carries no artifact sections of its own.
A loader picks the FMA variant where the engine has relaxed SIMD (wasmtime with
``relaxed_simd=True``; Chromium; Node >= 22, or Node 20 with
``--experimental-wasm-relaxed-simd``) and the SIMD128 module elsewhere; either can be
forced. ``csrc/js/loader.mjs`` implements the same rules.

Rounding: ``relaxed_madd`` is fused where the CPU has FMA (every x86 with FMA3, ARM64)
and a separate multiply and add elsewhere; wasmtime runs it in deterministic mode
(``wasm_relaxed_simd_deterministic``: always fused). So the FMA variant's results differ
from the SIMD128 module's by rounding (one rounding per multiply-add instead of two) and
are the same on every run of a given engine and CPU.
"""

from __future__ import annotations

from .wasm_binary import ArtifactError, custom_sections, exports, leb128, read_leb128, sections

RELAXED_SECTION = "torch_wasm_backend.relaxed_simd"
SIMD128, RELAXED = "simd128", "relaxed_simd"
VARIANT_CHOICES = ("auto", SIMD128, RELAXED)
ARTIFACT_SECTIONS = ("torch_wasm_backend.manifest", RELAXED_SECTION)
DATA, DATACOUNT, CODE, IMPORT, MEMORY = 11, 12, 10, 2, 5


def _section_bytes(wasm: bytes, sid: int) -> bytes | None:
    """The whole section (id, size and payload) of the first section with id ``sid``."""
    pos = 8
    for s, start, end in sections(wasm):
        if s == sid:
            return wasm[pos:end]
        pos = end
    return None


def without_data(wasm: bytes) -> bytes:
    """``wasm`` without its data section: what the artifact stores of the FMA variant."""
    keep, pos = [wasm[:8]], 8
    for sid, _start, end in sections(wasm):
        if sid != DATA:
            keep.append(wasm[pos:end])
        pos = end
    return b"".join(keep)


def variant_section(variant: bytes) -> bytes:
    """The custom section holding the FMA variant's bytes (without data), to append."""
    name = RELAXED_SECTION.encode()
    body = leb128(len(name)) + name + variant
    return b"\x00" + leb128(len(body)) + body


def variant_entry(manifest: dict, wasm: bytes) -> bytes | None:
    """The FMA variant's stored bytes if the manifest declares one (checked against the file)."""
    entry = manifest.get("variants", {}).get(RELAXED)
    if entry is None:
        return None
    payload = custom_sections(wasm).get(entry["section"])
    if payload is None:
        raise ArtifactError(
            f"the manifest declares a relaxed-SIMD variant in custom section {entry['section']!r}, "
            "but the file has no such section (a truncated or edited artifact)"
        )
    if len(payload) != entry["bytes"]:
        raise ArtifactError(
            f"the relaxed-SIMD variant is {len(payload)} bytes, the manifest says {entry['bytes']} "
            "(a truncated or edited artifact)"
        )
    return payload


def check_variant(main: bytes, variant: bytes) -> None:
    """The FMA variant may only differ from the SIMD128 module in its code (see the module
    docstring); raises ArtifactError saying what is wrong."""
    where = f"the relaxed-SIMD variant (custom section {RELAXED_SECTION!r})"
    try:
        ids = [sid for sid, _, _ in sections(variant)]
        names = custom_sections(variant)
        have = exports(variant)
    except ArtifactError as e:
        raise ArtifactError(f"{where} is not a valid WebAssembly module: {e}") from None
    if DATA in ids:
        raise ArtifactError(f"{where} has a data section of its own; it must share the SIMD128 module's weights")
    if IMPORT in ids and read_leb128(variant, next(s for i, s, _ in sections(variant) if i == IMPORT))[0]:
        raise ArtifactError(f"{where} imports something; an artifact imports nothing")
    if CODE not in ids:
        raise ArtifactError(f"{where} has no code section")
    for sid, what in ((MEMORY, "memory"), (DATACOUNT, "data count")):
        if _section_bytes(variant, sid) != _section_bytes(main, sid):
            raise ArtifactError(
                f"{where} declares another {what} section than the SIMD128 module; the two must share one memory layout"
            )
    if have != exports(main):
        raise ArtifactError(f"{where} exports {sorted(have)}, the SIMD128 module {sorted(exports(main))}")
    nested = [n for n in ARTIFACT_SECTIONS if n in names]
    if nested:
        raise ArtifactError(f"{where} holds artifact sections of its own ({', '.join(nested)})")


def splice(main: bytes, variant: bytes) -> bytes:
    """The runnable FMA module: ``variant`` with ``main``'s data section after its code section."""
    data = _section_bytes(main, DATA) or b""
    out, pos = [variant[:8]], 8
    for sid, _start, end in sections(variant):
        out.append(variant[pos:end])
        if sid == CODE:
            out.append(data)
        pos = end
    return b"".join(out)


def choose(requested: str, has_variant: bool, engine_relaxed: bool, requires_relaxed: bool) -> str:
    """Which code runs: ``"relaxed_simd"`` or ``"simd128"``.

    ``requested``: ``"auto"`` (the FMA variant where the engine has relaxed SIMD, else the
    SIMD128 module), ``"simd128"`` or ``"relaxed_simd"`` (an error when it cannot run).
    ``requires_relaxed``: the artifact's one module needs relaxed SIMD (``save(...,
    relaxed_simd=True)``)."""
    if requested not in VARIANT_CHOICES:
        raise ArtifactError(f"variant={requested!r}: expected one of {', '.join(map(repr, VARIANT_CHOICES))}")
    if requires_relaxed:
        if requested == SIMD128:
            raise ArtifactError(
                "variant='simd128': this artifact was saved with relaxed_simd=True and has no "
                "SIMD128 module; save it again with relaxed_simd='both' or False"
            )
        return RELAXED
    if requested == SIMD128 or (requested == "auto" and not (has_variant and engine_relaxed)):
        return SIMD128
    if not has_variant:
        raise ArtifactError(
            "variant='relaxed_simd': this artifact has no relaxed-SIMD variant (saved with "
            "relaxed_simd=False, or it has no packed GEMM that FMA would change)"
        )
    if not engine_relaxed:
        raise ArtifactError(
            "variant='relaxed_simd': this engine runs without relaxed SIMD (wasmer has none; pass "
            "an engine made with get_engine('wasmtime', relaxed_simd=True))"
        )
    return RELAXED
