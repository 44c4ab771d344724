"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells.

Parameter names, shapes, gate order and initialisation are PyTorch's, so state dicts load in
either framework: for layer ``k`` (suffix ``_reverse`` for the backward direction)
``weight_ih_l{k}`` ``(G*H, in)``, ``weight_hh_l{k}`` ``(G*H, H)``, ``bias_ih_l{k}``,
``bias_hh_l{k}`` ``(G*H,)``, with ``G`` = 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n) or 1 (RNN),
all drawn from U(-1/sqrt(H), 1/sqrt(H)).

How a layer runs (``chainrule.ops.rnn`` has the details): the input part of all gates for
all time steps is one GEMM, ``x @ W_ih^T + b_ih``; the recurrence is one fused op per layer
and direction, with one GEMM per step and a hand-derived backward through time. Sequences
are handled in the packed layout throughout (a dense batch is the case where every step has
the whole batch), so a :class:`~chainrule.nn.utils.rnn.PackedSequence` costs nothing extra
and no work is spent on padding.

Seeing gradients through time: set ``track_hidden_grads = True`` on a layer; after
``backward`` its ``hidden_grads`` list holds, for every layer and direction, the total
dL/dh_t at every step (through the output and through the recurrence), laid out like the
output. (With ``RNNCell``/``LSTMCell``/``GRUCell`` in a Python loop, each ``h_t`` is its own
tensor and ``h_t.retain_grad()`` shows the same thing.)
"""
from __future__ import annotations

import math
import numbers
import warnings

import chainrule
from chainrule import Tensor
from chainrule.ops.rnn import gru_layer, lstm_layer, rnn_layer

from .. import functional as F
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _reset_uniform(module: Module) -> None:
    """Every weight and bias from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch (layers and cells)."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    with chainrule.no_grad():
        for weight in module.parameters():
            weight.uniform_(-bound, bound)


def _new_param(shape: tuple, dtype) -> Parameter:
    return Parameter(chainrule.empty(shape, dtype=dtype))


