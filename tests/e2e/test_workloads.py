"""Workloads: whole models written the way real code writes them, compiled with
``backend="wasm"`` and compared with eager PyTorch, forward and backward.

Mixture of experts (the ``moe`` tests): tokens (B, S, D) -> gate Linear(D, E) -> softmax ->
top-2 -> renormalised weights -> each token to its 2 experts (Linear-GELU-Linear) ->
weighted combine. Dispatch formulations:

* ``MoEDenseOneHot``  one-hot combine weights and an einsum; every expert computes every
  token (forward: topk, one_hot's range checks; backward: topk's scatter into zeros).
* ``MoEDenseLoop``    a loop over experts with ``torch.where(idx == e, w, 0)`` masks.
* ``MoESparseGather`` each (token, slot) pair gathers its expert's stacked weights: only
  k experts run per token; ``index_add_`` combines (forward: index, index_put(accumulate);
  backward: index_put(accumulate) into the weights, index_select).
* ``MoESparseScatter`` per-expert token lists of static length from a top-C selection
  over tokens, ``scatter_add_`` combines (forward: topk, gather, scatter_add; backward:
  gather, index_put(accumulate)).
* ``MoECapacity``     DeepSpeed/GShard-style capacity slots from a ``cumsum`` over tokens
  (an int64 scan down dim 0, ``ir.Scan``).
* ``MoENonzero``      Mixtral-style ``torch.where(mask)`` + ``index_add_``: data-dependent
  shapes; Dynamo breaks the graph (the default), or with
  ``capture_dynamic_output_shape_ops`` hands ``aten.nonzero`` to the backend.

The first four and ``MoECapacity`` compile completely in strict mode (an unsupported op raises). Gradients are
checked for the input and every parameter.

Op-level tests call the routing and backward operators directly (``torch.ops.aten.*``)
in strict mode, so their lowerings are proven whichever way backward graphs are compiled.
Top-k orders equal values by index (a stable order); PyTorch's CPU kernel leaves their
order unspecified (std::nth_element), so tie tests compare values with eager and indices
with a stable sort, and with eager only for rows of at most 3 elements, where they agree.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_wasm_backend
from torch_wasm_backend.backend import WasmFallbackWarning
from tests.e2e.helpers import assert_same, check, compile_wasm, make_input, recording

NAN, INF = float("nan"), float("inf")
aten = torch.ops.aten


# --------------------------------------------------------------------------- MoE modules
class Expert(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class MoEBase(nn.Module):
    def __init__(self, d=8, h=16, experts=4, k=2):
        super().__init__()
        self.d, self.e, self.k = d, experts, k
        self.gate = nn.Linear(d, experts)

    def route(self, t):
        """Top-k experts per token and their renormalised weights: (T, k) each."""
        w, idx = torch.topk(torch.softmax(self.gate(t), dim=-1), self.k, dim=-1)
        return w / w.sum(dim=-1, keepdim=True), idx


class MoEDenseOneHot(MoEBase):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.experts = nn.ModuleList(Expert(self.d, 16) for _ in range(self.e))

    def forward(self, x):
        b, s, d = x.shape
        t = x.reshape(-1, d)
        w, idx = self.route(t)
        combine = (F.one_hot(idx, self.e).to(w.dtype) * w.unsqueeze(-1)).sum(1)  # (T, E)
        outs = torch.stack([ex(t) for ex in self.experts], dim=1)  # (T, E, D)
        return torch.einsum("te,ted->td", combine, outs).reshape(b, s, d)


class MoEDenseLoop(MoEDenseOneHot):
    def forward(self, x):
        b, s, d = x.shape
        t = x.reshape(-1, d)
        w, idx = self.route(t)
        out = torch.zeros_like(t)
        for e, ex in enumerate(self.experts):
            we = torch.where(idx == e, w, 0.0).sum(-1, keepdim=True)  # 0 where e is not chosen
            out = out + we * ex(t)
        return out.reshape(b, s, d)


class MoESparseGather(MoEBase):
    """Experts as stacked weights (E, H, D); each (token, slot) pair gathers its own."""

    def __init__(self, d=8, h=16, experts=4, k=2):
        super().__init__(d, h, experts, k)
        g = torch.Generator().manual_seed(1)
        self.w1 = nn.Parameter(torch.randn(experts, h, d, generator=g) * d ** -0.5)
        self.b1 = nn.Parameter(torch.randn(experts, h, generator=g) * 0.1)
        self.w2 = nn.Parameter(torch.randn(experts, d, h, generator=g) * h ** -0.5)
        self.b2 = nn.Parameter(torch.randn(experts, d, generator=g) * 0.1)

    def forward(self, x):
        b, s, d = x.shape
        t = x.reshape(-1, d)
        w, idx = self.route(t)
        eid = idx.reshape(-1)  # (T*k,)
        tok = torch.arange(t.shape[0]).repeat_interleave(self.k)
        h = F.gelu(torch.bmm(self.w1[eid], t[tok].unsqueeze(-1)).squeeze(-1) + self.b1[eid])
        y = (torch.bmm(self.w2[eid], h.unsqueeze(-1)).squeeze(-1) + self.b2[eid]) * w.reshape(-1, 1)
        return torch.zeros_like(t).index_add_(0, tok, y).reshape(b, s, d)


class MoESparseScatter(MoEDenseOneHot):
    """Each expert takes a static number of token slots (``capacity``): the tokens routed to
    it, found by a top-C selection over tokens (unrouted slots get weight 0)."""

    def __init__(self, *a, capacity=6, **kw):
        super().__init__(*a, **kw)
        self.capacity = capacity

    def forward(self, x):
        b, s, d = x.shape
        t = x.reshape(-1, d)
        n = t.shape[0]
        w, idx = self.route(t)
        weight = (F.one_hot(idx, self.e).to(w.dtype) * w.unsqueeze(-1)).sum(1)  # (T, E)
        # routed tokens first, each group in token order (all scores distinct: no ties)
        order = 2 * (weight > 0).to(t.dtype) - (torch.arange(n, dtype=t.dtype) / n).unsqueeze(1)
        tok = torch.topk(order.t(), self.capacity, dim=-1).indices  # (E, C)
        out = torch.zeros_like(t)
        for e, ex in enumerate(self.experts):
            y = ex(t[tok[e]]) * weight[:, e].gather(0, tok[e]).unsqueeze(1)  # 0 for unrouted slots
            out = out.scatter_add(0, tok[e].unsqueeze(1).expand(-1, d), y)
        return out.reshape(b, s, d)


class MoECapacity(MoEDenseOneHot):
    """Top-2 gating with expert capacity as in DeepSpeed/GShard: slot positions from a
    cumsum over tokens, einsum dispatch and combine."""

    def __init__(self, *a, capacity=10, **kw):
        super().__init__(*a, **kw)
        self.capacity = capacity

    def forward(self, x):
        b, s, d = x.shape
        t = x.reshape(-1, d)
        w, idx = self.route(t)
        mask = F.one_hot(idx, self.e)  # (T, k, E)
        flat = mask.transpose(0, 1).reshape(-1, self.e)  # first choices of all tokens first
        pos = (torch.cumsum(flat, 0) - 1).reshape(self.k, -1, self.e).transpose(0, 1)
        keep = mask * (pos < self.capacity)
        loc = F.one_hot((pos * keep).sum(-1), self.capacity)  # (T, k, C)
        combine = torch.einsum("tk,tke,tkc->tec", w, keep.to(w.dtype), loc.to(w.dtype))
        xe = torch.einsum("tec,td->ecd", (combine > 0).to(t.dtype), t)
        ye = torch.stack([ex(xe[i]) for i, ex in enumerate(self.experts)])
        return torch.einsum("tec,ecd->td", combine, ye).reshape(b, s, d)


class MoENonzero(MoEDenseOneHot):
    """Mixtral-style: the tokens of each expert by ``torch.where(mask)`` (data-dependent)."""

    def forward(self, x):
        b, s, d = x.shape
        t = x.reshape(-1, d)
        w, idx = self.route(t)
        mask = F.one_hot(idx, self.e).permute(2, 1, 0)  # (E, k, T)
        out = torch.zeros_like(t)
        for e, ex in enumerate(self.experts):
            slot, tok = torch.where(mask[e])
            out.index_add_(0, tok, ex(t[tok]) * w[tok, slot, None])
        return out.reshape(b, s, d)


def _moe_run(model, x, **options):
    """Eager and compiled forward + backward: (outputs, gradients, Record, fallback warnings)."""
    grad_out = make_input(x.shape, gen=torch.Generator().manual_seed(7))
    results = []
    for compiled in (False, True):
        model.zero_grad()
        xi = x.clone().requires_grad_(True)
        fn = model
        if compiled:
            torch._dynamo.reset()
            fn = torch.compile(model, backend="wasm", options=options)
        with recording() as rec, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn(xi)
            out.backward(grad_out)
        grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        grads["input"] = xi.grad.clone()
        results.append((out.detach(), grads, rec,
                        [str(w.message) for w in caught if issubclass(w.category, WasmFallbackWarning)]))
    (ref, ref_grads, _, _), (out, grads, rec, warned) = results
    torch.testing.assert_close(out, ref, msg=lambda m: f"forward: {m}")
    assert grads.keys() == ref_grads.keys()
    for name in ref_grads:
        torch.testing.assert_close(grads[name], ref_grads[name], msg=lambda m, name=name: f"grad of {name}: {m}")
    return rec, warned


def _tokens(b=3, s=5, d=8):
    return make_input((b, s, d), gen=torch.Generator().manual_seed(3))


# --------------------------------------------------------------------------- MoE tests
@pytest.mark.parametrize("cls", [MoEDenseOneHot, MoEDenseLoop, MoESparseGather, MoESparseScatter])
def test_moe_compiles_and_matches_eager(cls):
    """Forward fully compiled (strict: an unsupported op raises), gradients of the input
    and of every parameter equal to eager."""
    torch.manual_seed(0)
    rec, warned = _moe_run(cls(), _tokens(), strict=True)
    rec.assert_wasm_ran()
    assert not warned
    ops = {str(n.target) for gm, _, _ in rec.compiled for n in gm.graph.nodes if n.op == "call_function"}
    assert "aten.topk.default" in ops


def test_moe_sparse_gather_ops_in_graph():
    """The sparse formulation really dispatches with index ops (not dense compute)."""
    torch.manual_seed(0)
    rec, _ = _moe_run(MoESparseGather(), _tokens(2, 3), strict=True)
    ops = {str(n.target) for gm, _, _ in rec.compiled for n in gm.graph.nodes if n.op == "call_function"}
    assert {"aten.index.Tensor", "aten.index_put.default"} <= ops


def test_moe_inference_no_grad():
    torch.manual_seed(0)
    model = MoEDenseOneHot().eval()
    check(model, _tokens(2, 7), rtol=1e-5, atol=1e-5)


def test_moe_capacity_cumsum_compiles():
    """The capacity slots' cumsum is lowered (a scan): forward and backward compile in
    strict mode, nothing falls back, and the cumsum really is in a compiled graph."""
    torch.manual_seed(0)
    rec, warned = _moe_run(MoECapacity(), _tokens(2, 5), strict=True)
    rec.assert_wasm_ran()
    assert not warned, warned
    ops = {str(n.target) for gm, _, _ in rec.compiled for n in gm.graph.nodes if n.op == "call_function"}
    assert "aten.cumsum.default" in ops


def test_moe_nonzero_dispatch_graph_breaks_correctly():
    """Mixtral-style dispatch: Dynamo breaks the graph at ``torch.where(mask)`` (dynamic
    output shape) and runs that frame eagerly; the experts compile. Still equal to eager."""
    torch.manual_seed(0)
    rec, _ = _moe_run(MoENonzero(), _tokens(2, 5))
    rec.assert_wasm_ran()


def test_moe_nonzero_captured_falls_back_reported():
    """With ``capture_dynamic_output_shape_ops`` nonzero reaches the backend: it must run
    eagerly, with a warning that names it, and the result must still be right."""
    torch.manual_seed(0)
    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True):  # not monkeypatch: see CONTRIBUTING
        _, warned = _moe_run(MoENonzero(), _tokens(2, 5))
    assert any("aten.nonzero.default" in w for w in warned), warned


def test_moe_explain_reports_skipped_frame():
    """A graph break inside a loop makes Dynamo skip the whole frame: explain() must say so
    rather than report full coverage with no graph break."""
    torch.manual_seed(0)
    report = torch_wasm_backend.explain(MoENonzero(), _tokens(2, 5))
    assert report.skipped_frames >= 1
    assert any("Dynamic shape operator" in b for b in report.graph_breaks)
    assert any("skipped the frame" in b for b in report.graph_breaks)
    assert "skipped by Dynamo" in str(report)


def test_moe_explain_coverage():
    torch.manual_seed(0)
    report = torch_wasm_backend.explain(MoECapacity(), _tokens(2, 5))
    assert not report.unsupported, report.unsupported
    assert report.op_counts["aten.cumsum.default"] == 1
    assert report.op_counts["aten.topk.default"] == 1


# --------------------------------------------------------------------------- topk
def _stable_topk(x, k, dim=-1, largest=True):
    """Reference order: NaN largest, equal values by index (a stable sort)."""
    key = x.clone()
    if x.dtype.is_floating_point:
        key = torch.where(torch.isnan(x), INF, x)
        big = torch.isnan(x) if largest else ~torch.isnan(x)
        # NaN before +Inf when largest (after everything when smallest): sort by (class, value)
        order = torch.sort(key, dim=dim, descending=largest, stable=True).indices
        cls = torch.gather(big, dim, order).to(torch.int8)
        order = torch.gather(order, dim, torch.sort(cls, dim=dim, descending=True, stable=True).indices)
    else:
        order = torch.sort(key, dim=dim, descending=largest, stable=True).indices
    idx = order.narrow(dim, 0, k)
    return torch.gather(x, dim, idx), idx


@pytest.mark.parametrize("largest", [True, False])
def test_topk_sizes_and_dims(largest):
    xs = [make_input((4, n), gen=torch.Generator().manual_seed(n)) for n in (1, 3, 4, 5, 17, 64)]
    cube = make_input((3, 5, 6))

    def fn(a, b, c, d, e, f, cube):
        outs = []
        for x in (a, b, c, d, e, f):
            n = x.shape[-1]
            for k in sorted({1, min(2, n), min(3, n), n}):
                outs.append(torch.topk(x, k, largest=largest))
        outs += [torch.topk(cube, 2, dim=1, largest=largest), torch.topk(cube, 3, dim=0, largest=largest),
                 torch.topk(cube.transpose(1, 2), 4, largest=largest), torch.topk(cube * 2 + 1, 1, largest=largest),
                 torch.topk(cube, 0, largest=largest), torch.topk(cube[0, 0, 0], 1, largest=largest)]
        return outs

    check(fn, *xs, cube, interp=True)


def _check_topk_against_stable(x, cases, dim=-1):
    """Compiled topk for each (k, largest): values equal eager's, indices the stable order
    (and eager's where that is specified: rows of at most 3 elements)."""
    fn = compile_wasm(lambda x: [torch.topk(x, k, dim=dim, largest=lg) for k, lg in cases])
    with torch.no_grad():
        got = fn(x)
    for (k, largest), (values, indices) in zip(cases, got):
        ev, ei = torch.topk(x, k, dim=dim, largest=largest)
        assert_same(values, ev, msg=f"k={k} largest={largest}")
        _, si = _stable_topk(x, k, dim=dim, largest=largest)
        assert torch.equal(indices, si), (k, largest, indices, si)
        if x.shape[dim] <= 3:
            assert torch.equal(indices, ei), (k, largest, indices, ei)


def test_topk_nan_inf_signed_zero_and_ints():
    x = torch.tensor([[1.0, NAN, 3.0, -INF, INF, 2.0], [NAN, NAN, 0.0, -0.0, 5.0, INF],
                      [-INF, -INF, -INF, 1.0, NAN, -1.0]])
    _check_topk_against_stable(x, [(3, True), (6, True), (4, False), (6, False)])
    _check_topk_against_stable(x, [(2, True), (3, False)], dim=0)
    _check_topk_against_stable(make_input((3, 17), torch.int64, low=-3, high=3), [(5, True), (2, False)])


@pytest.mark.parametrize("n", [2, 3, 5, 17, 64])
def test_topk_ties(n):
    g = torch.Generator().manual_seed(n)
    x = torch.randint(0, 3, (6, n), generator=g).float()
    x[0, :2] = NAN
    _check_topk_against_stable(x, [(k, largest) for k in sorted({1, 2, n}) if k <= n for largest in (True, False)])


def test_topk_unsorted_is_a_valid_answer():
    x = make_input((5, 17))
    fn = compile_wasm(lambda x: torch.topk(x, 4, sorted=False))
    with torch.no_grad():
        v, i = fn(x)
    ev, _ = torch.topk(x, 4, sorted=False)
    assert_same(torch.sort(v, -1).values, torch.sort(ev, -1).values)
    assert torch.equal(torch.gather(x, 1, i), v)


# --------------------------------------------------------------------------- scatter family
def test_scatter_ops():
    z = make_input((3, 7))
    idx = torch.tensor([[1, 1, 6, 0], [0, 2, 2, 2], [5, 4, 3, 6]])  # duplicates: last write wins
    src = make_input((3, 5))
    src[1, 2] = NAN
    i0 = torch.tensor([[2, 0, 1, 2, 0, 1, 1]])
    ints = make_input((3, 7), torch.int64)
    check(lambda z, idx, src, i0, ints: (
        z.scatter(1, idx, src), z.scatter(-1, idx, -2.5), z.scatter_add(1, idx, src), z.scatter(0, i0, src[:1, :1].expand(1, 7) * 3),
        z.scatter_add(0, i0, z[:1] * 1), ints.scatter_add(1, idx, ints[:, :4]), ints.scatter(1, idx, 9),
        z.t().scatter(0, idx.t(), src.t()), torch.zeros(3, 7).scatter_(1, idx[:, :0], src)),
        z, idx, src, i0, ints, interp=True)


def test_index_add_and_index_put():
    x = make_input((5, 6))
    idx = torch.tensor([4, 0, 4, 2, 4])
    neg = torch.tensor([1, -1, 3, 1, -5])
    src = make_input((5, 6), gen=torch.Generator().manual_seed(9))
    vals = torch.tensor([1.0, 2.0, NAN, 4.0, -INF])
    j = torch.tensor([[0, 1], [2, 1]])
    check(lambda x, idx, neg, src, vals, j: (
        x.index_add(0, idx, src), x.index_add(1, idx, src[:, :5], alpha=0.5), x.long().index_add(0, idx, src.long()),
        x[:, 0].index_put((neg,), vals), x[:, 0].index_put((neg,), vals, accumulate=True),
        x.index_put((idx,), src[0], accumulate=True), x.index_put((idx,), torch.tensor(7.0)),
        aten.index_put(x, [None, neg], src[:, :5], True), aten.index_put(x, [None, neg], src[:, :5]),
        x.index_put((j, j + 1), torch.tensor([[1.0, 2.0], [3.0, 4.0]]), accumulate=True),
        x.index_put((j, j), torch.tensor(-1.0)), torch.zeros(5, 6).index_put((idx[:0],), src[:0], True)),
        x, idx, neg, src, vals, j, interp=True)


def test_backward_ops_directly():
    """The ATen calls backward graphs make, called directly: topk's backward (a scatter of
    the values' gradient into zeros), gather/index backward (index_put accumulate into
    zeros), index_add's backward (index_select), scatter_add's backward (gather)."""
    probs = torch.softmax(make_input((10, 4)), -1)
    grad_v = make_input((10, 2))
    _, idx = torch.topk(probs, 2)
    eid = idx.reshape(-1)
    g_rows = make_input((20, 16, 8))
    g_tok = make_input((20, 8))
    tok = torch.arange(10).repeat_interleave(2)

    def fn(probs, grad_v, idx, eid, g_rows, g_tok, tok):
        values, indices = aten.topk.default(probs, 2)
        zeros = aten.full.default([10, 4], 0.0, dtype=torch.float32)
        return (values, indices,
                aten.scatter.src(zeros, -1, indices, grad_v),
                aten.index_put.default(aten.full.default([4, 16, 8], 0.0, dtype=torch.float32), [eid], g_rows, True),
                aten.index_put.default(aten.full.default([10, 8], 0.0, dtype=torch.float32), [tok], g_tok, True),
                aten.index_select.default(g_tok, 0, tok),
                aten.gather.default(g_tok, 0, tok.unsqueeze(1).expand(20, 8)),
                aten.scatter_add.default(aten.full.default([10, 8], 0.0, dtype=torch.float32), 0,
                                         tok.unsqueeze(1).expand(20, 8), g_tok),
                aten.index_add.default(aten.full.default([10, 8], 0.0, dtype=torch.float32), 0, tok, g_tok),
                aten.scatter.value(zeros, 1, idx, 1.0))

    check(fn, probs, grad_v, idx, eid, g_rows, g_tok, tok, interp=True)


def test_topk_grad_matches_eager():
    """d/dx of topk, with the backward graph compiled like the forward one."""
    x = make_input((6, 9))

    def f(x):
        v, i = torch.topk(x, 3)
        return (v * torch.arange(1.0, 4.0)).sum(), i

    torch._dynamo.reset()
    xc, xe = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, _ = torch.compile(f, backend="wasm", options={"strict": True})(xc)
    out.backward()
    ref, _ = f(xe)
    ref.backward()
    torch.testing.assert_close(xc.grad, xe.grad)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("fn", [
    lambda x, i: x.scatter_add(1, i.unsqueeze(0).expand(3, 4), x[:, :4]),
    lambda x, i: x.index_add(1, i, x[:, :4]),
    lambda x, i: x.index_put((i,), torch.tensor(1.0), accumulate=True),
], ids=["scatter_add", "index_add", "index_put"])
def test_index_out_of_range_traps(fn):
    """PyTorch raises for an out-of-range index; the gather formulation would silently skip
    it, so a checking kernel traps first."""
    x, i = make_input((3, 5)), torch.tensor([1, 7, 0, 2])
    compiled = compile_wasm(fn)
    with pytest.raises(Exception, match="unreachable"), torch.no_grad():
        compiled(x, i)


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no_grad"])
def test_one_hot_out_of_range_traps(grad):
    """one_hot's range checks (``aten._assert_async`` in the ATen graph) trap."""
    x, i = make_input((3, 5)).requires_grad_(grad), torch.tensor([1, 7, 0, 2])
    compiled = compile_wasm(lambda x, i: F.one_hot(i, 5).float().sum() + x.sum())
    with pytest.raises(Exception, match="unreachable"), torch.set_grad_enabled(grad):
        compiled(x, i)
