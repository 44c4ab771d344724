"""ONNX nodes for the recurrent layers and cells (part of ``onnx_layers``).

``RNN``/``GRU``/``LSTM`` become ONNX's own ops, one per layer, with PyTorch's gate blocks
reordered into ONNX's order (LSTM ``i, f, g, o`` -> ``i, o, f, c``; GRU ``r, z, n`` ->
``z, r, h`` with ``linear_before_reset=1``, which is PyTorch's GRU formula). Bidirectional
layers stack both directions' weights; a multi-layer network is a chain of single-layer ops
joined by a Transpose + Reshape of ``Y`` (T, D, B, H) -> (T, B, D * H); ``batch_first`` is a
Transpose on the way in and out. The cells (one step, e.g. in a user's loop over time) are
written out gate by gate.
"""
from __future__ import annotations

import numpy as np

from .onnx_layers import _error, _in_shape, _p

__all__ = [
    "emit_GRU",
    "emit_GRUCell",
    "emit_LSTM",
    "emit_LSTMCell",
    "emit_RNN",
    "emit_RNNCell",
]


# -- recurrent layers -------------------------------------------------------------------------

# Rows of PyTorch's stacked gate weights, reordered into ONNX's gate order.
_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN": (0,)}


def _reorder(w: np.ndarray, order, hidden: int) -> np.ndarray:
    return np.concatenate([w[g * hidden:(g + 1) * hidden] for g in order], axis=0)


def _recurrent(em, node, inp, kind: str):
    m = node.module
    hidden, layers = int(m.hidden_size), int(m.num_layers)
    directions = 2 if m.bidirectional else 1
    order = _GATE_ORDER[kind]
    if node.kwargs:
        raise _error(node, "was called with keyword arguments; pass (input, hx) positionally")
    x_ref = node.args[0]
    in_rank = len(_in_shape(em, node))
    if in_rank not in (2, 3):
        raise _error(node, f"got a {in_rank}-D input; expected (T, B, features), "
                           "(B, T, features) with batch_first, or an unbatched (T, features)")
    hx = node.args[1] if len(node.args) > 1 else None
    x = inp(x_ref)
    unbatched = in_rank == 2
    if unbatched:
        x = em.node("Unsqueeze", [x, em.ints([1], "axes")])
    elif m.batch_first:
        x = em.node("Transpose", [x], perm=[1, 0, 2])  # ONNX wants (T, B, features)

    states = []  # the initial states given to forward (h0; LSTM: h0 and c0)
    if hx is not None:
        states = list(hx) if kind == "LSTM" else [hx]
        states = [inp(s) for s in states]
        if unbatched:
            states = [em.node("Unsqueeze", [s, em.ints([1], "axes")]) for s in states]

    def weights(layer: int):
        names = []
        for prefix in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            if prefix.startswith("bias") and not m.bias:
                continue
            per_direction = []
            for d in range(directions):
                key = _p(node, f"{prefix}_l{layer}" + ("_reverse" if d else ""))
                per_direction.append(_reorder(em.array(key), order, hidden))
            names.append(per_direction)
        w = em.const(np.stack(names[0]), f"{node.target}.W_l{layer}")
        r = em.const(np.stack(names[1]), f"{node.target}.R_l{layer}")
        b = ""
        if m.bias:
            b = em.const(np.stack([np.concatenate([bi, bh]) for bi, bh in zip(names[2],
                                                                               names[3])]),
                         f"{node.target}.B_l{layer}")
        return w, r, b

    h_finals, c_finals = [], []
    y = x
    for layer in range(layers):
        w, r, b = weights(layer)
        init = []
        for s in states:  # this layer's rows of (layers * directions, B, H)
            rows = em.ints(list(range(layer * directions, (layer + 1) * directions)), "rows")
            init.append(em.node("Gather", [s, rows], axis=0))
        attrs = {"hidden_size": hidden,
                 "direction": "bidirectional" if directions == 2 else "forward"}
        if kind == "GRU":
            attrs["linear_before_reset"] = 1
        if kind == "RNN":
            act = "Tanh" if m.nonlinearity == "tanh" else "Relu"
            attrs["activations"] = [act] * directions
        inputs = [y, w, r, b, ""]  # no sequence_lens: every sequence is full length
        if kind == "LSTM":
            inputs += init if init else []
            n_out = 3
        else:
            inputs += init[:1]
            n_out = 2
        while inputs and inputs[-1] == "":
            inputs.pop()
        outs = em.node(kind, inputs, n_outputs=n_out, **attrs)
        h_finals.append(outs[1])
        if kind == "LSTM":
            c_finals.append(outs[2])
        # Y is (T, directions, B, H): to (T, B, directions * H) for the next layer.
        y = em.node("Reshape", [em.node("Transpose", [outs[0]], perm=[0, 2, 1, 3]),
                                em.ints([0, 0, -1], "shape")])

    def stack(parts):
        return parts[0] if len(parts) == 1 else em.node("Concat", parts, axis=0)
    h_n = stack(h_finals)
    c_n = stack(c_finals) if kind == "LSTM" else None
    if unbatched:
        axes = em.ints([1], "axes")
        y = em.node("Squeeze", [y, axes])
        h_n = em.node("Squeeze", [h_n, axes])
        c_n = em.node("Squeeze", [c_n, axes]) if c_n else None
    elif m.batch_first:
        y = em.node("Transpose", [y], perm=[1, 0, 2])
    outputs = [em.node("Identity", [y]), em.node("Identity", [h_n])]
    if kind == "LSTM":
        outputs.append(em.node("Identity", [c_n]))
    return outputs


