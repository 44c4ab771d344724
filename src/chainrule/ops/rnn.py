"""Fused recurrent layers: a whole sequence of LSTM, GRU or Elman-RNN steps as ONE graph node.

The input part of every gate does not depend on the recurrence, so the layer modules compute
it for all time steps with one GEMM (``gx = x @ W_ih^T + b_ih``) before calling these ops.
What remains is inherently sequential: per step, one GEMM with ``W_hh`` and a handful of
elementwise kernels. Each op here runs that loop in array code and records a single node;
its backward is back-propagation through time, derived by hand, also in array code:

- per step, backward does only what the recurrence forces (a few elementwise products and one
  GEMM ``dh_{t-1} = dz_t @ W_hh``); every factor that does not depend on the incoming
  gradient (e.g. ``g * i * (1 - i)``) is computed once for all steps before the loop;
- the weight gradient is ONE GEMM over all steps after the loop
  (``dW_hh = dz^T @ h_prev``, summed over time and batch by the matrix product), instead of
  one small GEMM per step accumulated in Python.

Why one node per sequence rather than one per step (measured, 1 thread, LSTM 64 -> 256, batch
32 x 64 steps, forward + backward): 46 ms as one node per layer, 135 ms as a chain of 64
one-step nodes (the same kernel called with T = 1), which pays a weight-gradient GEMM and a
gradient accumulation per step plus the engine's bookkeeping. What a per-step graph would
show for free, the total gradient dL/dh_t of every step, is recorded on request instead
(``record``; ``nn.LSTM.track_hidden_grads``), and the cells (``nn.LSTMCell``...) still give a
node per step when a lesson wants to hook each h_t.

Layout: every op works on the *packed* layout of ``nn.utils.rnn.PackedSequence``: the rows
of ``gx`` are the time steps one after another, step ``t`` holding ``batch_sizes[t]`` rows
(sequences sorted by decreasing length, so the active rows of a step are always the first
ones). A dense ``(T, B, G)`` input is the special case ``batch_sizes = [B] * T``. A row that
has ended keeps its state, so ``h_n`` is each sequence's state at its last valid step; in the
reverse direction a row starts from ``h_0`` at its own last step.

Gate order and biases are PyTorch's: LSTM ``i, f, g, o``; GRU ``r, z, n`` with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``; RNN ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``.
These ops are once-differentiable (their backward is array code); gradients are verified
against PyTorch and by finite differences in tests/rnn/.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import engine
from ..tensor import Tensor
from ._util import ShapeError, describe
from .function import Function

__all__ = ["GRULayer", "LSTMLayer", "RNNLayer", "gru_layer", "lstm_layer", "rnn_layer"]


def _steps(batch_sizes: Sequence[int], reverse: bool) -> list:
    """``(t, start, stop, batch)``: each time step's row range, in the order they are computed."""
    steps, start = [], 0
    for t, bs in enumerate(batch_sizes):
        steps.append((t, start, start + bs, bs))
        start += bs
    return steps[::-1] if reverse else steps


