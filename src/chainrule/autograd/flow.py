"""Gradient flow: how large the gradients are, layer by layer and time step by time step.

Vanishing and exploding gradients are visible as numbers: after ``loss.backward()``,
``gradient_flow(model)`` lists every parameter's gradient norm (and its ratio to the
parameter's norm, the relative size of an SGD step per unit learning rate); ``plot`` draws
them as bars, one colour per layer, on a log scale.

For a recurrent network, dL/dh_t for every time step t shows how far back the error signal
reaches: ``record_gradients(hidden_states)`` hooks a list of intermediate tensors (the h_t of
an unrolled loop) and, after backward, gives each one's gradient and norm.

Example:
    >>> loss.backward()
    >>> flow = gradient_flow(model)
    >>> print(flow); flow.plot("grad_flow.png")
    >>> hs = []                                  # an unrolled RNN
    >>> for x_t in xs:
    ...     h = cell(x_t, h); hs.append(h)
    >>> rec = record_gradients(hs)
    >>> loss_fn(hs[-1]).backward()
    >>> rec.norms()                              # [|dL/dh_0|, ..., |dL/dh_T-1|]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from .grad_mode import no_grad

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["gradient_flow", "GradientFlow", "ParameterGradient", "record_gradients",
           "GradientRecorder", "time_step_norms"]


def _norm(t: Tensor | None) -> float:
    if t is None:
        return 0.0
    with no_grad():
        t = t.detach()
        return math.sqrt(float((t * t).sum().item()))


@dataclass
class ParameterGradient:
    """One parameter after backward."""

    name: str
    layer: str          # the module path: "encoder.0" for "encoder.0.weight"
    shape: tuple
    grad_norm: float    # |dL/dp| (0.0 when the parameter got no gradient)
    param_norm: float   # |p|
    has_grad: bool

    @property
    def ratio(self) -> float:
        """|dL/dp| / |p|: the relative change an SGD step of learning rate 1 would make."""
        return self.grad_norm / self.param_norm if self.param_norm else math.inf


def _named_parameters(model) -> list[tuple[str, Tensor]]:
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, dict):
        return list(model.items())
    items = list(model)
    if items and isinstance(items[0], tuple):
        return items
    return [(str(i), p) for i, p in enumerate(items)]


class GradientFlow:
    """Per-parameter gradient norms, in the model's order. ``rows`` is the data."""

    def __init__(self, rows: list[ParameterGradient]):
        self.rows = rows

    def by_layer(self) -> dict[str, float]:
        """Layer -> norm of all its parameters' gradients together, in order."""
        squares: dict[str, float] = {}
        for r in self.rows:
            squares[r.layer] = squares.get(r.layer, 0.0) + r.grad_norm ** 2
        return {layer: math.sqrt(s) for layer, s in squares.items()}

    def __str__(self) -> str:
        lines = [f"{'parameter':<30} {'shape':<16} {'|grad|':>11} {'|param|':>11} "
                 f"{'|grad|/|param|':>15}"]
        for r in self.rows:
            grad = f"{r.grad_norm:11.4e}" if r.has_grad else f"{'no grad':>11}"
            lines.append(f"{r.name:<30} {str(list(r.shape)):<16} {grad} {r.param_norm:11.4e} "
                         f"{r.ratio:15.4e}")
        return "\n".join(lines)

    def plot(self, path: str, title: str = "Gradient norm per parameter",
             log: bool = True) -> str:
        """Save a bar chart of the gradient norms (one colour per layer) to ``path``
        (format from the extension: .png, .svg, .pdf). Needs matplotlib. Returns path."""
        from matplotlib.figure import Figure
        names = [r.name for r in self.rows]
        norms = [r.grad_norm for r in self.rows]
        layers = list(dict.fromkeys(r.layer for r in self.rows))
        palette = ["C" + str(i % 10) for i in range(len(layers))]
        colours = [palette[layers.index(r.layer)] for r in self.rows]
        fig = Figure(figsize=(max(6.0, 0.45 * len(names) + 2), 4.5))
        ax = fig.add_subplot()
        ax.bar(range(len(names)), norms, color=colours)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        if log and any(n > 0 for n in norms):
            ax.set_yscale("log")
        ax.set_ylabel("|dL/dp|")
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path)
        return path


def gradient_flow(model) -> GradientFlow:
    """Gradient norms of a model's parameters after backward.

    Args:
        model: a Module (its ``named_parameters()``), a ``{name: tensor}`` dict, a list of
            ``(name, tensor)`` pairs, or a list of tensors.

    Returns:
        A ``GradientFlow``: ``print`` it, read ``.rows`` / ``.by_layer()``, or ``.plot(path)``.
    """
    rows = []
    for name, p in _named_parameters(model):
        layer = name.rsplit(".", 1)[0] if "." in name else ""
        rows.append(ParameterGradient(name, layer, tuple(p.shape), _norm(p.grad), _norm(p),
                                      p.grad is not None))
    return GradientFlow(rows)


class GradientRecorder:
    """Keeps the gradients of chosen intermediate tensors during backward (tensor hooks).

    ``grads[i]`` is dL/d(tensors[i]) (summed over backward passes), None if none reached it.
    Use as a context manager, or call ``remove()``, to take the hooks off.
    """

    def __init__(self, tensors: Sequence[Tensor], names: Iterable[str] | None = None):
        self.tensors_shapes = [tuple(t.shape) for t in tensors]
        self.names = list(names) if names is not None else [str(i) for i in range(len(tensors))]
        self.grads: list[Tensor | None] = [None] * len(tensors)
        self._handles = []
        for i, t in enumerate(tensors):
            if not t.requires_grad:
                raise RuntimeError(f"record_gradients: tensor {i} does not require grad, so no "
                                   "gradient will reach it")
            self._handles.append(t.register_hook(self._keeper(i)))

    def _keeper(self, i: int):
        def keep(grad):
            g = grad.detach()
            self.grads[i] = g if self.grads[i] is None else self.grads[i] + g
        return keep

    def norms(self) -> list[float]:
        """|dL/d tensor_i| for each tensor (0.0 where no gradient arrived)."""
        return [_norm(g) for g in self.grads]

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> "GradientRecorder":
        return self

    def __exit__(self, *exc) -> bool:
        self.remove()
        return False

    def plot(self, path: str, title: str = "Gradient norm per time step",
             xlabel: str = "time step t", ylabel: str = "|dL/dh_t|", log: bool = True) -> str:
        """Save a line plot of the norms against their index (the time step) to ``path``."""
        from matplotlib.figure import Figure
        norms = self.norms()
        fig = Figure(figsize=(6.5, 4))
        ax = fig.add_subplot()
        ax.plot(range(len(norms)), norms, marker="o")
        if log and all(n > 0 for n in norms):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path)
        return path


def record_gradients(tensors: Sequence[Tensor],
                     names: Iterable[str] | None = None) -> GradientRecorder:
    """Hook ``tensors`` (e.g. the hidden states h_t of an unrolled RNN) so that, after
    backward, ``.grads`` and ``.norms()`` give dL/d(each tensor). Call before backward."""
    return GradientRecorder(tensors, names)


def time_step_norms(grad: Tensor, time_dim: int = 0) -> list[float]:
    """Norm of each slice of a stacked gradient along ``time_dim`` (e.g. of an RNN's output
    sequence [T, B, H]: the part of dL/dh_t that enters through the output at step t)."""
    return [_norm(grad.select(time_dim, t)) for t in range(grad.shape[time_dim])]
