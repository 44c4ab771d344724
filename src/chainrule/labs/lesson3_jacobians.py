"""Lesson 3: backpropagation as a product of Jacobians.

For ``y = B(A(x))`` the chain rule says ``dy/dx = J_B(A(x)) . J_A(x)``: a product of
matrices of shapes ``[len(y), len(h)]`` and ``[len(h), len(x)]``, giving ``[len(y), len(x)]``.
Backpropagation never forms that product: it starts from ``dL/dy`` (a row vector) and
multiplies from the left, one vector-Jacobian product per layer,
``dL/dh = dL/dy . J_B`` then ``dL/dx = dL/dh . J_A``, which is the same as ``dL/dy . J``.

The lesson computes the Jacobian of two small networks (two affine layers, without and with
a tanh between them) three ways and checks they agree to 1e-6 in float64 (in fact ~1e-10):

1. ``chainrule.autograd.functional.jacobian`` (one backward pass per output element);
2. the explicit product of the layers' Jacobians, written down by hand
   (a linear layer's Jacobian is its weight matrix, tanh's is ``diag(1 - tanh(z)^2)``);
3. central finite differences, column by column.

Then it checks ``dL/dx = dL/dy . J`` against ``x.grad`` from ``loss.backward()``, and prints
the backprop trace of the same network (``chainrule.autograd.trace``): each node backward
visits, with its local Jacobian's shape, and their product.

Example:
    >>> from chainrule.labs import lesson3_jacobians as lesson
    >>> result = lesson.run()                       # doctest: +SKIP
    >>> result.numbers["tanh_max_error_fd"] < 1e-6  # doctest: +SKIP
    True
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

import chainrule
from chainrule import nn
from chainrule.autograd.functional import jacobian
from chainrule.autograd.trace import trace as backprop_trace

from .report import LessonResult, Table, render_figure

KEY = "jacobians"
TITLE = "Backpropagation as a product of Jacobians"

SIZES = (4, 3, 2)   # len(x), len(h), len(y)


class TwoLayers(nn.Module):
    """``y = B(act(A(x)))`` with ``A: 4 -> 3`` and ``B: 3 -> 2``; ``act`` is tanh or identity."""

    def __init__(self, nonlinearity: bool, seed: int = 0):
        super().__init__()
        chainrule.manual_seed(seed)
        self.A = nn.Linear(SIZES[0], SIZES[1], dtype=chainrule.float64)
        self.B = nn.Linear(SIZES[1], SIZES[2], dtype=chainrule.float64)
        self.nonlinearity = nonlinearity

    def hidden(self, x: chainrule.Tensor) -> chainrule.Tensor:
        z = self.A(x)
        return chainrule.tanh(z) if self.nonlinearity else z

    def forward(self, x: chainrule.Tensor) -> chainrule.Tensor:
        return self.B(self.hidden(x))


def layer_jacobians(net: TwoLayers, x: chainrule.Tensor) -> list[tuple[str, chainrule.Tensor]]:
    """The layers' Jacobians at ``x``, by hand, output layer first: ``[(name, J), ...]``."""
    with chainrule.no_grad():
        factors = [("J_B = W_B", net.B.weight.detach().clone())]
        if net.nonlinearity:
            z = net.A(x)
            slope = 1 - chainrule.tanh(z) ** 2                 # tanh'(z), one per hidden unit
            factors.append(("J_tanh = diag(1 - tanh(z)^2)",
                            chainrule.eye(z.shape[0], dtype=z.dtype) * slope))
        factors.append(("J_A = W_A", net.A.weight.detach().clone()))
    return factors


def finite_difference_jacobian(f: Callable, x: chainrule.Tensor,
                               eps: float = 1e-6) -> chainrule.Tensor:
    """Central differences: column j is ``(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)``."""
    columns = []
    with chainrule.no_grad():
        for j in range(x.shape[0]):
            step = chainrule.zeros_like(x)
            step[j] = eps
            columns.append((f(x + step) - f(x - step)) / (2 * eps))
    return chainrule.stack(columns, dim=1)


def _max_abs(a: chainrule.Tensor, b: chainrule.Tensor) -> float:
    return (a - b).abs().max().item()


