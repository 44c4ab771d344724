"""nn.RNN / nn.LSTM / nn.GRU against torch with the same weights: outputs, final states and
gradients of the input, the initial states and every parameter."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from rnn_testing import TOL32, TOL64, assert_close, assert_param_grads, copy_weights, cr_tensor

import chainrule
from chainrule import nn

MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")
T, B, IN, H = 5, 3, 4, 6


def make_pair(mode: str, dtype=torch.float64, **kwargs):
    """The same layer in torch and chainrule (weights copied from torch)."""
    torch.manual_seed(hash((mode, tuple(sorted(kwargs.items())))) % 2**31)
    if mode.startswith("RNN"):
        nl = "tanh" if mode == "RNN_TANH" else "relu"
        t = torch.nn.RNN(IN, H, nonlinearity=nl, dtype=dtype, **kwargs)
        c = nn.RNN(IN, H, nonlinearity=nl, dtype=_cr_dtype(dtype), **kwargs)
    else:
        t = getattr(torch.nn, mode)(IN, H, dtype=dtype, **kwargs)
        c = getattr(nn, mode)(IN, H, dtype=_cr_dtype(dtype), **kwargs)
    copy_weights(t, c)
    return t, c


def _cr_dtype(dtype):
    return chainrule.float64 if dtype == torch.float64 else chainrule.float32


def initial_states(mode, t_module, batch=B, unbatched=False, dtype=torch.float64):
    shape = (t_module.num_layers * (2 if t_module.bidirectional else 1),) + \
        (() if unbatched else (batch,)) + (H,)
    h0 = torch.randn(shape, dtype=dtype, requires_grad=True)
    if mode == "LSTM":
        c0 = torch.randn(shape, dtype=dtype, requires_grad=True)
        return (h0, c0), (cr_tensor(h0, True), cr_tensor(c0, True))
    return h0, cr_tensor(h0, True)


def flat_states(mode, states):
    if states is None:
        return []
    return list(states) if mode == "LSTM" else [states]


def run_and_compare(mode, t_mod, c_mod, x, use_hx=True, tol=TOL64, unbatched=False):
    """Forward both, backprop the same random weighting of every output, compare all."""
    tx = x.clone().requires_grad_(True)
    cx = cr_tensor(x, True)
    if use_hx:
        batch = x.shape[0] if t_mod.batch_first else x.shape[1]
        t_hx, c_hx = initial_states(mode, t_mod, batch, unbatched, x.dtype)
    else:
        t_hx = c_hx = None
    t_out, t_state = t_mod(tx, t_hx)
    c_out, c_state = c_mod(cx, c_hx)
    t_finals, c_finals = flat_states(mode, t_state), flat_states(mode, c_state)
    assert_close(c_out, t_out, "output", tol)
    for k, (a, e) in enumerate(zip(c_finals, t_finals)):
        assert_close(a, e, f"final state {k}", tol)
    weights = [torch.randn_like(t) for t in [t_out] + t_finals]
    t_loss = sum((t * w).sum() for t, w in zip([t_out] + t_finals, weights))
    c_loss = sum((c * cr_tensor(w)).sum() for c, w in zip([c_out] + c_finals, weights))
    t_loss.backward()
    c_loss.backward()
    assert_close(cx.grad, tx.grad, "grad of input", tol)
    for k, (a, e) in enumerate(zip(flat_states(mode, c_hx), flat_states(mode, t_hx))):
        assert_close(a.grad, e.grad, f"grad of initial state {k}", tol)
    assert_param_grads(c_mod, t_mod, tol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True),
                                                      (2, True)])
def test_matches_torch_float64(mode, num_layers, bidirectional):
    t_mod, c_mod = make_pair(mode, num_layers=num_layers, bidirectional=bidirectional)
    x = torch.randn(T, B, IN, dtype=torch.float64)
    run_and_compare(mode, t_mod, c_mod, x)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first,bias,use_hx",
                         [(True, True, True), (False, False, True), (True, False, False),
                          (False, True, False)])
def test_options_match_torch(mode, batch_first, bias, use_hx):
    t_mod, c_mod = make_pair(mode, num_layers=2, bidirectional=True, batch_first=batch_first,
                             bias=bias)
    x = torch.randn((B, T, IN) if batch_first else (T, B, IN), dtype=torch.float64)
    run_and_compare(mode, t_mod, c_mod, x, use_hx=use_hx)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(mode, batch_first):
    t_mod, c_mod = make_pair(mode, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = torch.randn(T, IN, dtype=torch.float64)
    run_and_compare(mode, t_mod, c_mod, x, unbatched=True)
    run_and_compare(mode, t_mod, c_mod, x, use_hx=False, unbatched=True)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_batch_of_one_and_single_step(mode):
    t_mod, c_mod = make_pair(mode)
    run_and_compare(mode, t_mod, c_mod, torch.randn(1, 1, IN, dtype=torch.float64))
    run_and_compare(mode, t_mod, c_mod, torch.randn(7, 1, IN, dtype=torch.float64))


def test_non_contiguous_input():
    t_mod, c_mod = make_pair("LSTM", batch_first=True)
    x = torch.randn(T, 2 * B, IN, dtype=torch.float64)[:, ::2].transpose(0, 1)
    run_and_compare("LSTM", t_mod, c_mod, x)


@pytest.mark.parametrize("mode", MODES)
def test_float32_default(mode):
    t_mod, c_mod = make_pair(mode, dtype=torch.float32, num_layers=2)
    assert c_mod.weight_hh_l0.dtype == chainrule.float32
    run_and_compare(mode, t_mod, c_mod, torch.randn(T, B, IN), tol=TOL32)


@pytest.mark.parametrize("mode", MODES)
def test_parameters_names_shapes_and_init(mode):
    t_mod, c_mod = make_pair(mode, num_layers=2, bidirectional=True)
    t_shapes = {k: tuple(v.shape) for k, v in t_mod.state_dict().items()}
    c_shapes = {k: tuple(v.shape) for k, v in c_mod.state_dict().items()}
    assert c_shapes == t_shapes
    big = nn.LSTM(8, 100) if mode == "LSTM" else nn.GRU(8, 100)
    bound = 1 / math.sqrt(100)
    values = np.concatenate([p.detach().numpy().ravel() for p in big.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert abs(values.mean()) < 0.02 * bound * 10 and values.std() > 0.5 * bound  # ~U(-b, b)
    assert c_mod.all_weights[1][0] is c_mod.weight_ih_l0_reverse
    c_mod.flatten_parameters()  # a no-op that exists, as in PyTorch


def test_state_dict_from_chainrule_loads_into_torch():
    c_mod = nn.GRU(IN, H, num_layers=2)
    t_mod = torch.nn.GRU(IN, H, num_layers=2)
    t_mod.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                           for k, v in c_mod.state_dict().items()})
    x = torch.randn(T, B, IN)
    assert_close(c_mod(cr_tensor(x))[0], t_mod(x)[0], "output", TOL32)


def test_repr_and_constructor_like_torch():
    assert repr(nn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)) == \
        repr(torch.nn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True))
    assert repr(nn.GRU(3, 4, bias=False)) == repr(torch.nn.GRU(3, 4, bias=False))
    rnn = nn.RNN(3, 4, 2, "relu")  # positional nonlinearity, as torch accepts
    assert rnn.nonlinearity == "relu" and rnn.mode == "RNN_RELU"
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)


def test_bad_inputs_raise_clear_errors():
    lstm = nn.LSTM(IN, H, num_layers=2)
    with pytest.raises(RuntimeError, match="input_size.*Expected 4, got 5"):
        lstm(chainrule.randn(T, B, 5))
    with pytest.raises(ValueError, match="2D or 3D, got 4D"):
        lstm(chainrule.randn(T, B, IN, 1))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 3, 6\), got \(1, 3, 6\)"):
        lstm(chainrule.randn(T, B, IN), (chainrule.zeros(1, B, H), chainrule.zeros(2, B, H)))
    with pytest.raises(RuntimeError, match="should also be 3-D"):
        lstm(chainrule.randn(T, B, IN), (chainrule.zeros(B, H), chainrule.zeros(B, H)))
    with pytest.raises(TypeError, match="tuple"):
        lstm(chainrule.randn(T, B, IN), chainrule.zeros(2, B, H))
    with pytest.raises(RuntimeError, match="input must have the type"):
        lstm(chainrule.randn(T, B, IN, dtype=chainrule.float64))


def test_dropout_between_layers_train_only():
    x = chainrule.randn(T, B, IN)
    net = nn.LSTM(IN, H, num_layers=2, dropout=0.5)
    plain = nn.LSTM(IN, H, num_layers=2)
    plain.load_state_dict(net.state_dict())
    net.eval()
    np.testing.assert_allclose(net(x)[0].detach().numpy(), plain(x)[0].detach().numpy())
    net.train()
    chainrule.manual_seed(0)
    first = net(x)[0].detach().numpy()
    chainrule.manual_seed(1)
    second = net(x)[0].detach().numpy()
    assert not np.allclose(first, second)          # a different mask each call
    assert not np.allclose(first, plain(x)[0].detach().numpy())
    out, _ = net(x)
    out.sum().backward()                            # dropout is differentiable
    assert net.weight_ih_l0.grad is not None


def test_no_grad_forward_matches_and_records_nothing():
    lstm = nn.LSTM(IN, H)
    x = chainrule.randn(T, B, IN)
    with chainrule.no_grad():
        out, _ = lstm(x)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_allclose(out.numpy(), lstm(x)[0].detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_track_hidden_grads_equals_unrolled_cells(mode, bidirectional):
    """The recorded dL/dh_t equals the .grad of each h_t of the same net unrolled by cells."""
    torch.manual_seed(3)
    layer = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN_TANH": nn.RNN}[mode](
        IN, H, batch_first=True, bidirectional=bidirectional, dtype=chainrule.float64)
    layer.track_hidden_grads = True
    x = chainrule.randn(B, T, IN, dtype=chainrule.float64)
    out, _ = layer(x)
    weights = chainrule.randn(out.shape, dtype=chainrule.float64)
    (out[:, -1] * weights[:, -1]).sum().backward()  # the loss reads only the last step
    cell_cls = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell, "RNN_TANH": nn.RNNCell}[mode]
    cell = cell_cls(IN, H, dtype=chainrule.float64)
    for d, suffix in enumerate(["", "_reverse"][: 1 + bidirectional]):
        cell.load_state_dict({k: getattr(layer, f"{k}_l0{suffix}") for k in
                              ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]})
        steps = range(T - 1, -1, -1) if d else range(T)
        state, hs = None, {}
        for t in steps:
            state = cell(x[:, t], state)
            h = state[0] if mode == "LSTM" else state
            h.retain_grad()
            hs[t] = h
        cell_out = chainrule.stack([hs[t] for t in range(T)], 1)
        (cell_out[:, -1] * weights[:, -1, d * H:(d + 1) * H]).sum().backward()
        recorded = layer.hidden_grads[d]
        assert recorded.shape == (B, T, H)
        expected = np.stack([hs[t].grad.numpy() for t in range(T)], 1)
        np.testing.assert_allclose(recorded.numpy(), expected, **TOL64)
    assert float(abs(layer.hidden_grads[0][:, 0]).sum()) > 0  # gradient reached step 0


def test_module_double_and_generic_checks():
    lstm = nn.LSTM(IN, H).double()
    out, _ = lstm(chainrule.randn(T, B, IN, dtype=chainrule.float64))
    assert out.dtype == chainrule.float64


@pytest.mark.parametrize("mode,layers", list(itertools.product(["LSTM", "GRU"], [1, 2])))
def test_second_forward_and_backward_accumulate(mode, layers):
    """Two backward passes accumulate parameter gradients, as torch does."""
    t_mod, c_mod = make_pair(mode, num_layers=layers)
    x = torch.randn(T, B, IN, dtype=torch.float64)
    for _ in range(2):
        t_mod(x)[0].pow(2).sum().backward()
        c_mod(cr_tensor(x))[0].pow(2).sum().backward()
    assert_param_grads(c_mod, t_mod, TOL64)