class _RecurrentLayer(Function):
    """What the three layer ops share: the schedule, whether to save, the gradient record."""

    once_differentiable = True
    saves_inputs = True
    weight_slot = 2  # position of W_hh among the inputs (bias right after it)

    def __init__(self, batch_sizes: Sequence[int], reverse: bool = False, has_bias: bool = True,
                 record: dict | None = None):
        self.batch_sizes = tuple(int(b) for b in batch_sizes)
        self.reverse = bool(reverse)
        self.has_bias = has_bias
        self.record = record
        self.saving = False

    def __call__(self, *inputs):
        # Saving the per-step activations costs memory and copies: only when a backward can come.
        self.saving = engine.GRAD_ENABLED and any(
            isinstance(x, Tensor) and x.requires_grad for x in inputs)
        return super().__call__(*inputs)

    def _flat_gates(self, gx):
        self.gx_shape = gx.shape
        return gx.reshape(-1, gx.shape[-1])

    def _outputs(self, out, *states):
        return (out.reshape(self.gx_shape[:-1] + (out.shape[-1],)),) + states

    def _grad_rows(self, grad_out) -> list:
        """dL/d(out) of each time step as a ``(batch_t, H)`` array, without copying: the
        gradient often arrives as a transposed view (batch_first), which a reshape would copy."""
        g = grad_out._data
        if g.ndim == 3:
            return list(g)
        return [g[start:stop] for _, start, stop, _ in _steps(self.batch_sizes, False)]

    def _keep_record(self, dh_total):
        if dh_total is not None:
            self.record["grad_hidden"] = Tensor._make(
                dh_total.reshape(self.gx_shape[:-1] + (dh_total.shape[-1],)))

    def _dense(self) -> bool:
        """Every step has the whole batch (a padded-free dense input)."""
        return len(set(self.batch_sizes)) <= 1

    def _recurrent_weight_grad(self, dz, hidden: int, h0) -> np.ndarray:
        """dL/dW_hh = sum over steps of dz_t^T h_{t-1}, as one GEMM over all rows.

        Dense input: h_{t-1} is the previous step's output rows (no copy was saved); the
        first step's term uses h0 and is skipped when h0 is zero (``h0=None``). Packed input:
        forward saved h_{t-1} per row in ``h_prev_all``.
        """
        if self.h_prev_all is not None:
            return dz.T @ self.h_prev_all
        out = self.saved_output(0)._data.reshape(-1, hidden)
        batch = self.batch_sizes[0] if self.batch_sizes else 0
        if self.reverse:
            grad = dz[:-batch].T @ out[batch:]
            first = dz[-batch:]
        else:
            grad = dz[batch:].T @ out[:-batch]
            first = dz[:batch]
        if h0 is not None:
            grad += first.T @ h0
        return grad

    def _weight(self) -> np.ndarray:
        """W_hh as forward used it (version-checked: an in-place update before backward raises)."""
        return self.saved_inputs()[self.weight_slot]._data

    def _bias_grad(self, dz) -> tuple:
        """dL/db_hh = dL/dz summed over all steps, if there is a bias and it needs a gradient."""
        if not self.has_bias:
            return ()
        if self.next_functions[self.weight_slot + 1] is None:
            return (None,)
        return (Tensor._make(dz.sum(axis=0)),)