def emit_LSTM(em, node, inp):
    return _recurrent(em, node, inp, "LSTM")


def emit_GRU(em, node, inp):
    return _recurrent(em, node, inp, "GRU")


def emit_RNN(em, node, inp):
    return _recurrent(em, node, inp, "RNN")


# -- recurrent cells (one step, e.g. inside a user's loop over time) ----------------------------

def _cell_linear(em, node, x: str, which: str) -> str:
    """x @ W_which^T + b_which for which in ("ih", "hh")."""
    m = node.module
    y = em.node("MatMul", [x, em.param(_p(node, f"weight_{which}"), np.transpose,
                                       "_transposed")])
    return em.node("Add", [y, em.param(_p(node, f"bias_{which}"))]) if m.bias else y


def _cell_inputs(em, node, inp, n_states: int):
    if node.kwargs or len(node.args) > 2:
        raise _error(node, "was called with keyword arguments; pass (input, hx) positionally")
    rank = len(_in_shape(em, node))
    if rank != 2:
        raise _error(node, f"got a {rank}-D input; ONNX export supports batched (B, features) "
                           "inputs")
    x = inp(node.args[0])
    hx = node.args[1] if len(node.args) > 1 else None
    if hx is None:
        return x, [None] * n_states
    states = list(hx) if n_states > 1 else [hx]
    return x, [inp(s) for s in states]


def _split(em, node, y: str, n: int) -> list:
    if em.opset >= 18:
        return em.node("Split", [y], n_outputs=n, axis=1, num_outputs=n)
    return em.node("Split", [y], n_outputs=n, axis=1)


def emit_RNNCell(em, node, inp):
    x, (h,) = _cell_inputs(em, node, inp, 1)
    z = _cell_linear(em, node, x, "ih")
    if h is not None:
        z = em.node("Add", [z, _cell_linear(em, node, h, "hh")])
    elif node.module.bias:
        z = em.node("Add", [z, em.param(_p(node, "bias_hh"))])
    return em.node("Tanh" if node.module.nonlinearity == "tanh" else "Relu", [z])


def emit_LSTMCell(em, node, inp):
    x, (h, c) = _cell_inputs(em, node, inp, 2)
    z = _cell_linear(em, node, x, "ih")
    if h is not None:
        z = em.node("Add", [z, _cell_linear(em, node, h, "hh")])
    elif node.module.bias:
        z = em.node("Add", [z, em.param(_p(node, "bias_hh"))])
    i, f, g, o = _split(em, node, z, 4)  # PyTorch's gate order
    i, f, o = (em.node("Sigmoid", [v]) for v in (i, f, o))
    c_new = em.node("Mul", [i, em.node("Tanh", [g])])
    if c is not None:
        c_new = em.node("Add", [em.node("Mul", [f, c]), c_new])
    h_new = em.node("Mul", [o, em.node("Tanh", [c_new])])
    return [h_new, em.node("Identity", [c_new])]


def emit_GRUCell(em, node, inp):
    x, (h,) = _cell_inputs(em, node, inp, 1)
    gi = _split(em, node, _cell_linear(em, node, x, "ih"), 3)
    if h is not None:
        gh = _split(em, node, _cell_linear(em, node, h, "hh"), 3)
    elif node.module.bias:
        gh = _split(em, node, em.param(_p(node, "bias_hh"), lambda b: b[None, :], "_row"), 3)
    else:
        gh = None
    r = em.node("Sigmoid", [em.node("Add", [gi[0], gh[0]]) if gh else gi[0]])
    z = em.node("Sigmoid", [em.node("Add", [gi[1], gh[1]]) if gh else gi[1]])
    n = em.node("Tanh", [em.node("Add", [gi[2], em.node("Mul", [r, gh[2]])]) if gh else gi[2]])
    # h' = (1 - z) n + z h = n + z (h - n)
    if h is None:
        return em.node("Sub", [n, em.node("Mul", [z, n])])
    return em.node("Add", [n, em.node("Mul", [z, em.node("Sub", [h, n])])])
