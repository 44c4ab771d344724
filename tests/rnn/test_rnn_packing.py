"""nn.utils.rnn (padding and packing) against torch, and recurrent layers on packed input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn
from rnn_testing import TOL64, assert_close, assert_param_grads, copy_weights, cr_tensor

import chainrule
from chainrule import nn
from chainrule.nn.utils import rnn as crnn

IN, H = 3, 5


def test_pack_padded_sequence_matches_torch_and_is_differentiable():
    x = torch.randn(6, 4, 2, dtype=torch.float64, requires_grad=True)
    lengths = [3, 6, 1, 3]  # unsorted, with a tie
    t_packed = trnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    cx = cr_tensor(x, True)
    c_packed = crnn.pack_padded_sequence(cx, chainrule.tensor(lengths), enforce_sorted=False)
    assert_close(c_packed.data, t_packed.data, "data", TOL64)
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert getattr(c_packed, field).tolist() == getattr(t_packed, field).tolist(), field
    w = torch.randn_like(t_packed.data)
    (t_packed.data * w).sum().backward()
    (c_packed.data * cr_tensor(w)).sum().backward()
    assert_close(cx.grad, x.grad, "grad through packing", TOL64)


def test_pack_sorted_batch_first_and_round_trip():
    x = torch.randn(3, 4, 2, dtype=torch.float64)  # (B, T, *)
    lengths = torch.tensor([4, 2, 2])
    t_packed = trnn.pack_padded_sequence(x, lengths, batch_first=True)
    c_packed = crnn.pack_padded_sequence(cr_tensor(x), cr_tensor(lengths), batch_first=True)
    assert c_packed.sorted_indices is None and t_packed.sorted_indices is None
    assert_close(c_packed.data, t_packed.data, "data", TOL64)
    for batch_first in (False, True):
        for total in (None, 6):
            t_pad, t_len = trnn.pad_packed_sequence(t_packed, batch_first, -1.0, total)
            c_pad, c_len = crnn.pad_packed_sequence(c_packed, batch_first, -1.0, total)
            assert_close(c_pad, t_pad, f"padded (batch_first={batch_first}, total={total})",
                         TOL64)
            assert c_len.tolist() == t_len.tolist()
    with pytest.raises(ValueError, match="total_length"):
        crnn.pad_packed_sequence(c_packed, total_length=2)


def test_pad_packed_sequence_gradient():
    seqs = [torch.randn(n, 2, dtype=torch.float64) for n in (2, 5, 3)]
    t_packed = trnn.pack_sequence(seqs, enforce_sorted=False)
    data = t_packed.data.detach().requires_grad_(True)
    t_pad, _ = trnn.pad_packed_sequence(trnn.PackedSequence(
        data, t_packed.batch_sizes, t_packed.sorted_indices, t_packed.unsorted_indices))
    c_packed = crnn.pack_sequence([cr_tensor(s) for s in seqs], enforce_sorted=False)
    c_data = cr_tensor(data, True)
    c_pad, _ = crnn.pad_packed_sequence(crnn.PackedSequence(
        c_data, c_packed.batch_sizes, c_packed.sorted_indices, c_packed.unsorted_indices))
    w = torch.randn_like(t_pad)
    (t_pad * w).sum().backward()
    (c_pad * cr_tensor(w)).sum().backward()
    assert_close(c_data.grad, data.grad, "grad of packed data", TOL64)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    seqs = [torch.randn(n, 2, dtype=torch.float64) for n in (3, 1, 4)]
    expected = trnn.pad_sequence(seqs, batch_first=batch_first, padding_value=7.0,
                                 padding_side=side)
    got = crnn.pad_sequence([cr_tensor(s) for s in seqs], batch_first=batch_first,
                            padding_value=7.0, padding_side=side)
    assert_close(got, expected, "pad_sequence", TOL64)


def test_unpack_and_unpad_sequence_and_errors():
    seqs = [chainrule.randn(n, 2) for n in (2, 4, 3)]
    packed = crnn.pack_sequence(seqs, enforce_sorted=False)
    for a, b in zip(crnn.unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    padded = crnn.pad_sequence(seqs, batch_first=True)
    for a, b in zip(crnn.unpad_sequence(padded, [2, 4, 3], batch_first=True), seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        crnn.pack_sequence(seqs)
    with pytest.raises(RuntimeError, match="greater than 0"):
        crnn.pack_padded_sequence(chainrule.randn(3, 2), [3, 0])
    assert packed.double().data.dtype == chainrule.float64


MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")


def _pair(mode, **kw):
    torch.manual_seed(7)
    if mode.startswith("RNN"):
        nl = mode[4:].lower()
        t, c = torch.nn.RNN(IN, H, nonlinearity=nl, **kw), nn.RNN(IN, H, nonlinearity=nl, **kw)
    else:
        t, c = getattr(torch.nn, mode)(IN, H, **kw), getattr(nn, mode)(IN, H, **kw)
    t.double()
    c.double()
    copy_weights(t, c)
    return t, c


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("num_layers,bidirectional,batch_first",
                         [(1, False, False), (2, True, True), (1, True, False)])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_layers_on_packed_input(mode, num_layers, bidirectional, batch_first, enforce_sorted):
    t_mod, c_mod = _pair(mode, num_layers=num_layers, bidirectional=bidirectional,
                         batch_first=batch_first)
    lengths = [6, 4, 4, 1] if enforce_sorted else [4, 6, 1, 4]
    shape = (4, 6, IN) if batch_first else (6, 4, IN)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    cx = cr_tensor(x, True)
    states = num_layers * (2 if bidirectional else 1)
    t_h0 = torch.randn(states, 4, H, dtype=torch.float64, requires_grad=True)
    c_h0 = cr_tensor(t_h0, True)
    t_c0 = torch.randn(states, 4, H, dtype=torch.float64, requires_grad=True)
    c_c0 = cr_tensor(t_c0, True)
    t_in = trnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    c_in = crnn.pack_padded_sequence(cx, lengths, batch_first, enforce_sorted)
    t_out, t_state = t_mod(t_in, (t_h0, t_c0) if mode == "LSTM" else t_h0)
    c_out, c_state = c_mod(c_in, (c_h0, c_c0) if mode == "LSTM" else c_h0)
    assert isinstance(c_out, crnn.PackedSequence)
    assert c_out.batch_sizes.tolist() == t_out.batch_sizes.tolist()
    t_pad, _ = trnn.pad_packed_sequence(t_out, batch_first)
    c_pad, _ = crnn.pad_packed_sequence(c_out, batch_first)
    assert_close(c_pad, t_pad, "padded output", TOL64)
    t_states = list(t_state) if mode == "LSTM" else [t_state]
    c_states = list(c_state) if mode == "LSTM" else [c_state]
    for k, (a, e) in enumerate(zip(c_states, t_states)):
        assert_close(a, e, f"final state {k} (last valid step of each sequence)", TOL64)
    weights = [torch.randn_like(t) for t in [t_pad] + t_states]
    sum((t * w).sum() for t, w in zip([t_pad] + t_states, weights)).backward()
    sum((c * cr_tensor(w)).sum() for c, w in zip([c_pad] + c_states, weights)).backward()
    assert_close(cx.grad, x.grad, "grad of input", TOL64)
    assert_close(c_h0.grad, t_h0.grad, "grad of h0", TOL64)
    if mode == "LSTM":
        assert_close(c_c0.grad, t_c0.grad, "grad of c0", TOL64)
    assert_param_grads(c_mod, t_mod, TOL64)


def test_packed_without_initial_state():
    t_mod, c_mod = _pair("LSTM", bidirectional=True)
    seqs = [torch.randn(n, IN, dtype=torch.float64) for n in (3, 5, 2)]
    t_out, (t_h, _) = t_mod(trnn.pack_sequence(seqs, enforce_sorted=False))
    c_out, (c_h, _) = c_mod(crnn.pack_sequence([cr_tensor(s) for s in seqs],
                                               enforce_sorted=False))
    assert_close(c_out.data, t_out.data, "packed output data", TOL64)
    assert_close(c_h, t_h, "h_n", TOL64)