class LSTMLayer(_RecurrentLayer):
    """LSTM over a sequence: ``(gx, h0, c0, W_hh[, b_hh]) -> (out, h_n, c_n)``.

    Per step (sigma = logistic function, * = elementwise):
    ``z = gx_t + h W_hh^T + b_hh``, ``i, f, g, o = sigma(z_i), sigma(z_f), tanh(z_g), sigma(z_o)``,
    ``c' = f * c + i * g``, ``h' = o * tanh(c')``.

    Backward, with dh = dL/dh' (from the output and the next step) and dc likewise:
    ``dc += dh * o * (1 - tanh(c')^2)``; ``dz_i = dc * g * i(1-i)``, ``dz_f = dc * c * f(1-f)``,
    ``dz_g = dc * i * (1-g^2)``, ``dz_o = dh * tanh(c') * o(1-o)``; then ``dc_prev = dc * f``,
    ``dh_prev = dz @ W_hh``. The factors that do not involve dh or dc are computed in the
    forward step, while its small arrays are still in cache, so a backward step is five
    elementwise kernels and one GEMM.
    """

    weight_slot = 3
    saves_output = True

    def forward(self, gx, h0, c0, w_hh, b_hh=None):
        gx = self._flat_gates(gx)
        dtype, hidden = gx.dtype, w_hh.shape[1]
        n_rows, batch = gx.shape[0], h0.shape[0]
        # sigma(x) = (1 + tanh(x/2)) / 2: halving the i, f, o pre-activations lets ONE tanh
        # call activate all four gates, followed by one affine map; and then
        # sigma' = sigma(1 - sigma) = (1 - t^2) / 4 with t the tanh value, tanh' = 1 - t^2.
        half = np.full(4 * hidden, 0.5, dtype=dtype)
        half[2 * hidden:3 * hidden] = 1.0
        w_scaled_t = (w_hh * half[:, None]).T
        if b_hh is not None:
            gx = gx + b_hh  # (the modules fold b_hh into the input GEMM's bias instead)
        # Constants tiled to the batch: a full-shape operand is cheaper than a broadcast one.
        half = np.tile(half, (batch, 1))
        shift = (half == 0.5) * dtype.type(0.5)
        quarter, minus_quarter = half * half, -(half * half)
        self.h0_is_zero = not h0.any()  # then step 0 needs no recurrent GEMM (nor its dW term)
        out = np.empty((n_rows, hidden), dtype=dtype)
        h, c = h0.astype(dtype, copy=True), c0.astype(dtype, copy=True)
        z = np.empty((batch, 4 * hidden), dtype=dtype)
        recurrent, product, tc = np.empty_like(z), np.empty_like(h), np.empty_like(h)
        saving = self.saving
        if saving:
            factors = np.empty((n_rows, 4, hidden), dtype=dtype)  # see the class docstring
            cell_factor = np.empty((n_rows, hidden), dtype=dtype)  # o * (1 - tanh(c')^2)
            forget = np.empty((n_rows, hidden), dtype=dtype)
            h_prev_all = None if self._dense() else np.empty((n_rows, hidden), dtype=dtype)
        for k, (t, start, stop, bs) in enumerate(_steps(self.batch_sizes, self.reverse)):
            zs, hs, cs, tcs = z[:bs], h[:bs], c[:bs], tc[:bs]
            np.multiply(gx[start:stop], half[:bs], out=zs)
            if k or not self.h0_is_zero:
                np.matmul(hs, w_scaled_t, out=recurrent[:bs])
                zs += recurrent[:bs]
            np.tanh(zs, out=zs)
            if saving:
                fac = factors[start:stop]
                d = fac.reshape(bs, 4 * hidden)
                np.multiply(zs, zs, out=d)         # d = sigma' or tanh' of every gate
                d *= minus_quarter[:bs]
                d += quarter[:bs]
            zs *= half[:bs]
            zs += shift[:bs]
            z4 = zs.reshape(bs, 4, hidden)
            i, f, g, o = z4[:, 0], z4[:, 1], z4[:, 2], z4[:, 3]
            if saving:
                fac[:, 0] *= g
                fac[:, 1] *= cs
                fac[:, 2] *= i
                forget[start:stop] = f
                if h_prev_all is not None:
                    h_prev_all[start:stop] = hs
            cs *= f
            np.multiply(i, g, out=product[:bs])
            cs += product[:bs]
            np.tanh(cs, out=tcs)
            hn = out[start:stop]
            np.multiply(o, tcs, out=hn)
            hs[...] = hn
            if saving:
                fac[:, 3] *= tcs
                cf = cell_factor[start:stop]
                np.multiply(tcs, tcs, out=cf)
                np.subtract(1, cf, out=cf)
                cf *= o
        if saving:
            self.factors, self.cell_factor, self.forget = factors, cell_factor, forget
            self.h_prev_all = h_prev_all
        return self._outputs(out, h, c)

    def backward(self, grad_out, grad_hn, grad_cn):
        factors, cell_factor, forget = self.factors, self.cell_factor, self.forget
        hidden, dtype = forget.shape[1], forget.dtype
        w_hh = self._weight()
        need = self.next_functions
        need_state = need[1] is not None or need[2] is not None
        dout = self._grad_rows(grad_out)
        dh = np.array(grad_hn._data, dtype=dtype, copy=True)
        dc = np.array(grad_cn._data, dtype=dtype, copy=True)
        dz = np.empty((forget.shape[0], 4 * hidden), dtype=dtype)
        dh_total = np.empty_like(forget) if self.record is not None else None
        product = np.empty_like(dh)
        steps = _steps(self.batch_sizes, self.reverse)[::-1]
        for k, (t, start, stop, bs) in enumerate(steps):
            dhs, dcs = dh[:bs], dc[:bs]
            dhs += dout[t]
            if dh_total is not None:
                dh_total[start:stop] = dhs
            dz4 = dz[start:stop].reshape(bs, 4, hidden)
            np.multiply(dhs, factors[start:stop, 3], out=dz4[:, 3])
            np.multiply(dhs, cell_factor[start:stop], out=product[:bs])
            dcs += product[:bs]
            np.multiply(dcs[:, None, :], factors[start:stop, :3], out=dz4[:, :3])
            if k == len(steps) - 1 and not need_state:
                break  # dL/dh0, dL/dc0 not wanted: skip the last GEMM
            dcs *= forget[start:stop]
            np.matmul(dz[start:stop], w_hh, out=dhs)
        self._keep_record(dh_total)
        grad_w = None
        if need[3] is not None:
            h0 = None if self.h0_is_zero else self.saved_inputs()[1]._data
            grad_w = Tensor._make(self._recurrent_weight_grad(dz, hidden, h0))
        return ((Tensor._make(dz.reshape(self.gx_shape)),
                 Tensor._make(dh) if need[1] is not None else None,
                 Tensor._make(dc) if need[2] is not None else None,
                 grad_w) + self._bias_grad(dz))


