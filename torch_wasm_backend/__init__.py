"""torch_wasm_backend: a ``torch.compile`` backend that emits WebAssembly (v128 SIMD).

``torch.compile(model, backend="wasm")`` finds the backend through the
``torch_dynamo_backends`` entry point; importing this package is not needed. The
top-level import is light (no torch) so that the runtime subpackage works without torch.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Options", "explain", "load", "quantize", "save", "save_training", "wasm_backend"]


from .quantize import quantize  # binds the function over the submodule of that name


def load(source, engine: str = "wasmtime", variant: str = "auto", threads: int = 1, threads_adaptive: bool = True):
    """Load a saved ``.wasm`` artifact (path or bytes): a callable taking and returning numpy
    arrays or torch tensors (a trainable artifact also has ``train_step``, ``get_weights``
    and ``set_weights``). Needs numpy and a WebAssembly engine, not torch. ``variant``:
    ``"auto"`` runs the artifact's relaxed-SIMD (FMA) code where the engine has relaxed SIMD,
    ``"simd128"`` / ``"relaxed_simd"`` force one; ``model.variant`` says which runs.
    ``threads``: run an artifact saved with ``save(..., threads=True)`` on that many threads
    (wasmtime; ``model.threads`` says how many run). A threaded model measures N threads against
    one on its first calls and keeps the faster (``model.threads_used``);
    ``threads_adaptive=False`` runs every call on N."""
    from .runtime.artifact import load as _load

    return _load(source, engine, variant, threads, threads_adaptive)


def __getattr__(name):
    if name == "explain":
        from .coverage import explain

        return explain
    if name == "save":
        from .export import save

        return save
    if name == "save_training":
        from .trainer import save_training

        return save_training
    if name == "wasm_backend":
        from .backend import wasm_backend

        return wasm_backend
    if name == "Options":
        from .config import Options

        return Options
    raise AttributeError(name)