def study(nonlinearity: bool, seed: int = 0) -> dict:
    """Jacobians three ways, ``dL/dx`` two ways and the backprop trace for one network."""
    net = TwoLayers(nonlinearity, seed)
    gen = chainrule.Generator().manual_seed(seed + 1)
    x = chainrule.randn(SIZES[0], generator=gen, dtype=chainrule.float64)
    target = chainrule.randn(SIZES[2], generator=gen, dtype=chainrule.float64)

    J_autograd = jacobian(net, x)
    factors = layer_jacobians(net, x)
    J_product = factors[0][1]
    for _name, J in factors[1:]:
        J_product = J_product @ J
    J_fd = finite_difference_jacobian(net, x)

    # L = ||y - target||^2 / 2, so dL/dy = y - target.
    x_leaf = x.clone().requires_grad_(True)
    y = net(x_leaf)
    loss = 0.5 * ((y - target) ** 2).sum()
    grad_y = (y - target).detach()
    loss.backward()
    grad_x_chain = grad_y @ J_autograd                        # dL/dx = dL/dy . J

    # The trace of a backward pass from y (with gradient dL/dy) and its chain of Jacobians.
    x_traced = x.clone().requires_grad_(True)
    names = {"x": x_traced, **dict(net.named_parameters())}
    y_traced = net(x_traced)
    traced = backprop_trace(y_traced, gradient=grad_y, jacobians=True, names=names)
    chain = traced.chain(x_traced)
    J_trace = chain.matrix().reshape(SIZES[2], SIZES[0])

    return {
        "net": net, "x": x, "y": y.detach(), "J_autograd": J_autograd, "J_product": J_product,
        "J_fd": J_fd, "factors": factors, "grad_x_backward": x_leaf.grad,
        "grad_x_chain": grad_x_chain, "grad_y": grad_y, "trace": traced, "chain": chain,
        "J_trace": J_trace,
    }


# -- figure ------------------------------------------------------------------------------------