class GRULayer(_RecurrentLayer):
    """GRU over a sequence: ``(gx, h0, W_hh[, b_hh]) -> (out, h_n)``, ``gx = x W_ih^T + b_ih``.

    Per step: ``a = h W_hh^T + b_hh``, ``r = sigma(gx_r + a_r)``, ``z = sigma(gx_z + a_z)``,
    ``n = tanh(gx_n + r * a_n)``, ``h' = (1 - z) * n + z * h``.
    """

    def forward(self, gx, h0, w_hh, b_hh=None):
        gx = self._flat_gates(gx)
        dtype, hidden = gx.dtype, w_hh.shape[1]
        two = 2 * hidden
        # Halve the r, z columns so that sigma = (1 + tanh(x/2)) / 2 is one tanh and an affine map.
        half = np.ones(3 * hidden, dtype=dtype)
        half[:two] = 0.5
        w_scaled_t = (w_hh * half[:, None]).T
        b_scaled = b_hh * half if b_hh is not None else None
        gx_scaled = gx * half
        n_rows = gx.shape[0]
        out = np.empty((n_rows, hidden), dtype=dtype)
        acts = np.empty((n_rows, 3 * hidden), dtype=dtype)   # r, z, n
        hidden_part = np.empty((n_rows, 3 * hidden), dtype=dtype)  # a = h W_hh^T + b_hh
        h_prev_all = np.empty((n_rows, hidden), dtype=dtype) if self.saving else None
        h = h0.astype(dtype, copy=True)
        for t, start, stop, bs in _steps(self.batch_sizes, self.reverse):
            hp = h[:bs]
            if self.saving:
                h_prev_all[start:stop] = hp
            a = hidden_part[start:stop]
            np.matmul(hp, w_scaled_t, out=a)
            if b_scaled is not None:
                a += b_scaled
            act = acts[start:stop]
            rz = act[:, :two]
            np.add(gx_scaled[start:stop, :two], a[:, :two], out=rz)
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            n = act[:, two:]
            np.multiply(act[:, :hidden], a[:, two:], out=n)
            n += gx_scaled[start:stop, two:]
            np.tanh(n, out=n)
            hn = out[start:stop]
            np.subtract(hp, n, out=hn)       # h' = n + z * (h - n)
            hn *= act[:, hidden:two]
            hn += n
            hp[...] = hn
        if self.saving:
            self.acts, self.hidden_n, self.h_prev_all = acts, hidden_part[:, two:], h_prev_all
        return self._outputs(out, h)

    def backward(self, grad_out, grad_hn):
        acts, hidden = self.acts, self.h_prev_all.shape[1]
        two, dtype = 2 * hidden, acts.dtype
        r, z, n = acts[:, :hidden], acts[:, hidden:two], acts[:, two:]
        # dz_z = dh*(h_prev-n)*z(1-z), dz_n = dh*(1-z)(1-n^2), dz_r = dz_n*a_n*r(1-r),
        # and the hidden-side n gradient is dz_n * r; the direct path gives dh_prev += dh * z.
        zn_factor = np.empty((acts.shape[0], 2, hidden), dtype=dtype)
        np.multiply(self.h_prev_all - n, z * (1 - z), out=zn_factor[:, 0])
        np.multiply(1 - z, 1 - n * n, out=zn_factor[:, 1])
        r_factor = self.hidden_n * (r * (1 - r))
        w_hh = self._weight()
        dout = self._grad_rows(grad_out)
        dh = np.array(grad_hn._data, dtype=dtype, copy=True)
        dgx = np.empty_like(acts)
        dgh = np.empty_like(acts)
        dh_total = np.empty((acts.shape[0], hidden), dtype) if self.record is not None else None
        direct = np.empty_like(dh)
        for t, start, stop, bs in reversed(_steps(self.batch_sizes, self.reverse)):
            dhs = dh[:bs]
            dhs += dout[t]
            if dh_total is not None:
                dh_total[start:stop] = dhs
            d3 = dgx[start:stop].reshape(bs, 3, hidden)
            np.multiply(dhs[:, None, :], zn_factor[start:stop], out=d3[:, 1:])
            np.multiply(d3[:, 2], r_factor[start:stop], out=d3[:, 0])
            dghs = dgh[start:stop]
            dghs[:, :two] = dgx[start:stop, :two]
            np.multiply(d3[:, 2], r[start:stop], out=dghs[:, two:])
            np.multiply(dhs, z[start:stop], out=direct[:bs])
            np.matmul(dghs, w_hh, out=dhs)
            dhs += direct[:bs]
        self._keep_record(dh_total)
        need = self.next_functions
        grad_w = Tensor._make(dgh.T @ self.h_prev_all) if need[2] is not None else None
        return ((Tensor._make(dgx.reshape(self.gx_shape)), Tensor._make(dh), grad_w)
                + self._bias_grad(dgh))



