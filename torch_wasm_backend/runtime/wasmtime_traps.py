"""Turning wasmtime traps and errors into ``WasmTrap`` (reason, function name, frames)."""

from __future__ import annotations

import re

import wasmtime

from .engine import WasmTrap

_CAUSED_BY = re.compile(r"Caused by:\s*\n(.*)", re.S)
_FRAME_LINE = re.compile(r"^\s*\d+:\s+0x[0-9a-f]+\s+-\s+(.*)$", re.M)


def _reason_from_message(message: str) -> str:
    m = _CAUSED_BY.search(message)
    text = m.group(1) if m else message
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    # drop anyhow's "0: " / "1: " numbering of nested causes
    lines = [re.sub(r"^\d+:\s*", "", ln) for ln in lines]
    reason = "; ".join(lines) if lines else message.strip()
    if reason.startswith("wasm trap: "):
        reason = reason[len("wasm trap: "):]
    return reason


def _frames_from_message(message: str) -> list[str | None]:
    out: list[str | None] = []
    for m in _FRAME_LINE.finditer(message):
        desc = m.group(1).strip()
        out.append(desc.split("!", 1)[1] if "!" in desc else None)
    return out


def trap_from_wasmtime(trap: "wasmtime.Trap", export: str | None) -> WasmTrap:
    try:
        message = trap.message
    except Exception:
        message = str(trap)
    try:
        frames = [f.func_name for f in trap.frames]
    except Exception:
        frames = _frames_from_message(message)
    try:
        code = trap.trap_code
        code_name = code.name if code is not None else None
    except Exception:
        code_name = None
    func_name = frames[0] if frames else None
    return WasmTrap(
        _reason_from_message(message),
        func_name=func_name,
        export=export,
        frames=tuple(frames),
        trap_code=code_name,
        raw_message=message,
    )


def trap_from_error(message: str, export: str | None) -> WasmTrap:
    frames = _frames_from_message(message)
    return WasmTrap(
        _reason_from_message(message),
        func_name=frames[0] if frames else None,
        export=export,
        frames=tuple(frames),
        raw_message=message,
    )
