"""``quantize(model, example_inputs)``: an int8 model through PyTorch's own PT2E flow.

The model is captured with ``torch.export``, annotated by ``quantizer.WasmQuantizer``,
observed (``prepare_pt2e``), calibrated on the given inputs and converted
(``convert_pt2e``): the result is a ``GraphModule`` in PyTorch's reference q/dq form
(``quantized_decomposed.quantize_per_tensor`` / ``dequantize_per_tensor`` /
``dequantize_per_channel`` around float ops, int8 weights as attributes; all-zero weight zero
points as None, which the reference reads as 0). It runs eagerly
as the reference, and ``torch.compile(backend="wasm")`` and ``save()`` take it, lowering
the q/dq patterns to int8 kernels (``lower/quant.py``, ``lower/quant_gemm.py``). torchao is an optional extra.
Importing this module imports neither torch nor torchao (the package's top level binds
``quantize`` from here and stays light).
"""

from __future__ import annotations

INSTALL_HINT = (
    "quantization needs torchao: pip install torch_wasm_backend[quant] (or pip install 'torchao>=0.18,<0.19')"
)


def _as_args(x) -> tuple:  # a tensor, or a tuple/list of positional inputs
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def quantize(model, example_inputs, calibration=None, dynamic: bool = False):
    """Quantize ``model`` to int8 (``quantizer.SCHEME``) and return the converted graph.

    ``example_inputs``: a tensor or a tuple of positional inputs, used to export the model.
    ``calibration``: an iterable of inputs (tensors or tuples) run through the observed model
    to choose the activation scales (static quantization); when None, ``example_inputs``
    are used. ``dynamic=True`` quantizes activations from each input at run time instead
    (no calibration)."""
    import torch

    try:
        from torchao.quantization.pt2e import allow_exported_model_train_eval
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        from .quantizer import WasmQuantizer
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from e
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"quantize() takes an nn.Module, got {type(model).__name__}")
    args = _as_args(example_inputs)
    model = model.eval()
    with torch.no_grad():
        # the batch dim stays free, so that calibration batches may have any size
        batch = tuple({0: torch.export.Dim.AUTO} if isinstance(a, torch.Tensor) and a.dim() else None for a in args)
        exported = torch.export.export(model, args, dynamic_shapes=batch).module()
        prepared = prepare_pt2e(exported, WasmQuantizer(dynamic=dynamic))
        # static: the observers see the calibration inputs; dynamic: one call, so that the
        # weight observers see the weights (activation scales are chosen per call)
        for batch in [args] if calibration is None or dynamic else calibration:
            prepared(*_as_args(batch))
        converted = convert_pt2e(prepared)
    # inference form: dropout and batch norm rewritten to eval (torchao's helper), ``eval()``
    # allowed again, and ``training`` False (save() refuses training-mode models)
    allow_exported_model_train_eval(converted)
    converted.eval()
    for module in converted.modules():
        module.training = False
    _drop_zero_weight_zero_points(converted)
    return converted


def _drop_zero_weight_zero_points(gm) -> None:
    """Symmetric weights: a ``dequantize_per_channel`` whose zero points are all 0 takes None
    instead (PyTorch's reference then computes ``q * s``, the same values as ``(q - 0) * s``),
    so that the lowering knows them at compile time: the int8 GEMMs then need no row sums of
    their activations (``lower/quant_gemm.py``)."""
    import torch

    dq = torch.ops.quantized_decomposed.dequantize_per_channel.default
    for node in gm.graph.nodes:
        zp = node.args[2] if node.target == dq else None
        if isinstance(zp, torch.fx.Node) and zp.op == "get_attr" and not torch.any(getattr(gm, zp.target)):
            node.args = (*node.args[:2], None, *node.args[3:])
    for node in list(gm.graph.nodes):
        if node.op == "get_attr" and not node.users:
            gm.graph.erase_node(node)
            if hasattr(gm, node.target):
                delattr(gm, node.target)
    gm.recompile()
