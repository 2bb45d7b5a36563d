"""Run a saved artifact in a fresh Python process with torch blocked (the loader needs numpy
and an engine only).

    python run_artifact.py MODEL.wasm OUT_DIR INPUT.bin ...

Inputs are raw C-contiguous bytes in manifest order, passed by name; outputs are written as
OUT_DIR/<k>.bin for manifest output k; a dict output must come back as a dict.
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
outputs = model.run_flat(**inputs)  # by name; manifest order out
for k, arr in enumerate(outputs):
    (Path(out_dir) / f"{k}.bin").write_bytes(np.ascontiguousarray(arr).tobytes())
structured = model(**inputs)  # the model's own structure (dict keys of a ModelOutput)
tree = manifest["output_tree"]
if "dict" in tree:
    assert isinstance(structured, dict) and [k for k, _ in tree["dict"]] == list(structured), structured
