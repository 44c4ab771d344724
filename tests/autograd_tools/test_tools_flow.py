"""Gradient flow: per-parameter norms by layer, per-time-step norms, plots; module hooks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule
from chainrule import nn
from chainrule.autograd.flow import gradient_flow, record_gradients, time_step_norms

RNG = np.random.default_rng(4)


def twin_mlps():
    """The same 3-4-2 MLP in chainrule and torch."""
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 2)).double()
    with torch.no_grad():
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            tp.copy_(torch.tensor(p.detach().numpy()))
    return ours, theirs


def test_parameter_norms_by_layer_match_torch():
    ours, theirs = twin_mlps()
    x = RNG.standard_normal((5, 3))
    (ours(chainrule.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    flow = gradient_flow(ours)
    assert [r.name for r in flow.rows] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [r.layer for r in flow.rows] == ["0", "0", "2", "2"]
    for row, tp in zip(flow.rows, theirs.parameters()):
        assert row.has_grad and row.shape == tuple(tp.shape)
        assert row.grad_norm == pytest.approx(tp.grad.norm().item(), rel=1e-12)
        assert row.param_norm == pytest.approx(tp.norm().item(), rel=1e-12)
        assert row.ratio == pytest.approx(tp.grad.norm().item() / tp.norm().item(), rel=1e-12)
    layers = flow.by_layer()
    assert list(layers) == ["0", "2"]
    t0 = torch.cat([theirs[0].weight.grad.reshape(-1), theirs[0].bias.grad])
    assert layers["0"] == pytest.approx(t0.norm().item(), rel=1e-12)
    assert "0.weight" in str(flow) and "[4, 3]" in str(flow)


def test_parameters_without_gradient_and_plain_lists():
    a = chainrule.ones(2, requires_grad=True)
    b = chainrule.ones(3, requires_grad=True)
    (a * 3).sum().backward()
    flow = gradient_flow({"enc.a": a, "dec.b": b})
    assert [r.has_grad for r in flow.rows] == [True, False]
    assert flow.rows[0].grad_norm == pytest.approx(3 * np.sqrt(2))
    assert flow.rows[1].grad_norm == 0.0 and "no grad" in str(flow)
    assert [r.name for r in gradient_flow([a, b]).rows] == ["0", "1"]


def test_plot_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    ours, _ = twin_mlps()
    ours(chainrule.randn(4, 3, dtype=chainrule.float64)).sum().backward()
    path = gradient_flow(ours).plot(str(tmp_path / "flow.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def unrolled_rnn(lib, W_h, W_x, xs, h0):
    """h_t = tanh(W_h h_{t-1} + W_x x_t); returns the list of hidden states."""
    hs, h = [], h0
    for x in xs:
        h = (W_h @ h + W_x @ x).tanh()
        hs.append(h)
    return hs


def test_time_step_gradient_norms_match_torch_and_shrink():
    T, H, D = 8, 4, 3
    w_h = RNG.standard_normal((H, H)) * 0.3   # small recurrent weights: vanishing gradients
    w_x = RNG.standard_normal((H, D))
    xs = RNG.standard_normal((T, D))
    ours_w = chainrule.tensor(w_h, requires_grad=True)
    hs = unrolled_rnn(chainrule, ours_w, chainrule.tensor(w_x), chainrule.tensor(xs),
                      chainrule.zeros(H, dtype=chainrule.float64))
    with record_gradients(hs) as rec:
        (hs[-1] ** 2).sum().backward(retain_graph=True)
    theirs_hs = unrolled_rnn(torch, torch.tensor(w_h, requires_grad=True), torch.tensor(w_x),
                             torch.tensor(xs), torch.zeros(H, dtype=torch.float64))
    for h in theirs_hs:
        h.retain_grad()
    (theirs_hs[-1] ** 2).sum().backward()
    expected = [h.grad.norm().item() for h in theirs_hs]
    norms = rec.norms()
    np.testing.assert_allclose(norms, expected, rtol=1e-12)
    assert norms[0] < norms[-1] * 0.1  # the signal fades going back in time
    (hs[-1] ** 2).sum().backward()  # after the block the hooks are gone: nothing added
    np.testing.assert_allclose(rec.norms(), expected, rtol=1e-12)


def test_record_gradients_errors_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(RuntimeError, match="does not require grad"):
        record_gradients([chainrule.ones(2)])
    x = chainrule.ones(3, requires_grad=True)
    hs = [x * 1, x * 2, x * 3]
    rec = record_gradients(hs)
    sum(h.sum() for h in hs[1:]).backward()
    assert rec.norms()[0] == 0.0 and rec.grads[0] is None
    assert rec.norms()[2] == pytest.approx(np.sqrt(3))
    assert rec.plot(str(tmp_path / "steps.svg")).endswith("steps.svg")
    assert (tmp_path / "steps.svg").read_text().lstrip().startswith("<?xml")


def test_time_step_norms_of_a_stacked_gradient():
    g = chainrule.tensor(np.arange(24.0).reshape(4, 2, 3))
    expected = [np.linalg.norm(np.arange(24.0).reshape(4, 2, 3)[t]) for t in range(4)]
    np.testing.assert_allclose(time_step_norms(g), expected)
    np.testing.assert_allclose(time_step_norms(g, time_dim=1),
                               [np.linalg.norm(np.arange(24.0).reshape(4, 2, 3)[:, t])
                                for t in range(2)])


def test_module_full_backward_hook_matches_torch():
    ours, theirs = twin_mlps()
    seen, tseen = [], []
    ours[2].register_full_backward_hook(
        lambda m, gi, go: seen.append((gi[0].numpy().copy(), go[0].numpy().copy())))
    theirs[2].register_full_backward_hook(
        lambda m, gi, go: tseen.append((gi[0].detach().numpy().copy(),
                                        go[0].detach().numpy().copy())))
    x = RNG.standard_normal((5, 3))
    (ours(chainrule.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    assert len(seen) == len(tseen) == 1
    np.testing.assert_allclose(seen[0][0], tseen[0][0], rtol=1e-12)  # dL/d(layer input)
    np.testing.assert_allclose(seen[0][1], tseen[0][1], rtol=1e-12)  # dL/d(layer output)


def test_tensor_hooks_and_retain_grad_match_torch():
    a = RNG.standard_normal(4)
    outs = []
    for lib in (chainrule, torch):
        x = lib.tensor(a, requires_grad=True)
        h = x * 2
        h.retain_grad()
        h.register_hook(lambda g: g * 10)  # changes what flows on to x
        seen = []
        x.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
        (h ** 2).sum().backward()
        outs.append((h.grad.numpy().copy(), x.grad.numpy().copy(), seen[0]))
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
