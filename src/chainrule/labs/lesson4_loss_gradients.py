"""Lesson 4: which output/loss pairing learns?

Backpropagation starts at the logits ``z``: everything a network learns from an example
flows through ``dL/dz``. The lesson computes it (with autograd and by formula) for four
pairings of output non-linearity and loss, with target ``t`` and output ``y``:

=================  ==============================  ============================================
pairing            loss                            dL/dz
=================  ==============================  ============================================
sigmoid + MSE      ``(y - t)^2 / 2``               ``(y - t) * y * (1 - y)``
sigmoid + BCE      ``-t log y - (1-t) log(1-y)``   ``y - t``
softmax + CE       ``-sum_k t_k log p_k``          ``p - t``
softmax + MSE      ``||p - t||^2 / 2``             ``p * ((p - t) - sum_k (p_k - t_k) p_k)``
=================  ==============================  ============================================

A *confident mistake* (``t = 1``, ``z = -5``: ``y = 0.0067``) gets ``dL/dz = -0.0066`` from
sigmoid + MSE but ``-0.9933`` from sigmoid + BCE: the factor ``y (1 - y)`` of the sigmoid's
derivative, cancelled by the log in cross-entropy, is left standing by the squared error and
silences the neuron exactly when it is most wrong. The lesson then trains the same network
on the digits with each pairing (same seed, same budget) and compares the curves.

Example:
    >>> from chainrule.labs import lesson4_loss_gradients as lesson
    >>> lesson.logit_gradients(chainrule.tensor([-5.0], dtype=chainrule.float64))["sigmoid+MSE"]
    ...                                                             # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import chainrule
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.datasets import DIGITS_TRAIN_SIZE, load_digits

from .report import LessonResult, Table, render_figure

KEY = "loss_gradients"
TITLE = "Which output/loss pairing learns"

PAIRINGS = ("sigmoid+MSE", "sigmoid+BCE", "softmax+CE", "softmax+MSE")
NUM_CLASSES = 10


# -- the losses, as the network sees them: logits z (batch, K), one-hot targets t -------------
# Convention: squared errors carry a factor 1/2, so that dL/dy = y - t; every loss is summed
# over the K outputs and averaged over the batch.

def pairing_loss(pairing: str, z: chainrule.Tensor, onehot: chainrule.Tensor) -> chainrule.Tensor:
    """The loss of ``pairing`` for logits ``z`` and one-hot (or 0/1) targets, batch-averaged.

    Shape:
        ``z``, ``onehot``: ``(N, K)``; returns a scalar.
    """
    n = z.shape[0]
    if pairing == "sigmoid+MSE":
        return 0.5 * F.mse_loss(chainrule.sigmoid(z), onehot, reduction="sum") / n
    if pairing == "sigmoid+BCE":
        return F.binary_cross_entropy_with_logits(z, onehot, reduction="sum") / n
    if pairing == "softmax+CE":
        return F.cross_entropy(z, onehot.argmax(dim=1), reduction="sum") / n
    if pairing == "softmax+MSE":
        return 0.5 * F.mse_loss(F.softmax(z, dim=1), onehot, reduction="sum") / n
    raise ValueError(f"pairing_loss: unknown pairing {pairing!r}; choose from {PAIRINGS}")


def logit_gradients(z: chainrule.Tensor, target: float = 1.0,
                    num_classes: int = NUM_CLASSES) -> dict[str, chainrule.Tensor]:
    """dL/dz of one example as a function of one logit ``z``, by autograd, for each pairing.

    Sigmoid pairings: a single output unit with logit ``z`` and target ``target``. Softmax
    pairings: ``num_classes`` logits, the true class's equal to ``z`` and the others 0; the
    derivative is with respect to the true class's logit.

    Args:
        z: a 1-D tensor of logit values (each value is a separate example).
    """
    z = z.detach().to(chainrule.float64).requires_grad_(True)
    t = chainrule.full_like(z, target)
    onehot = chainrule.zeros(z.shape[0], num_classes, dtype=chainrule.float64)
    onehot[:, 0] = 1.0                                       # class 0 is the true class
    others = chainrule.zeros(z.shape[0], num_classes - 1, dtype=chainrule.float64)

    def logits():
        return chainrule.cat([z.unsqueeze(1), others], dim=1)

    losses = {
        "sigmoid+MSE": lambda: 0.5 * (chainrule.sigmoid(z) - t) ** 2,
        "sigmoid+BCE": lambda: F.binary_cross_entropy_with_logits(z, t, reduction="none"),
        "softmax+CE": lambda: -(onehot * F.log_softmax(logits(), dim=1)).sum(dim=1),
        "softmax+MSE": lambda: 0.5 * ((F.softmax(logits(), dim=1) - onehot) ** 2).sum(dim=1),
    }
    grads = {}
    for name, loss in losses.items():
        # Each example's loss depends only on its own z, so d(sum)/dz_i = dL_i/dz_i.
        (grads[name],) = chainrule.autograd.grad(loss().sum(), z)
    return grads


def logit_gradient_formulas(z: chainrule.Tensor, target: float = 1.0,
                            num_classes: int = NUM_CLASSES) -> dict[str, chainrule.Tensor]:
    """The same derivatives as :func:`logit_gradients`, by the closed-form formulas."""
    z = z.detach().to(chainrule.float64)
    y = chainrule.sigmoid(z)
    # softmax with the true logit z and num_classes - 1 zeros: p_true = e^z / (e^z + K - 1)
    p_true = chainrule.sigmoid(z - np.log(num_classes - 1.0))
    p_other = (1 - p_true) / (num_classes - 1)
    # softmax+MSE: dL/dz_true = p_true ((p_true - 1) - sum_k (p_k - t_k) p_k)
    inner = (p_true - 1) * p_true + (num_classes - 1) * p_other * p_other
    return {
        "sigmoid+MSE": (y - target) * y * (1 - y),
        "sigmoid+BCE": y - target,
        "softmax+CE": p_true - 1,
        "softmax+MSE": p_true * ((p_true - 1) - inner),
    }


# -- training on the digits --------------------------------------------------------------------

@dataclass
class TrainingCurve:
    """Test accuracy and mean ||dL/dz|| (the learning signal at the logits), measured every
    ``eval_every`` steps; ``epochs[i]`` is when measurement i was taken, in epochs."""

    pairing: str
    epochs: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    logit_grad: list[float] = field(default_factory=list)

    def accuracy_after(self, epoch: float) -> float:
        """The test accuracy at the first measurement at or after ``epoch``."""
        for e, a in zip(self.epochs, self.test_accuracy):
            if e >= epoch - 1e-9:
                return a
        return self.test_accuracy[-1]


def digits_tensors() -> tuple[chainrule.Tensor, ...]:
    """The digits as flat vectors in [0, 1]: ``X_train (1437, 64), y_train, X_test (360, 64),
    y_test`` (the fixed split of :class:`chainrule.datasets.Digits`)."""
    pixels, labels = load_digits()
    X = chainrule.from_numpy(pixels) / 16.0
    y = chainrule.from_numpy(labels)
    n = DIGITS_TRAIN_SIZE
    return X[:n], y[:n], X[n:], y[n:]


def make_classifier(seed: int) -> nn.Module:
    """The network every pairing trains: 64 -> 32 (tanh) -> 10 logits, seeded."""
    chainrule.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, NUM_CLASSES))


def train_pairing(pairing: str, epochs: int, seed: int = 0, lr: float = 0.5,
                  batch_size: int = 32, eval_every: int = 15,
                  train_limit: int | None = None) -> TrainingCurve:
    """Train :func:`make_classifier` on the digits with one pairing; plain SGD, same seed."""
    X, y, X_test, y_test = digits_tensors()
    if train_limit is not None:
        X, y = X[:train_limit], y[:train_limit]
    onehot = F.one_hot(y, NUM_CLASSES).float()

    model = make_classifier(seed)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    order = chainrule.Generator().manual_seed(seed)       # same batches for every pairing
    curve = TrainingCurve(pairing)
    steps_per_epoch = -(-X.shape[0] // batch_size)
    step, total, grad_sum, count = 0, 0.0, 0.0, 0
    for _epoch in range(epochs):
        perm = chainrule.randperm(X.shape[0], generator=order)
        for start in range(0, X.shape[0], batch_size):
            idx = perm[start:start + batch_size]
            z = model(X[idx])
            z.retain_grad()
            loss = pairing_loss(pairing, z, onehot[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            total += loss.item()
            # mean over the batch of ||dL_i/dz_i||: undo the 1/N of the batch average
            grad_sum += (z.grad * z.shape[0]).norm(dim=1).mean().item()
            count += 1
            if step % eval_every == 0 or step == epochs * steps_per_epoch:
                with chainrule.no_grad():
                    correct = model(X_test).argmax(dim=1) == y_test
                curve.epochs.append(step / steps_per_epoch)
                curve.test_accuracy.append(correct.float().mean().item())
                curve.train_loss.append(total / count)
                curve.logit_grad.append(grad_sum / count)
                total, grad_sum, count = 0.0, 0.0, 0
    return curve


# -- figures -----------------------------------------------------------------------------------

_STYLE = {"sigmoid+MSE": ("#d9534f", "--"), "sigmoid+BCE": ("#2a7ae2", "-"),
          "softmax+CE": ("#5cb85c", "-"), "softmax+MSE": ("#f0ad4e", "--")}


def _gradient_figure(z: np.ndarray, grads: dict[str, np.ndarray], y5: float, g5: dict):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(13, 4.2), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    for name, g in grads.items():
        color, style = _STYLE[name]
        ax.plot(z, g, style, color=color, lw=2, label=name)
        ax2.semilogy(z, np.abs(g) + 1e-300, style, color=color, lw=2, label=name)
    for name, height in (("sigmoid+MSE", -0.3), ("sigmoid+BCE", -0.7)):
        ax.annotate(f"{name} at z = -5:\ndL/dz = {g5[name]:.4f}", xy=(-5, g5[name]),
                    xytext=(-9.8, height), arrowprops={"arrowstyle": "->"}, fontsize=9)
    ax.axvline(-5, color="gray", lw=1, ls=":")
    ax.set_xlabel("logit z of the true class (t = 1)")
    ax.set_ylabel("dL/dz")
    ax.set_title(f"The gradient at the logit; z = -5 is a confident mistake (y = {y5:.4f})",
                 fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax2.axvline(-5, color="gray", lw=1, ls=":")
    ax2.set_xlabel("logit z of the true class (t = 1)")
    ax2.set_ylabel("|dL/dz| (log scale)")
    ax2.set_title("MSE pairings go silent when confidently wrong (left side)", fontsize=10)
    ax2.set_ylim(1e-6, 3)
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8)
    return fig


def _training_figure(curves: dict[str, TrainingCurve]):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(13, 4.2), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    for name, c in curves.items():
        color, style = _STYLE[name]
        ax.plot(c.epochs, c.test_accuracy, style, color=color, lw=2, label=name)
        ax2.semilogy(c.epochs, c.logit_grad, style, color=color, lw=2, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("Same network, seed, batches and learning rate; only the output/loss differs",
                 fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("mean ||dL/dz|| per example")
    ax2.set_title("The learning signal reaching the logits", fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3, which="both")
    return fig


# -- the lesson --------------------------------------------------------------------------------

def run(quick: bool = False, seed: int = 0,
        progress: Callable[[str], None] | None = None) -> LessonResult:
    """Run lesson 4 and return its numbers, checks and figures."""
    say = progress or (lambda _stage: None)
    result = LessonResult(key=KEY, number=4, title=TITLE)
    numbers = result.numbers

    say("dL/dz by autograd and by formula")
    z = chainrule.linspace(-10.0, 10.0, 401, dtype=chainrule.float64)
    grads = logit_gradients(z)
    formulas = logit_gradient_formulas(z)
    for name in PAIRINGS:
        error = (grads[name] - formulas[name]).abs().max().item()
        numbers[f"{name}_formula_max_error"] = error
        result.check(f"{name}: autograd's dL/dz equals the formula over z in [-10, 10]",
                     error < 1e-12, f"max |autograd - formula| = {error:.2e}")

    z5 = chainrule.tensor([-5.0], dtype=chainrule.float64)
    g5 = {name: g.item() for name, g in logit_gradients(z5).items()}
    y5 = chainrule.sigmoid(z5).item()
    numbers["confident_mistake_y"] = y5
    for name in PAIRINGS:
        numbers[f"confident_mistake_{name}"] = g5[name]
    numbers["sigmoid_mse_grad"] = g5["sigmoid+MSE"]
    numbers["sigmoid_bce_grad"] = g5["sigmoid+BCE"]
    result.check("t = 1, z = -5: y = 0.0067", round(y5, 4) == 0.0067, f"y = {y5:.6f}")
    result.check("sigmoid+MSE (L = (y-t)^2/2): dL/dz = -0.0066",
                 round(g5["sigmoid+MSE"], 4) == -0.0066, f"dL/dz = {g5['sigmoid+MSE']:.6f}")
    result.check("sigmoid+BCE: dL/dz = -0.9933 (150 times larger)",
                 round(g5["sigmoid+BCE"], 4) == -0.9933, f"dL/dz = {g5['sigmoid+BCE']:.6f}")

    say("softmax gradients against autograd")
    gen = chainrule.Generator().manual_seed(seed)
    logits = (3 * chainrule.randn(6, 5, generator=gen, dtype=chainrule.float64)
              ).requires_grad_(True)
    labels = chainrule.randint(0, 5, (6,), generator=gen)
    onehot = F.one_hot(labels, 5).to(chainrule.float64)
    (ce_grad,) = chainrule.autograd.grad(F.cross_entropy(logits, labels, reduction="sum"),
                                         logits)
    p = F.softmax(logits, dim=1).detach()
    ce_error = (ce_grad - (p - onehot)).abs().max().item()
    numbers["softmax_ce_grad_minus_p_minus_t"] = ce_error
    result.check("softmax+CE: dL/dz = p - t (F.cross_entropy, 6 examples x 5 classes)",
                 ce_error < 1e-12, f"max |autograd - (p - t)| = {ce_error:.2e}")
    (mse_grad,) = chainrule.autograd.grad(
        0.5 * F.mse_loss(F.softmax(logits, dim=1), onehot, reduction="sum"), logits)
    inner = ((p - onehot) * p).sum(dim=1, keepdim=True)
    mse_error = (mse_grad - p * ((p - onehot) - inner)).abs().max().item()
    numbers["softmax_mse_formula_error"] = mse_error
    result.check("softmax+MSE: dL/dz_j = p_j ((p_j - t_j) - sum_k (p_k - t_k) p_k)",
                 mse_error < 1e-12, f"max |autograd - formula| = {mse_error:.2e}")

    epochs = 3 if quick else 15
    curves: dict[str, TrainingCurve] = {}
    for name in PAIRINGS:
        say(f"training on the digits with {name} ({epochs} epochs)")
        curves[name] = train_pairing(name, epochs=epochs, seed=seed, eval_every=5 if quick else 15,
                                     train_limit=480 if quick else None)
    rows = []
    for name, c in curves.items():
        auc = float(np.mean(c.test_accuracy))       # the area under the learning curve
        reach = next((e for e, a in zip(c.epochs, c.test_accuracy) if a >= 0.85), None)
        numbers[f"train_{name}_final_accuracy"] = c.test_accuracy[-1]
        numbers[f"train_{name}_mean_accuracy"] = auc
        numbers[f"train_{name}_accuracy_after_1_epoch"] = c.accuracy_after(1.0)
        numbers[f"train_{name}_epochs_to_85"] = reach
        rows.append([name, c.accuracy_after(1.0), c.test_accuracy[-1], auc,
                     round(reach, 2) if reach is not None else f"> {epochs}", c.logit_grad[0]])
    ranking = sorted(PAIRINGS, key=lambda n: -numbers[f"train_{n}_mean_accuracy"])
    numbers["fastest_pairing"] = ranking[0]
    numbers["ranking"] = ranking
    result.tables.append(Table(
        f"Training on the digits: 64-32-10 tanh network, SGD lr 0.5, batch 32, {epochs} epochs",
        ["pairing", "test acc. after 1 epoch", "final test acc.", "mean test acc. (whole run)",
         "epochs to 85%", "mean ||dL/dz|| at the start"], rows))
    mean = {n: numbers[f"train_{n}_mean_accuracy"] for n in PAIRINGS}
    result.check("cross-entropy pairings learn faster than their MSE counterparts",
                 mean["sigmoid+BCE"] > mean["sigmoid+MSE"]
                 and mean["softmax+CE"] > mean["softmax+MSE"],
                 ", ".join(f"{n}: {mean[n]:.3f}" for n in ranking) + " (mean test accuracy)")

    signal = {n: curves[n].logit_grad[0] for n in PAIRINGS}   # mean ||dL/dz|| at the start

    say("figures")
    result.figures.append(render_figure(
        _gradient_figure(z.numpy(), {n: grads[n].numpy() for n in PAIRINGS}, y5, g5),
        "logit_gradients",
        "dL/dz against the true class's logit (t = 1) for the four pairings, by autograd "
        "(the formulas agree to 1e-12). Softmax pairings: 10 classes, the other logits 0."))
    result.figures.append(render_figure(
        _training_figure(curves), "training_curves",
        "The same classifier trained with each pairing from the same initial weights on the "
        "same batches: test accuracy as training goes (left) and the mean size of the gradient at "
        "the logits (right)."))

    result.summary = (
        f"At the confident mistake t = 1, z = -5, sigmoid+MSE passes back dL/dz = "
        f"{g5['sigmoid+MSE']:.4f} and sigmoid+BCE {g5['sigmoid+BCE']:.4f}. Trained on the "
        f"digits with the same budget, {ranking[0]} learns fastest "
        f"(ranking: {', '.join(ranking)}).")
    result.explanation = [
        ("**The chain rule at the output.** For a sigmoid output `y = s(z)`, "
         "`dL/dz = dL/dy * y (1 - y)`. With squared error (convention `L = (y - t)^2 / 2`, so "
         "`dL/dy = y - t`) the factor `y (1 - y)` stays: `dL/dz = (y - t) y (1 - y)`, at most "
         "0.25 in size and nearly 0 whenever the unit is saturated, right or wrong. With "
         "binary cross-entropy `dL/dy = (y - t) / (y (1 - y))` cancels it exactly: "
         "`dL/dz = y - t`, large exactly when the output is badly wrong. Softmax with "
         "cross-entropy does the same for K classes: `dL/dz = p - t`."),
        (f"**The confident mistake.** t = 1, z = -5 gives y = {y5:.4f}; sigmoid+MSE "
         f"returns dL/dz = {g5['sigmoid+MSE']:.4f}, sigmoid+BCE {g5['sigmoid+BCE']:.4f}, "
         f"softmax+CE {g5['softmax+CE']:.4f} and softmax+MSE {g5['softmax+MSE']:.2e} "
         "(softmax pairings with 10 classes, the other logits 0). The unit that is most wrong "
         "learns least under MSE: the left side of the log-scale plot."),
        ("**Training.** The four runs start from identical weights and see identical batches; "
         "only the output non-linearity and the loss differ. The right panel shows the size of "
         "the learning signal that reaches the network: at the start it is "
         f"{signal['softmax+CE'] / signal['softmax+MSE']:.1f} times smaller with softmax+MSE "
         f"than with softmax+CE and {signal['sigmoid+BCE'] / signal['sigmoid+MSE']:.1f} times "
         "smaller with sigmoid+MSE than with sigmoid+BCE (the factor `y (1 - y)` or the softmax "
         "Jacobian shrinks it), so with the same learning rate the MSE pairings move more "
         "slowly. A larger learning rate could compensate in part, but not for saturated, "
         "confidently wrong units, whose gradient goes to zero."),
    ]
    return result
