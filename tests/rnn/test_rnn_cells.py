"""RNNCell / LSTMCell / GRUCell against torch, and the fused ops by finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from rnn_testing import (
    TOL32,
    TOL64,
    assert_close,
    assert_param_grads,
    copy_weights,
    cr_tensor,
    numerical_grad,
)

import chainrule
from chainrule import nn
from chainrule.ops.rnn import gru_layer, lstm_layer, rnn_layer

IN, H, B = 4, 5, 3
CELLS = [("RNNCell", {"nonlinearity": "tanh"}), ("RNNCell", {"nonlinearity": "relu"}),
         ("LSTMCell", {}), ("GRUCell", {}), ("LSTMCell", {"bias": False}),
         ("GRUCell", {"bias": False})]


def make_cells(name, kwargs, dtype=torch.float64):
    torch.manual_seed(11)
    t = getattr(torch.nn, name)(IN, H, dtype=dtype, **kwargs)
    c = getattr(nn, name)(IN, H, dtype=chainrule.float64 if dtype == torch.float64
                          else chainrule.float32, **kwargs)
    copy_weights(t, c)
    return t, c


@pytest.mark.parametrize("name,kwargs", CELLS)
@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("use_hx", [False, True])
def test_cell_loop_matches_torch(name, kwargs, unbatched, use_hx):
    """Three steps of the cell, every state differentiated, against torch."""
    t_cell, c_cell = make_cells(name, kwargs)
    lstm = name == "LSTMCell"
    shape = (H,) if unbatched else (B, H)
    xs = [torch.randn(shape[:-1] + (IN,), dtype=torch.float64, requires_grad=True)
          for _ in range(3)]
    c_xs = [cr_tensor(x, True) for x in xs]
    t_state = c_state = None
    t_init = []
    if use_hx:
        t_init = [torch.randn(shape, dtype=torch.float64, requires_grad=True)
                  for _ in range(2 if lstm else 1)]
        c_init = [cr_tensor(s, True) for s in t_init]
        t_state = tuple(t_init) if lstm else t_init[0]
        c_state = tuple(c_init) if lstm else c_init[0]
    t_loss = c_loss = 0
    for tx, cx in zip(xs, c_xs):
        t_state, c_state = t_cell(tx, t_state), c_cell(cx, c_state)
        t_parts = list(t_state) if lstm else [t_state]
        c_parts = list(c_state) if lstm else [c_state]
        for a, e in zip(c_parts, t_parts):
            assert_close(a, e, f"{name} state", TOL64)
            w = torch.randn_like(e)
            t_loss = t_loss + (e * w).sum()
            c_loss = c_loss + (a * cr_tensor(w)).sum()
    t_loss.backward()
    c_loss.backward()
    for tx, cx in zip(xs, c_xs):
        assert_close(cx.grad, tx.grad, "grad of input", TOL64)
    for a, e in zip(c_init if use_hx else [], t_init):
        assert_close(a.grad, e.grad, "grad of hx", TOL64)
    assert_param_grads(c_cell, t_cell, TOL64)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_float32_and_repr(name):
    t_cell, c_cell = make_cells(name, {}, dtype=torch.float32)
    x = torch.randn(B, IN)
    t_out, c_out = t_cell(x), c_cell(cr_tensor(x))
    t_h = t_out[0] if name == "LSTMCell" else t_out
    c_h = c_out[0] if name == "LSTMCell" else c_out
    assert_close(c_h, t_h, "h", TOL32)
    assert repr(c_cell) == repr(t_cell)
    assert repr(nn.RNNCell(2, 3, bias=False, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(2, 3, bias=False, nonlinearity="relu"))


def test_cell_errors():
    cell = nn.LSTMCell(IN, H)
    with pytest.raises(ValueError, match="1D or 2D"):
        cell(chainrule.randn(2, B, IN))
    with pytest.raises(RuntimeError, match="input_size"):
        cell(chainrule.randn(B, IN + 1))
    with pytest.raises(RuntimeError, match="hidden size"):
        cell(chainrule.randn(B, IN), (chainrule.zeros(B, H + 1), chainrule.zeros(B, H + 1)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(2, 3, nonlinearity="gelu")


# -- the fused ops by central finite differences (float64, small sizes) -----------------------

LAYOUTS = [(None, False), (None, True), ([3, 3, 2, 1], False), ([3, 3, 2, 1], True)]


def _inputs(gates, batch_sizes, rng):
    steps = 4
    rows = sum(batch_sizes) if batch_sizes else None
    gx = rng.standard_normal((rows, gates * 3) if rows else (steps, 3, gates * 3))
    return [gx, rng.standard_normal((3, 3)), rng.standard_normal((3, 3)),
            rng.standard_normal((gates * 3, 3)) * 0.7, rng.standard_normal(gates * 3)]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("batch_sizes,reverse", LAYOUTS)
def test_fused_layer_op_finite_differences(kind, batch_sizes, reverse):
    rng = np.random.default_rng(5)
    gates = {"lstm": 4, "gru": 3}.get(kind, 1)
    arrays = _inputs(gates, batch_sizes, rng)
    if kind != "lstm":
        del arrays[2]  # no cell state

    def outputs(*arrs):
        ts = [chainrule.tensor(a, requires_grad=True) for a in arrs]
        if kind == "lstm":
            res = lstm_layer(*ts, batch_sizes=batch_sizes, reverse=reverse)
        elif kind == "gru":
            res = gru_layer(*ts, batch_sizes=batch_sizes, reverse=reverse)
        else:
            res = rnn_layer(*ts, batch_sizes=batch_sizes, reverse=reverse,
                            nonlinearity=kind[4:])
        return ts, res

    weights = [rng.standard_normal(r.shape) for r in outputs(*arrays)[1]]

    def loss_value(*arrs):
        with chainrule.no_grad():
            _, res = outputs(*arrs)
        return float(sum((r.numpy() * w).sum() for r, w in zip(res, weights)))

    ts, res = outputs(*arrays)
    sum((r * chainrule.tensor(w)).sum() for r, w in zip(res, weights)).backward()
    for k, t in enumerate(ts):
        expected = numerical_grad(loss_value, [a.copy() for a in arrays], k)
        np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-6, atol=1e-7,
                                   err_msg=f"{kind}: gradient of input {k}")


def test_fused_op_is_once_differentiable_and_checks_arguments():
    gx = chainrule.randn(2, 1, 8, dtype=chainrule.float64, requires_grad=True)
    h0 = chainrule.zeros(1, 2, dtype=chainrule.float64)
    w = chainrule.randn(8, 2, dtype=chainrule.float64, requires_grad=True)
    out, _, _ = lstm_layer(gx, h0, h0, w)
    (g,) = chainrule.autograd.grad(out.sum(), [w], create_graph=True)
    with pytest.raises(RuntimeError, match="once-differentiable"):
        g.sum().backward()
    with pytest.raises(RuntimeError, match=r"weight_hh must have shape \(4 \* hidden"):
        lstm_layer(gx, h0, h0, chainrule.randn(6, 2, dtype=chainrule.float64))
    with pytest.raises(RuntimeError, match="h0 must have shape"):
        lstm_layer(gx, chainrule.zeros(2, 2, dtype=chainrule.float64), h0, w)
    with pytest.raises(TypeError, match="one dtype"):
        lstm_layer(gx, h0.float(), h0, w)
    with pytest.raises(ValueError, match="non-increasing"):
        gru_layer(chainrule.randn(3, 6), chainrule.zeros(1, 2), chainrule.randn(6, 2),
                  batch_sizes=[1, 2])


def test_inplace_weight_update_before_backward_raises():
    lstm = nn.LSTM(2, 3)
    out, _ = lstm(chainrule.randn(4, 1, 2))
    with chainrule.no_grad():
        lstm.weight_hh_l0.mul_(0.5)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