class RNNLayer(_RecurrentLayer):
    """Elman RNN over a sequence: ``(gx, h0, W_hh[, b_hh]) -> (out, h_n)``,
    ``h' = act(gx_t + h W_hh^T + b_hh)`` with act tanh or relu."""

    def __init__(self, batch_sizes, reverse=False, has_bias=True, record=None,
                 nonlinearity: str = "tanh"):
        super().__init__(batch_sizes, reverse, has_bias, record)
        self.nonlinearity = nonlinearity

    def forward(self, gx, h0, w_hh, b_hh=None):
        gx = self._flat_gates(gx)
        dtype, hidden = gx.dtype, w_hh.shape[1]
        pre = gx + b_hh if b_hh is not None else gx
        w_t = w_hh.T
        out = np.empty((gx.shape[0], hidden), dtype=dtype)
        h_prev_all = np.empty_like(out) if self.saving else None
        h = h0.astype(dtype, copy=True)
        recurrent = np.empty_like(h)
        relu = self.nonlinearity == "relu"
        for t, start, stop, bs in _steps(self.batch_sizes, self.reverse):
            hp = h[:bs]
            if self.saving:
                h_prev_all[start:stop] = hp
            np.matmul(hp, w_t, out=recurrent[:bs])
            hn = out[start:stop]
            np.add(pre[start:stop], recurrent[:bs], out=hn)
            if relu:
                np.maximum(hn, 0, out=hn)
            else:
                np.tanh(hn, out=hn)
            hp[...] = hn
        if self.saving:
            self.out, self.h_prev_all = out, h_prev_all
        return self._outputs(out, h)

    def backward(self, grad_out, grad_hn):
        out = self.out
        # d act / d pre: 1 - h^2 for tanh, [h > 0] for relu (PyTorch's convention at 0).
        deriv = (out > 0).astype(out.dtype) if self.nonlinearity == "relu" else 1 - out * out
        w_hh = self._weight()
        dout = self._grad_rows(grad_out)
        dh = np.array(grad_hn._data, dtype=out.dtype, copy=True)
        dpre = np.empty_like(out)
        dh_total = np.empty_like(out) if self.record is not None else None
        for t, start, stop, bs in reversed(_steps(self.batch_sizes, self.reverse)):
            dhs = dh[:bs]
            dhs += dout[t]
            if dh_total is not None:
                dh_total[start:stop] = dhs
            np.multiply(dhs, deriv[start:stop], out=dpre[start:stop])
            np.matmul(dpre[start:stop], w_hh, out=dhs)
        self._keep_record(dh_total)
        need = self.next_functions
        grad_w = Tensor._make(dpre.T @ self.h_prev_all) if need[2] is not None else None
        return ((Tensor._make(dpre.reshape(self.gx_shape)), Tensor._make(dh), grad_w)
                + self._bias_grad(dpre))



# -- functional entry points (checked arguments) -----------------------------------------------

