"""The decomposition table AOTAutograd applies before lowering, chosen on purpose.

Start from PyTorch's core ATen decompositions, keep the ops we lower natively (``KEEP``:
decomposing them would lose fusion or numerical care), and add decompositions for the
fused inference fast paths of ``nn.TransformerEncoderLayer`` and ``nn.MultiheadAttention``
(they have no ATen decomposition of their own), for the backward of CPU flash attention
(training graphs), and for the backward of replicate padding.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch._decomp import core_aten_decompositions, decomposition_table

from .lower.core import Unsupported

aten = torch.ops.aten

KEEP = (aten._softmax, aten._log_softmax, aten.native_layer_norm, aten.gelu, aten.silu, aten.hardswish,
        aten.hardsigmoid, aten.leaky_relu, aten.hardtanh, aten.embedding, aten.addmm, aten.mm, aten.bmm,
        aten.baddbmm, aten.convolution, aten._native_batch_norm_legit_no_training, aten.max_pool2d_with_indices,
        aten.avg_pool2d, aten._adaptive_avg_pool2d, aten.var, aten.clamp, aten.where, aten.index_select,
        aten.embedding_dense_backward, aten.upsample_linear1d)


def _attention(q_in, k_in, v_in, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, mask, mask_type):
    """Batch-first multi-head attention; returns (output, attention weights per head)."""
    if mask is not None:
        raise Unsupported("fused attention fast path with a mask (run with the mask merged or without it)")
    b, s, e = q_in.shape
    d = e // num_heads
    wq, wk, wv = qkv_weight.chunk(3, 0)
    bq, bk, bv = qkv_bias.chunk(3, 0)

    def heads(x, w, bias):
        return F.linear(x, w, bias).reshape(b, x.shape[1], num_heads, d).transpose(1, 2)

    q, k, v = heads(q_in, wq, bq), heads(k_in, wk, bk), heads(v_in, wv, bv)
    attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d)), dim=-1)
    out = torch.matmul(attn, v).transpose(1, 2).reshape(b, s, e)
    return F.linear(out, proj_weight, proj_bias), attn


def transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias,
                                  use_gelu, norm_first, eps, norm_weight_1, norm_bias_1, norm_weight_2,
                                  norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2,
                                  mask=None, mask_type=None):
    squeeze = src.dim() == 2
    x = src.unsqueeze(0) if squeeze else src

    def sa(y):
        return _attention(y, y, y, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, mask, mask_type)[0]

    def ff(y):
        h = F.linear(y, ffn_weight_1, ffn_bias_1)
        return F.linear(F.gelu(h) if use_gelu else F.relu(h), ffn_weight_2, ffn_bias_2)

    shape = (embed_dim,)
    if norm_first:
        x = x + sa(F.layer_norm(x, shape, norm_weight_1, norm_bias_1, eps))
        x = x + ff(F.layer_norm(x, shape, norm_weight_2, norm_bias_2, eps))
    else:
        x = F.layer_norm(x + sa(x), shape, norm_weight_1, norm_bias_1, eps)
        x = F.layer_norm(x + ff(x), shape, norm_weight_2, norm_bias_2, eps)
    return x.squeeze(0) if squeeze else x


def native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, qkv_bias, proj_weight,
                                proj_bias, mask=None, need_weights=True, average_attn_weights=True,
                                mask_type=None):
    out, attn = _attention(query, key, value, num_head, qkv_weight, qkv_bias, proj_weight, proj_bias, mask,
                           mask_type)
    if not need_weights:
        return out, torch.empty(0, dtype=out.dtype)
    return out, attn.mean(dim=1) if average_attn_weights else attn


def sdpa_flash_cpu_backward(grad_out, query, key, value, out, logsumexp, dropout_p, is_causal, attn_mask=None,
                            scale=None):
    """Gradients of ``softmax(q k^T * scale + mask) v`` from recomputed probabilities P:
    dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dO * O)), dQ = dS K * scale,
    dK = dS^T Q * scale. (``logsumexp`` is not used: when the forward was decomposed it holds
    the attention weights, not the log-sum-exp.) Grouped-query heads are repeated, their
    key/value gradients summed back."""
    if dropout_p != 0.0:
        raise Unsupported("attention backward with dropout")
    heads, kv_heads = query.shape[1], key.shape[1]
    rep = heads // kv_heads
    k, v = (key, value) if rep == 1 else (key.repeat_interleave(rep, 1), value.repeat_interleave(rep, 1))
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    s = torch.matmul(query, k.transpose(-2, -1)) * scale
    if is_causal:
        keep = torch.ones(query.shape[-2], key.shape[-2], dtype=torch.bool).tril()
        s = s.masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else s + attn_mask
    p = torch.softmax(s, dim=-1)
    dv = torch.matmul(p.transpose(-2, -1), grad_out)
    dp = torch.matmul(grad_out, v.transpose(-2, -1))
    ds = p * (dp - (grad_out * out).sum(-1, keepdim=True))
    dq = torch.matmul(ds, k) * scale
    dk = torch.matmul(ds.transpose(-2, -1), query) * scale
    if rep != 1:
        dk = dk.unflatten(1, (kv_heads, rep)).sum(2)
        dv = dv.unflatten(1, (kv_heads, rep)).sum(2)
    # the CPU kernel returns each gradient laid out [batch, seq, heads, dim] (a transposed
    # view): give the graph's values that layout too, so outputs have eager's strides
    return tuple(g.transpose(1, 2).contiguous().transpose(1, 2) for g in (dq, dk, dv))


def _refuse_bool(op, decomposition):
    """PyTorch raises for boolean matrix products; their decompositions would not."""

    def decomp(*args, **kwargs):
        if any(isinstance(a, torch.Tensor) and a.dtype == torch.bool for a in args):
            raise Unsupported(f"{op} of bool tensors (PyTorch does not support it either)")
        return decomposition(*args, **kwargs)

    return decomp


def _refuse_non_float(op, decomposition):
    """PyTorch's nearest upsampling kernels take floating point and uint8 tensors only (int32
    raises "not implemented for 'Int'"); their index decompositions would take anything."""

    def decomp(x, *args, **kwargs):
        if not (x.dtype.is_floating_point or x.dtype == torch.uint8):
            raise Unsupported(f"{op} of {x.dtype} (PyTorch supports floating point and uint8 only)")
        return decomposition(x, *args, **kwargs)

    return decomp


_NEAREST = ("nearest", "nearest-exact")


def eager_refusal(gm: torch.fx.GraphModule) -> str | None:
    """Why eager PyTorch would raise on this Dynamo graph where its decomposition would not:
    the ``.vec`` nearest upsampling overloads decompose inside PyTorch's dispatcher (a
    CompositeImplicit Python kernel) before any table of ours is consulted, so
    ``F.interpolate(int_tensor, mode="nearest")`` is caught here, on the Dynamo graph."""
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is not F.interpolate:
            continue
        x = node.args[0].meta.get("example_value") if node.args and isinstance(node.args[0], torch.fx.Node) else None
        mode = node.kwargs.get("mode", node.args[3] if len(node.args) > 3 else "nearest")
        if isinstance(x, torch.Tensor) and mode in _NEAREST and not (x.dtype.is_floating_point or
                                                                      x.dtype == torch.uint8):
            return f"{mode} interpolation of {x.dtype} (PyTorch supports floating point and uint8 only)"
    return None


def replication_pad_backward(grad, x, padding):
    """The gradient of replicate padding: each edge element of ``x`` sums the gradient of
    every output position clamped onto it (a sum over the pad plus itself), one dim at a
    time from the last."""
    for i in range(len(padding) // 2):
        dim = grad.dim() - 1 - i
        lo, hi = padding[2 * i], padding[2 * i + 1]
        n = x.shape[dim]
        if lo < 0 or hi < 0:
            raise Unsupported("the backward of replicate padding with negative pads")
        if n == 1:
            grad = grad.sum(dim, keepdim=True)
            continue
        first = grad.narrow(dim, 0, lo + 1).sum(dim, keepdim=True)
        last = grad.narrow(dim, lo + n - 1, hi + 1).sum(dim, keepdim=True)
        grad = torch.cat([first, grad.narrow(dim, lo + 1, n - 2), last], dim)
    return grad


EXTRA = (aten.addmv.default, aten.narrow_copy.default, aten.ldexp.Tensor, aten._batch_norm_with_update_functional.default,
         aten.dist.default, aten.grid_sampler_2d.default, aten.permute_copy.default, aten.view_copy.default,
         aten.unbind_copy.int)


def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
    """beta * self + alpha * sum_b batch1[b] @ batch2[b] (PyTorch has no decomposition): one
    matrix product over the batch and inner dims together, so one accumulator sums it all."""
    b, n, k = batch1.shape
    out = torch.mm(batch1.permute(1, 0, 2).reshape(n, b * k), batch2.reshape(b * k, batch2.shape[-1]))
    if alpha != 1:
        out = out * alpha
    if beta == 0:  # as PyTorch: self is ignored (its NaN does not propagate)
        return out.expand(torch.broadcast_shapes(self.shape, out.shape)).clone()
    return (self * beta if beta != 1 else self) + out


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, pin_memory=None):
    """Uninitialised memory in a permuted layout: zeros laid out so (any content is valid)."""
    physical = torch.zeros([size[i] for i in physical_layout], dtype=dtype, device=device)
    inverse = [0] * len(physical_layout)
    for i, p in enumerate(physical_layout):
        inverse[p] = i
    return physical.permute(inverse)


def _p_norm_of_differences(diff, p):
    diff = diff.abs()
    if p == 0:
        return (diff != 0).to(diff.dtype).sum(-1)
    if p == math.inf:
        return diff.amax(-1) if diff.shape[-1] else diff.sum(-1)
    if p == 1:
        return diff.sum(-1)
    if p == 2:
        return diff.square().sum(-1).sqrt()
    return diff.pow(p).sum(-1).pow(1.0 / p)


def pdist_forward(x, p=2.0):
    """p-norm distance between every pair of rows i < j of x, in row-major pair order."""
    n = x.shape[0]
    i = [a for a in range(n) for _ in range(a + 1, n)]
    j = [b for a in range(n) for b in range(a + 1, n)]
    if not i:
        return x.new_zeros((0,))
    rows = torch.tensor(i, device=x.device)
    cols = torch.tensor(j, device=x.device)
    return _p_norm_of_differences(x[rows] - x[cols], p)


def cdist_forward(x1, x2, p, compute_mode=None):
    """p-norm distance between the rows of x1 and x2, by the difference of every pair (PyTorch
    computes p = 2 through a matrix product for large inputs: values within rounding)."""
    return _p_norm_of_differences(x1.unsqueeze(-2) - x2.unsqueeze(-3), p)


@functools.cache
def decompositions() -> dict:
    keep = set(KEEP)
    table = {op: fn for op, fn in core_aten_decompositions().items()
             if getattr(op, "overloadpacket", op) not in keep}
    for op in (aten.dot.default, aten.mv.default, aten.vdot.default):
        if op in table:
            table[op] = _refuse_bool(op, table[op])
    table[aten._transformer_encoder_layer_fwd.default] = transformer_encoder_layer_fwd
    table[aten._native_multi_head_attention.default] = native_multi_head_attention
    table[aten._scaled_dot_product_flash_attention_for_cpu_backward.default] = sdpa_flash_cpu_backward
    for op in (aten.replication_pad1d_backward, aten.replication_pad2d_backward, aten.replication_pad3d_backward):
        table[op.default] = replication_pad_backward
    for packet in (aten.upsample_nearest1d, aten.upsample_nearest2d, aten.upsample_nearest3d,
                   aten._upsample_nearest_exact1d, aten._upsample_nearest_exact2d, aten._upsample_nearest_exact3d):
        for name in packet.overloads():
            op = getattr(packet, name)
            if op in table:
                table[op] = _refuse_non_float(op, table[op])
    # PyTorch's own decompositions outside the core set, into ops we lower
    for op in EXTRA:
        table[op] = decomposition_table[op]
    table[aten.addbmm.default] = addbmm
    table[aten.empty_permuted.default] = empty_permuted
    table[aten._cdist_forward.default] = cdist_forward
    table[aten._pdist_forward.default] = pdist_forward
    return table