def _product_figure(s: dict):
    from matplotlib.figure import Figure as MplFigure

    mats = [(name.split(" = ")[0], J.numpy()) for name, J in s["factors"]]
    mats.append(("J = dy/dx", s["J_autograd"].numpy()))
    limit = max(np.abs(m).max() for _n, m in mats)
    fig = MplFigure(figsize=(13, 3.4), layout="constrained")
    widths = [m.shape[1] for _n, m in mats]
    axes = fig.subplots(1, len(mats), gridspec_kw={"width_ratios": widths})
    for k, (ax, (name, m)) in enumerate(zip(axes, mats)):
        image = ax.imshow(m, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(v) > 0.6 * limit else "black")
        ax.set_title(f"{name}\n[{m.shape[0]} x {m.shape[1]}]", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        if k < len(mats) - 2:
            ax.text(1.12, 0.5, "·", transform=ax.transAxes, fontsize=26, ha="center",
                    va="center")
        elif k == len(mats) - 2:
            ax.text(1.12, 0.5, "=", transform=ax.transAxes, fontsize=20, ha="center",
                    va="center")
    fig.colorbar(image, ax=axes, shrink=0.8)
    fig.suptitle("y = B(tanh(A(x))): the Jacobian is the product of the layers' Jacobians",
                 fontsize=12)
    return fig


def _error_figure(errors: dict[str, dict[str, float]]):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(9, 3.4), layout="constrained")
    ax = fig.subplots()
    labels = list(next(iter(errors.values())))
    width = 0.38
    for k, (network, errs) in enumerate(errors.items()):
        values = [max(errs[label], 1e-17) for label in labels]
        ax.bar(np.arange(len(labels)) + (k - 0.5) * width, values, width, label=network)
    ax.set_yscale("log")
    ax.axhline(1e-6, color="red", ls="--", lw=1, label="required: 1e-6")
    ax.set_xticks(np.arange(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("max |difference| (float64)")
    ax.set_title("Every way of computing dy/dx (and dL/dx) agrees", fontsize=11)
    ax.legend(fontsize=8)
    return fig


# -- the lesson --------------------------------------------------------------------------------

def run(quick: bool = False, seed: int = 0,
        progress: Callable[[str], None] | None = None) -> LessonResult:
    """Run lesson 3 and return its numbers, checks, figures and the backprop trace."""
    del quick  # the lesson is small; the quick budget is the full one
    say = progress or (lambda _stage: None)
    result = LessonResult(key=KEY, number=3, title=TITLE)
    numbers = result.numbers
    studies = {}
    errors: dict[str, dict[str, float]] = {}
    rows = []
    for label, nonlinearity in (("affine", False), ("tanh", True)):
        say(f"Jacobians of B({'tanh(' if nonlinearity else ''}A(x){')' if nonlinearity else ''})")
        s = study(nonlinearity, seed)
        studies[label] = s
        J = s["J_autograd"]
        errs = {
            "autograd vs\nlayer product": _max_abs(J, s["J_product"]),
            "autograd vs\nfinite diff.": _max_abs(J, s["J_fd"]),
            "autograd vs\ntrace chain": _max_abs(J, s["J_trace"]),
            "x.grad vs\ndL/dy · J": _max_abs(s["grad_x_backward"], s["grad_x_chain"]),
        }
        errors[label] = errs
        numbers[f"{label}_jacobian_shape"] = list(J.shape)
        numbers[f"{label}_max_error_product"] = errs["autograd vs\nlayer product"]
        numbers[f"{label}_max_error_fd"] = errs["autograd vs\nfinite diff."]
        numbers[f"{label}_max_error_trace"] = errs["autograd vs\ntrace chain"]
        numbers[f"{label}_max_error_grad_x"] = errs["x.grad vs\ndL/dy · J"]
        numbers[f"{label}_jacobian"] = J.tolist()
        numbers[f"{label}_chain"] = str(s["chain"])
        name = "y = B(tanh(A(x)))" if nonlinearity else "y = B(A(x))"
        result.check(f"{name}: the Jacobian has shape [len(y), len(x)] = [2, 4]",
                     list(J.shape) == [SIZES[2], SIZES[0]], f"shape {list(J.shape)}")
        worst = max(errs.values())
        result.check(f"{name}: autograd.functional.jacobian, the product of the layers' "
                     "Jacobians, finite differences and the trace's chain agree to 1e-6",
                     worst < 1e-6, ", ".join(f"{k.replace(chr(10), ' ')}: {v:.1e}"
                                             for k, v in errs.items()))
        result.check(f"{name}: x.grad from backward equals dL/dy · J",
                     errs["x.grad vs\ndL/dy · J"] < 1e-12,
                     f"max |difference| = {errs['x.grad vs' + chr(10) + 'dL/dy · J']:.1e}")
        rows.append([name, f"{list(J.shape)}", *errs.values()])
        result.logs[f"Backprop trace of {name} (backward from y with gradient dL/dy)"] = (
            str(s["trace"]) + "\n\n" + str(s["chain"]))
    result.tables.append(Table("Largest differences between the ways (float64)",
                               ["network", "J shape", "layer product", "finite differences",
                                "trace chain", "x.grad vs dL/dy · J"], rows))
    numbers["max_error_all"] = max(max(e.values()) for e in errors.values())

    tanh_trace = studies["tanh"]["trace"]
    shapes = [(row.op, row.jacobian_shapes) for row in tanh_trace.rows
              if row.op != "AccumulateGrad"]
    numbers["tanh_trace_ops"] = [op for op, _ in shapes]

    say("figures")
    result.figures.append(render_figure(
        _product_figure(studies["tanh"]), "jacobian_product",
        "The Jacobians of the tanh network at one input x: J_B [2 x 3] · J_tanh [3 x 3] · "
        "J_A [3 x 4] = dy/dx [2 x 4]. The tanh's Jacobian is diagonal: each hidden unit's "
        "output depends only on its own input."))
    result.figures.append(render_figure(
        _error_figure(errors), "agreement",
        "Largest absolute difference between autograd's Jacobian and the other ways, and "
        "between x.grad and dL/dy · J (log scale; bars at 1e-17 are exact zeros)."))

    chain_text = str(studies["tanh"]["chain"]).splitlines()[0]
    result.summary = (
        f"The Jacobian of y = B(tanh(A(x))) has shape [len(y), len(x)] = [2, 4]; "
        f"autograd, the product of the layers' Jacobians, finite differences and the "
        f"backprop trace agree to {numbers['max_error_all']:.0e}, and x.grad = dL/dy · J.")
    result.explanation = [
        ("**Three ways to one matrix.** `chainrule.autograd.functional.jacobian(net, x)` "
         "runs one backward pass per output element, each giving one row of `J`. By hand, "
         "a linear layer `Wx + b` has Jacobian `W` and tanh has `diag(1 - tanh(z)^2)`, so "
         "`J = W_B · diag(1 - tanh(z)^2) · W_A` (without the tanh, simply `W_B · W_A`, the "
         "same at every x). Finite differences perturb one input at a time: "
         "`(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)` is column j, accurate to about "
         "`eps^2` plus rounding, here about 1e-10 with eps = 1e-6 in float64."),
        ("**Backprop is a vector-Jacobian product.** With `L = ||y - t||^2 / 2`, "
         "`dL/dy = y - t` is a row vector of length 2, and `dL/dx = dL/dy · J`, a row of "
         "length 4: the same numbers `loss.backward()` leaves in `x.grad`. Backward never "
         "builds `J`: it multiplies the incoming gradient by each local Jacobian in turn, "
         "right to left through the network, which costs one pass however many inputs there "
         "are. This is why reverse mode suits a scalar loss of millions of parameters."),
        (f"**The trace.** `chainrule.autograd.trace(y, gradient=dL/dy, jacobians=True)` "
         f"records every node backward visits with the shape of its local Jacobian "
         f"(rows = elements of its output, columns = elements of each input), and "
         f"`.chain(x)` multiplies them: `{chain_text}`. The table is in the log below."),
    ]
    return result
