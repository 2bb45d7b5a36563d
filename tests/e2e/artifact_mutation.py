"""Building hostile artifacts from real ones: a rewritten manifest, inputs a manifest asks for.

Used by the loader fuzz tests (``test_artifact_hostile.py`` in Python; ``js/fuzz_loader.mjs``
does the same in Node) and by the tests that add manifest keys before the writer has them
(``traps``, ``output_tree``).
"""

from __future__ import annotations

import json

import numpy as np

from torch_wasm_backend.runtime.artifact import MANIFEST_SECTION, custom_section, read_manifest, strip_custom_section

DTYPES = {"float32": np.float32, "int32": np.int32, "int64": np.int64, "bool": np.bool_}


def with_manifest(wasm: bytes, manifest) -> bytes:
    """``wasm`` with its manifest section replaced by ``manifest`` (a dict, or raw bytes)."""
    payload = manifest if isinstance(manifest, bytes) else json.dumps(manifest, sort_keys=True).encode()
    return strip_custom_section(wasm, MANIFEST_SECTION) + custom_section(MANIFEST_SECTION, payload)


def add_keys(path, **keys) -> dict:
    """Add keys to the manifest of the artifact at ``path`` (in place); returns the new manifest."""
    wasm = path.read_bytes()
    manifest = {**read_manifest(wasm), **keys}
    path.write_bytes(with_manifest(wasm, manifest))
    return manifest


def _size(d, binding):
    if isinstance(d, bool):
        return None
    if isinstance(d, int):
        return d
    if isinstance(d, str):
        return binding.get(d)
    return None


def inputs_for(manifest: dict, limit: int = 1 << 14):
    """Zero-filled arrays of the shapes and dtypes a (possibly hostile) manifest asks for, the
    dynamic sizes at their minimum; None when that cannot be worked out or is absurdly large."""
    try:
        binding = {s["name"]: s["min"] for s in manifest.get("symbols", [])}
        arrays = []
        for spec in manifest["inputs"]:
            shape = [_size(d, binding) for d in spec["shape"]]
            if any(not isinstance(n, int) or n < 0 for n in shape) or np.prod(shape, dtype=object) > limit:
                return None
            arrays.append(np.zeros(shape, DTYPES.get(spec["dtype"], np.float32)))
        return arrays
    except (TypeError, KeyError, AttributeError, ValueError):
        return None