def _check(op: str, gx: Tensor, states: Sequence[Tensor], w_hh: Tensor, b_hh, n_gates: int,
           batch_sizes) -> tuple:
    """Validate shapes/dtypes; return the batch sizes of the steps (dense: ``[B] * T``)."""
    hidden = w_hh.shape[1] if w_hh.ndim == 2 else -1
    if w_hh.ndim != 2 or w_hh.shape[0] != n_gates * hidden:
        raise ShapeError(f"{op}: weight_hh must have shape ({n_gates} * hidden, hidden), got "
                         f"{describe(w_hh)}")
    if gx.shape[-1] != n_gates * hidden:
        raise ShapeError(f"{op}: input gates have {gx.shape[-1]} columns, expected "
                         f"{n_gates} * hidden = {n_gates * hidden} (got {describe(gx)})")
    if batch_sizes is None:
        if gx.ndim != 3:
            raise ShapeError(f"{op}: dense input gates must be (seq_len, batch, {n_gates} * "
                             f"hidden), got {describe(gx)}")
        batch_sizes = [gx.shape[1]] * gx.shape[0]
    else:
        batch_sizes = [int(b) for b in (batch_sizes.tolist() if isinstance(batch_sizes, Tensor)
                                        else batch_sizes)]
        if gx.ndim != 2 or sum(batch_sizes) != gx.shape[0]:
            raise ShapeError(f"{op}: packed input gates must be (sum(batch_sizes) = "
                             f"{sum(batch_sizes)}, {n_gates} * hidden), got {describe(gx)}")
        if any(b < a for a, b in zip(batch_sizes[1:], batch_sizes)) or \
                (batch_sizes and batch_sizes[-1] < 1):
            raise ValueError(f"{op}: batch_sizes must be positive and non-increasing, got "
                             f"{batch_sizes}")
    batch = batch_sizes[0] if batch_sizes else 0
    for name, s in zip(("h0", "c0"), states):
        if tuple(s.shape) != (batch, hidden):
            raise ShapeError(f"{op}: {name} must have shape (batch={batch}, hidden={hidden}), "
                             f"got {describe(s)}")
    tensors = [gx, *states, w_hh] + ([b_hh] if b_hh is not None else [])
    if b_hh is not None and tuple(b_hh.shape) != (n_gates * hidden,):
        raise ShapeError(f"{op}: bias_hh must have shape ({n_gates * hidden},), got "
                         f"{describe(b_hh)}")
    dtypes = {t._data.dtype for t in tensors}
    if len(dtypes) != 1 or next(iter(dtypes)).kind != "f":
        raise TypeError(f"{op}: expected floating tensors of one dtype, got "
                        f"{', '.join(describe(t) for t in tensors)}")
    return batch_sizes


def lstm_layer(gx: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor | None = None,
               batch_sizes=None, reverse: bool = False, record: dict | None = None) -> tuple:
    """Run an LSTM over a whole sequence as one fused op.

    Args:
        gx: input part of the gates, ``x @ W_ih^T + b_ih``: ``(T, B, 4H)``, or packed
            ``(sum(batch_sizes), 4H)`` when ``batch_sizes`` is given.
        h0, c0: initial states ``(B, H)``.
        w_hh: ``(4H, H)``, gates i, f, g, o; b_hh: ``(4H,)`` or None.
        batch_sizes: rows per step of packed input (non-increasing), or None for dense.
        reverse: run from the last step to the first (the backward direction of a BiLSTM).
        record: a dict; after backward, ``record["grad_hidden"]`` holds the *total* dL/dh_t of
            every step (through the output and the recurrence), laid out like ``out``.

    Returns:
        ``(out, h_n, c_n)``: ``out`` has gx's layout with ``H`` columns.
    """
    sizes = _check("lstm_layer", gx, (h0, c0), w_hh, b_hh, 4, batch_sizes)
    args = (gx, h0, c0, w_hh) + ((b_hh,) if b_hh is not None else ())
    return LSTMLayer(sizes, reverse, b_hh is not None, record)(*args)


def gru_layer(gx: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None = None,
              batch_sizes=None, reverse: bool = False, record: dict | None = None) -> tuple:
    """Run a GRU over a whole sequence as one fused op (see :func:`lstm_layer`; gates r, z, n,
    ``gx = x @ W_ih^T + b_ih`` of width 3H). Returns ``(out, h_n)``."""
    sizes = _check("gru_layer", gx, (h0,), w_hh, b_hh, 3, batch_sizes)
    args = (gx, h0, w_hh) + ((b_hh,) if b_hh is not None else ())
    return GRULayer(sizes, reverse, b_hh is not None, record)(*args)


def rnn_layer(gx: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None = None,
              batch_sizes=None, reverse: bool = False, record: dict | None = None,
              nonlinearity: str = "tanh") -> tuple:
    """Run an Elman RNN (``tanh`` or ``relu``) over a whole sequence as one fused op (see
    :func:`lstm_layer`; ``gx`` of width H). Returns ``(out, h_n)``."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_layer: unknown nonlinearity {nonlinearity!r} (expected 'tanh' "
                         "or 'relu')")
    sizes = _check("rnn_layer", gx, (h0,), w_hh, b_hh, 1, batch_sizes)
    args = (gx, h0, w_hh) + ((b_hh,) if b_hh is not None else ())
    return RNNLayer(sizes, reverse, b_hh is not None, record, nonlinearity)(*args)