def _run_layer(mode: str, x: Tensor, weights: list, state: tuple, batch_sizes,
               reverse: bool, record) -> tuple:
    """One layer and direction over a whole sequence (or one step of a cell).

    ``x`` is ``(T, B, in)`` dense or ``(sum(lengths), in)`` packed (``batch_sizes`` given).
    The input part of the gates is one GEMM for all steps (``F.linear``); the recurrence is
    one fused op. Returns ``(out, (h_n,))`` or, for an LSTM, ``(out, (h_n, c_n))``.
    """
    w_ih, w_hh, *biases = weights
    b_ih, b_hh = biases if biases else (None, None)
    if b_ih is not None and mode != "GRU":
        # LSTM/RNN add both biases to the same pre-activation: adding them once to the input
        # GEMM's bias saves a pass per step, and each still receives dL/dz summed over steps.
        gx = F.linear(x, w_ih, b_ih + b_hh)
        b_hh = None
    else:
        gx = F.linear(x, w_ih, b_ih)
    if mode == "LSTM":
        out, h_n, c_n = lstm_layer(gx, state[0], state[1], w_hh, b_hh, batch_sizes, reverse,
                                   record)
        return out, (h_n, c_n)
    if mode == "GRU":
        out, h_n = gru_layer(gx, state[0], w_hh, b_hh, batch_sizes, reverse, record)
    else:
        out, h_n = rnn_layer(gx, state[0], w_hh, b_hh, batch_sizes, reverse, record,
                             "relu" if mode == "RNN_RELU" else "tanh")
    return out, (h_n,)


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share (PyTorch's ``nn.RNNBase``).

    Args:
        mode: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"``.
        input_size: features of the input ``x``.
        hidden_size: features of the hidden state ``h``.
        num_layers: stacked layers; layer ``k > 0`` reads layer ``k - 1``'s output.
        bias: whether to use ``b_ih`` and ``b_hh``.
        batch_first: inputs and outputs are ``(B, T, *)`` instead of ``(T, B, *)`` (the
            hidden states stay ``(num_layers * D, B, H)``).
        dropout: dropout probability on the outputs of every layer but the last (training only).
        bidirectional: also run each layer from the last step to the first (``D = 2``) and
            concatenate both directions' outputs.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"{type(self).__name__}: unrecognized RNN mode {mode!r}")
        if proj_size:
            raise NotImplementedError(f"{type(self).__name__}: proj_size is not supported")
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or \
                not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        for name, value in (("hidden_size", hidden_size), ("num_layers", num_layers),
                            ("input_size", input_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        self.track_hidden_grads = False
        self._grad_records: list = []
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        np_dtype = dtype if dtype is not None else chainrule.get_default_dtype()
        self._flat_weights_names: list = []
        self._all_weights: list = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [(f"weight_ih_l{layer}{suffix}", (gates, layer_input)),
                          (f"weight_hh_l{layer}{suffix}", (gates, hidden_size))]
                if bias:
                    shapes += [(f"bias_ih_l{layer}{suffix}", (gates,)),
                               (f"bias_hh_l{layer}{suffix}", (gates,))]
                for name, shape in shapes:
                    setattr(self, name, _new_param(shape, np_dtype))
                names = [name for name, _ in shapes]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def flatten_parameters(self) -> None:
        """No-op (PyTorch packs cuDNN weights here; chainrule's weights are always usable)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """Per layer and direction, the list ``[w_ih, w_hh, b_ih, b_hh]`` (as PyTorch)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def hidden_grads(self) -> list:
        """With ``track_hidden_grads = True``, after backward: for each layer and direction
        (order ``l0, l0_reverse, l1, ...``) the total dL/dh_t at every time step, shaped like
        the output of that direction (``(T, B, H)``, ``(B, T, H)`` if batch_first, or packed
        ``(sum(lengths), H)``). None for a direction whose backward has not run."""
        grads = []
        for record in self._grad_records:
            g = record.get("grad_hidden")
            if g is not None and record["batch_first"]:
                g = g.transpose(0, 1)
            grads.append(g)
        return grads

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward ---------------------------------------------------------------------------
    def _initial_states(self, hx, batch: int, dtype, unbatched: bool, sorted_indices) -> tuple:
        name = type(self).__name__
        n_states = 2 if self.mode == "LSTM" else 1
        shape = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if hx is None:
            zeros = chainrule.zeros(shape, dtype=dtype)
            return (zeros,) * n_states
        states = tuple(hx) if self.mode == "LSTM" else (hx,)
        if self.mode == "LSTM" and (not isinstance(hx, (tuple, list)) or len(states) != 2):
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of tensors")
        if self.mode != "LSTM" and not isinstance(hx, Tensor):
            raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
        out = []
        for label, s in zip(("h_0", "c_0"), states):
            if unbatched:
                if s.ndim != 2:
                    raise RuntimeError(f"{name}: for unbatched 2-D input, {label} should also "
                                       f"be 2-D but got {s.ndim}-D tensor")
                s = s.unsqueeze(1)
            elif s.ndim != 3:
                raise RuntimeError(f"{name}: for batched 3-D input, {label} should also be 3-D "
                                   f"but got {s.ndim}-D tensor")
            if tuple(s.shape) != shape:
                raise RuntimeError(f"{name}: Expected hidden size {shape}, got "
                                   f"{tuple(s.shape)} for {label}")
            if s.dtype != dtype:
                raise RuntimeError(f"{name}: {label} has dtype {s.dtype}, expected {dtype} "
                                   "(the input's dtype)")
            if sorted_indices is not None:
                s = s.index_select(1, sorted_indices)
            out.append(s)
        return tuple(out)

    def forward(self, input, hx=None):
        """Run the layers over a sequence.

        Args:
            input: ``(T, B, in)`` (``(B, T, in)`` if batch_first), ``(T, in)`` unbatched, or
                a PackedSequence.
            hx: initial state(s), ``(num_layers * D, B, H)`` each (``(num_layers * D, H)``
                unbatched); zeros if omitted. LSTM takes a tuple ``(h_0, c_0)``.

        Returns:
            ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``), ``output`` of shape
            ``(T, B, D * H)`` (batch_first: ``(B, T, D * H)``, packed if the input was).
        """
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        unbatched = False
        if packed:
            data, batch_sizes = input.data, [int(b) for b in input.batch_sizes.tolist()]
            sorted_indices, batch = input.sorted_indices, batch_sizes[0]
            if data.ndim != 2:
                raise RuntimeError(f"{name}: packed input data must be 2-D (sum(lengths), "
                                   f"input_size), got shape {tuple(data.shape)}")
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, got "
                                f"{type(input).__name__}")
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                                 "tensor instead")
            unbatched = input.ndim == 2
            if unbatched:
                input = input.unsqueeze(0 if self.batch_first else 1)
            if self.batch_first:
                input = input.transpose(0, 1)
            batch = input.shape[1]
            data, batch_sizes, sorted_indices = input, None, None
        if data.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]}")
        weight = getattr(self, self._flat_weights_names[0])
        if data.dtype != weight.dtype:
            raise RuntimeError(f"{name}: input must have the type {weight.dtype}, got type "
                               f"{data.dtype}")
        states = self._initial_states(hx, batch, data.dtype, unbatched, sorted_indices)
        records = self._grad_records = []  # filled only when track_hidden_grads is on

        directions = 2 if self.bidirectional else 1
        layer_input, finals = data, [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                record = None
                if self.track_hidden_grads:
                    record = {"batch_first": self.batch_first and not packed}
                    records.append(record)
                weights = [getattr(self, n) for n in self._all_weights[index]]
                out, final = _run_layer(self.mode, layer_input, weights,
                                        tuple(s[index] for s in states), batch_sizes,
                                        direction == 1, record)
                outputs.append(out)
                for collected, f in zip(finals, final):
                    collected.append(f)
            layer_input = outputs[0] if directions == 1 else chainrule.cat(outputs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)

        finals = [chainrule.stack(collected) for collected in finals]
        if packed:
            if input.unsorted_indices is not None:
                finals = [f.index_select(1, input.unsorted_indices) for f in finals]
            output = PackedSequence(layer_input, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        else:
            output = layer_input
            if self.batch_first:
                output = output.transpose(0, 1)
            if unbatched:
                output = output.squeeze(0 if self.batch_first else 1)
                finals = [f.squeeze(1) for f in finals]
        if self.mode == "LSTM":
            return output, (finals[0], finals[1])
        return output, finals[0]


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act tanh or relu.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: see
            :class:`RNNBase`.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.

    Shape:
        - input: ``(T, B, in)``, ``(B, T, in)`` if batch_first, ``(T, in)`` unbatched, or packed.
        - h_0 / h_n: ``(num_layers * D, B, H)``.
        - output: ``(T, B, D * H)`` (the last layer's h_t for every t).

    Example:
        >>> rnn = nn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(chainrule.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (chainrule.Size([5, 3, 20]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs) -> None:
        # PyTorch's positional order: (input_size, hidden_size, num_layers, nonlinearity, ...)
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:
            nonlinearity, args = args[3], args[:3] + args[4:]
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o, as PyTorch):

    ``i, f, o = sigma(.)``, ``g = tanh(.)`` of ``x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``;
    ``c_t = f * c_{t-1} + i * g``; ``h_t = o * tanh(c_t)``.

    Args: see :class:`RNNBase` (``proj_size`` is not supported).

    Shape:
        - input: ``(T, B, in)``, ``(B, T, in)`` if batch_first, ``(T, in)`` unbatched, or packed.
        - (h_0, c_0) / (h_n, c_n): each ``(num_layers * D, B, H)``.
        - output: ``(T, B, D * H)``.

    Example:
        >>> lstm = nn.LSTM(10, 20, batch_first=True)
        >>> output, (h_n, c_n) = lstm(chainrule.randn(3, 5, 10))
        >>> output.shape, h_n.shape
        (chainrule.Size([3, 5, 20]), chainrule.Size([1, 3, 20]))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n, as PyTorch):

    ``r, z = sigma(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z})``,
    ``n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Args / Shape: as :class:`RNN` (no nonlinearity argument).

    Example:
        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> output, h_n = gru(chainrule.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (chainrule.Size([5, 3, 40]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("GRU", *args, **kwargs)


# -- cells: one time step -------------------------------------------------------------------------

class RNNCellBase(Module):
    """One step of a recurrent layer; parameters ``weight_ih (G*H, in)``, ``weight_hh
    (G*H, H)``, ``bias_ih``, ``bias_hh`` ``(G*H,)`` from U(-1/sqrt(H), 1/sqrt(H))."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        np_dtype = dtype if dtype is not None else chainrule.get_default_dtype()
        self.weight_ih = _new_param((num_chunks * hidden_size, input_size), np_dtype)
        self.weight_hh = _new_param((num_chunks * hidden_size, hidden_size), np_dtype)
        if bias:
            self.bias_ih = _new_param((num_chunks * hidden_size,), np_dtype)
            self.bias_hh = _new_param((num_chunks * hidden_size,), np_dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, input: Tensor, hx, n_states: int):
        """Check shapes, run the fused layer op for one step; returns the new state(s)."""
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got "
                             f"{getattr(input, 'ndim', type(input).__name__)}D instead")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[1]} expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{name}: input must have the type {self.weight_ih.dtype}, got "
                               f"type {input.dtype}")
        batch = input.shape[0]
        if hx is None:
            states = (chainrule.zeros(batch, self.hidden_size, dtype=input.dtype),) * n_states
        else:
            states = tuple(hx) if n_states == 2 else (hx,)
            if len(states) != n_states:
                raise TypeError(f"{name}: hx must be a tuple (h, c)")
            states = tuple(s.unsqueeze(0) if unbatched and s.ndim == 1 else s for s in states)
            for s in states:
                if tuple(s.shape) != (batch, self.hidden_size):
                    raise RuntimeError(f"{name}: Expected hidden size "
                                       f"{(batch, self.hidden_size)}, got {tuple(s.shape)}")
        weights = [self.weight_ih, self.weight_hh]
        if self.bias_ih is not None:
            weights += [self.bias_ih, self.bias_hh]
        _, new = _run_layer(self._mode, input, weights, states, [batch], False, None)
        if unbatched:
            new = tuple(s.squeeze(0) for s in new)
        return new


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Shape: input ``(B, in)`` or ``(in,)``; hx and output ``(B, H)`` or ``(H,)``; hx defaults
    to zeros.

    Example:
        >>> cell = nn.RNNCell(10, 20)
        >>> h = cell(chainrule.randn(3, 10))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): returns ``(h', c')``.

    Shape: input ``(B, in)`` or ``(in,)``; hx a tuple ``(h, c)`` of ``(B, H)`` (zeros if
    omitted).

    Example:
        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(chainrule.randn(3, 10))
    """

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        return self._step(input, hx, 2)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): returns ``h'``.

    Example:
        >>> cell = nn.GRUCell(10, 20)
        >>> h = cell(chainrule.randn(3, 10))
    """

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, 1)[0]
