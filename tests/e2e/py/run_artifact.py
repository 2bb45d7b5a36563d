"""Run a saved artifact in a fresh Python process with torch blocked (the loader needs numpy
and an engine only).

    python run_artifact.py MODEL.wasm OUT_DIR INPUT.bin ...

Inputs are raw C-contiguous bytes in manifest order; outputs are written as OUT_DIR/<k>.bin
for manifest output k, found in the returned structure through the manifest's ``output_tree``.
"""

import sys

sys.modules["torch"] = None  # importing torch now raises ImportError

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from torch_wasm_backend import load  # noqa: E402
from torch_wasm_backend.runtime.artifact import DTYPES  # noqa: E402

model_path, out_dir, *input_paths = sys.argv[1:]
model = load(model_path)
manifest = model.manifest
inputs = {spec["name"]: np.frombuffer(Path(p).read_bytes(), DTYPES[spec["dtype"]]).reshape(spec["shape"])
          for spec, p in zip(manifest["inputs"], input_paths)}
result = model(*inputs.values())  # manifest order
flat = {}


def walk(tree, value):
    if "tensor" in tree:
        flat[tree["tensor"]] = value
    elif "dict" in tree:
        for key, sub in tree["dict"]:
            walk(sub, value[key])
    else:
        for sub, v in zip(tree.get("tuple", tree.get("list", [])), value):
            walk(sub, v)


if isinstance(result, dict):  # the model's structure, as its manifest's output_tree describes
    walk(manifest["output_tree"], result)
else:  # one output, or a tuple in manifest order
    flat = dict(enumerate(result if isinstance(result, tuple) else [result]))
for k, arr in flat.items():
    (Path(out_dir) / f"{k}.bin").write_bytes(np.ascontiguousarray(arr).tobytes())
