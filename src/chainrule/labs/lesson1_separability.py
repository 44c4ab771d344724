"""Lesson 1: linear separability and feature maps.

A single neuron with a threshold draws one hyperplane ``w0 + w . x = 0``. Which labelled point
sets can it get right? The lesson answers three ways and checks that they agree:

- the **perceptron learning rule** (bias as the constant feature ``x0 = 1``): on a mistake,
  ``w <- w + lr (t - y) [1, x]``; it stops making mistakes exactly when the data are separable
  (Novikoff: after at most ``(R / margin)^2`` updates), and cycles forever otherwise;
- **logistic regression** trained with ``nn``: the loss goes to 0 on separable data and
  stays at ``log 2`` on XOR;
- a **certificate** by linear programming (:mod:`chainrule.separability`): a separating
  hyperplane with its margin, or a convex combination of points that proves none exists.

A feature map changes the answer: XOR is not separable in ``(x1, x2)`` but is in
``(x1, x2, x1*x2)``.

Example:
    >>> from chainrule.labs import lesson1_separability as lesson
    >>> log = lesson.train_perceptron(*chainrule.datasets.and_())   # doctest: +SKIP
    >>> result = lesson.run(quick=True)                               # doctest: +SKIP
    >>> result.numbers["xor_separable"]                                # doctest: +SKIP
    False
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.datasets import and_, or_, xor
from chainrule.separability import (
    SeparabilityCertificate,
    classify_with_threshold,
    separability_certificate,
)

from .report import LessonResult, Table, render_figure

KEY = "separability"
TITLE = "Linear separability and feature maps"


def product_feature(X: chainrule.Tensor) -> chainrule.Tensor:
    """The feature map ``(x1, x2) -> (x1, x2, x1*x2)`` that makes XOR separable."""
    return chainrule.cat([X, X[:, :1] * X[:, 1:2]], dim=1)


def three_points() -> tuple[chainrule.Tensor, chainrule.Tensor]:
    """``{(0,0) -> 1, (1,1) -> 1, (1,0) -> 0}``: looks like XOR, but is separable."""
    return (chainrule.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]),
            chainrule.tensor([1, 1, 0]))


@dataclass
class PerceptronRun:
    """What the perceptron rule did: final weights ``[w0, w1, ...]``, a log line per step."""

    weights: list[float]
    converged: bool
    epochs: int
    updates: int
    mistakes_per_epoch: list[int] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def train_perceptron(X: chainrule.Tensor, y: chainrule.Tensor, lr: float = 1.0,
                     max_epochs: int = 20) -> PerceptronRun:
    """Rosenblatt's rule, one point at a time, with the bias as the constant feature x0 = 1.

    The output is ``y = 1 if w . [1, x] > 0 else 0`` (a strict threshold); on a mistake the
    weights move by ``lr * (t - y) * [1, x]``, towards the point if it should have fired and
    away from it if it should not. Training stops after the first epoch with no mistake.

    Args:
        X: points ``(n, k)``; y: 0/1 targets ``(n,)``.
        lr: the step size (any positive value gives the same decisions from w = 0).
        max_epochs: give up after this many passes (non-separable data never converge).

    Returns:
        A :class:`PerceptronRun` with a log line for every presented point.
    """
    inputs = chainrule.cat([chainrule.ones(X.shape[0], 1, dtype=chainrule.float64),
                            X.to(chainrule.float64)], dim=1)          # x0 = 1 carries the bias
    targets = [int(t) for t in y.tolist()]
    w = chainrule.zeros(inputs.shape[1], dtype=chainrule.float64)
    run = PerceptronRun(weights=[], converged=False, epochs=0, updates=0)
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        for i, t in enumerate(targets):
            x = inputs[i]
            activation = float((w * x).sum())
            output = 1 if activation > 0 else 0
            point = ", ".join(f"{v:g}" for v in x.tolist()[1:])
            line = f"epoch {epoch:2d}  x=({point})  t={t}  w.x={activation:+.2f}  y={output}"
            if output != t:
                w = w + lr * (t - output) * x                 # the perceptron rule
                mistakes += 1
                run.updates += 1
                line += "  update -> w=[" + ", ".join(f"{v:+g}" for v in w.tolist()) + "]"
            else:
                line += "  ok"
            run.log.append(line)
        run.mistakes_per_epoch.append(mistakes)
        run.epochs = epoch
        if mistakes == 0:
            run.converged = True
            break
    run.weights = w.tolist()
    return run


@dataclass
class LogisticRun:
    """Logistic regression's final loss, accuracy and weights (bias first)."""

    loss: float
    accuracy: float
    weights: list[float]
    losses: list[float]


def train_logistic_regression(X: chainrule.Tensor, y: chainrule.Tensor, steps: int = 400,
                              lr: float = 0.1, seed: int = 0) -> LogisticRun:
    """One ``nn.Linear`` unit trained with ``BCEWithLogitsLoss`` and Adam, full batch."""
    chainrule.manual_seed(seed)
    model = nn.Linear(X.shape[1], 1)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    targets = y.float().reshape(-1, 1)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(X), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with chainrule.no_grad():
        logits = model(X)
        loss = loss_fn(logits, targets).item()
        accuracy = ((logits > 0).long().reshape(-1) == y).float().mean().item()
    weights = [model.bias.item()] + model.weight.reshape(-1).tolist()
    return LogisticRun(loss=loss, accuracy=accuracy, weights=weights, losses=losses)


# -- figures -----------------------------------------------------------------------------------

_COLORS = {0: "#d9534f", 1: "#2a7ae2"}


def _draw_points(ax, X: np.ndarray, y: np.ndarray) -> None:
    for label in (0, 1):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=120, c=_COLORS[label], marker="o" if label else "s",
                   edgecolors="black", zorder=5, label=f"class {label}")


def _draw_line(ax, w0: float, w1: float, w2: float, style: str, color: str, label: str) -> None:
    """The line w0 + w1 x1 + w2 x2 = 0 over the plot window."""
    xs = np.linspace(-0.5, 1.5, 200)
    if abs(w2) > 1e-12:
        ax.plot(xs, -(w0 + w1 * xs) / w2, style, color=color, label=label, lw=2)
    elif abs(w1) > 1e-12:
        ax.axvline(-w0 / w1, linestyle=style, color=color, label=label, lw=2)


def _input_space_figure(cases, certificates, perceptrons, logistic):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(17, 4.6), layout="constrained")
    axes = fig.subplots(1, len(cases))
    grid = np.linspace(-0.5, 1.5, 241)
    g1, g2 = np.meshgrid(grid, grid)
    for ax, (name, (X, y, fmap, title)) in zip(axes, cases.items()):
        Xn, yn = X.numpy(), y.numpy()
        cert: SeparabilityCertificate = certificates[name]
        if fmap is None and cert.separable:
            w0, (w1, w2) = cert.bias, cert.weight
            _draw_line(ax, w0, w1, w2, "-", "black", "max-margin (LP + QP)")
            for offset, lab in ((1.0, "margin"), (-1.0, None)):
                _draw_line(ax, w0 - offset, w1, w2, ":", "gray", lab)
        elif fmap is not None and cert.separable:
            # The hyperplane in feature space is a curve in input space.
            feats = fmap(chainrule.from_numpy(np.stack([g1.ravel(), g2.ravel()], 1))).numpy()
            values = (feats @ cert.weight + cert.bias).reshape(g1.shape)
            ax.contourf(g1, g2, values, levels=[-1e9, 0, 1e9], colors=["#f6d5d4", "#d5e4f8"],
                        alpha=0.6)
            ax.contour(g1, g2, values, levels=[0], colors="black", linewidths=2)
        else:
            # Draw the certificate: both classes' combinations meet at one point.
            p = cert.common_point
            for i, lam in enumerate(cert.combination):
                if lam > 1e-9:
                    ax.plot([Xn[i, 0], p[0]], [Xn[i, 1], p[1]], "--",
                            color=_COLORS[int(yn[i])], lw=1.5)
            ax.scatter([p[0]], [p[1]], marker="*", s=320, c="gold", edgecolors="black",
                       zorder=6, label="in both convex hulls")
        if fmap is None and cert.separable:  # (on XOR neither method has a line to show)
            perc = perceptrons[name]
            if perc.converged:
                _draw_line(ax, *perc.weights, "--", "#5cb85c", "perceptron")
            _draw_line(ax, *logistic[name].weights, "-.", "#9b59b6", "logistic regression p=0.5")
        _draw_points(ax, Xn, yn)
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(-0.5, 1.5)
        ax.set_aspect("equal")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        verdict = "separable" if cert.separable else "NOT separable"
        ax.set_title(f"{title}\n{verdict}", fontsize=10)
    legend = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="outside lower center", ncol=len(legend),
               fontsize=9)
    fig.suptitle("Decision boundaries in input space", fontsize=13)
    return fig


def _feature_space_figure(X: np.ndarray, y: np.ndarray, cert: SeparabilityCertificate):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(9, 3.6), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[1.5, 1])
    ax = fig.add_subplot(grid[0], projection="3d")
    feats = cert.features
    w, b = cert.weight, cert.bias
    u, v = np.meshgrid(np.linspace(-0.2, 1.2, 12), np.linspace(-0.2, 1.2, 12))
    plane = -(b + w[0] * u + w[1] * v) / w[2]                 # solve w.phi + b = 0 for x1*x2
    ax.plot_surface(u, v, plane, alpha=0.3, color="gray")
    for label in (0, 1):
        pts = feats[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=90, c=_COLORS[label],
                   marker="o" if label else "s", edgecolors="black", depthshade=False,
                   label=f"class {label}")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_zlabel("x1*x2")
    ax.set_zlim(-0.5, 1.5)
    ax.view_init(elev=18, azim=-60)
    ax.set_title("XOR in feature space (x1, x2, x1*x2):\na plane separates the classes",
                 fontsize=10)
    ax.legend(fontsize=8)

    ax2 = fig.add_subplot(grid[1])
    values = feats @ w + b
    order = np.argsort(values)
    ax2.barh(range(len(values)), values[order],
             color=[_COLORS[int(c)] for c in y[order]], edgecolor="black")
    ax2.axvline(0, color="black", lw=1)
    ax2.set_yticks(range(len(values)))
    ax2.set_yticklabels([f"x=({X[i, 0]:g},{X[i, 1]:g})" for i in order])
    ax2.set_xlabel("w . phi(x) + b   (> 0: class 1)")
    ax2.set_title("Signed distance to the plane (times ||w||)", fontsize=10)
    fig.suptitle("Decision boundary in feature space", fontsize=13)
    return fig


def _mistakes_figure(perceptrons: dict[str, PerceptronRun], titles: dict[str, str]):
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.ticker import MaxNLocator

    fig = MplFigure(figsize=(7.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for name, run in perceptrons.items():
        ax.plot(range(1, len(run.mistakes_per_epoch) + 1), run.mistakes_per_epoch, "o-",
                label=f"{titles[name]} ({'converged' if run.converged else 'never converges'})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes (weight updates)")
    ax.set_title("Perceptron rule: mistakes per pass over the data")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


# -- the lesson --------------------------------------------------------------------------------

def run(quick: bool = False, seed: int = 0,
        progress: Callable[[str], None] | None = None) -> LessonResult:
    """Run lesson 1 and return its numbers, checks, figures and logs."""
    say = progress or (lambda _stage: None)
    result = LessonResult(key=KEY, number=1, title=TITLE)
    numbers = result.numbers

    X_xor, y_xor = xor()
    cases = {
        "and": (*and_(), None, "AND"),
        "or": (*or_(), None, "OR"),
        "xor": (X_xor, y_xor, None, "XOR"),
        "three_points": (*three_points(), None, "{(0,0)->1, (1,1)->1, (1,0)->0}"),
        "xor_product": (X_xor, y_xor, product_feature, "XOR with feature x1*x2"),
    }
    expected = {"and": True, "or": True, "xor": False, "three_points": True,
                "xor_product": True}

    say("separability certificates (linear programming)")
    cases_cert: dict[str, SeparabilityCertificate] = {}
    rows = []
    for name, (X, y, fmap, title) in cases.items():
        cert = separability_certificate(X, y, feature_map=fmap)
        cases_cert[name] = cert
        names = ["x1", "x2", "x1*x2"][: cert.features.shape[1]]
        numbers[f"{name}_separable"] = cert.separable
        numbers[f"{name}_certificate_verified"] = cert.verify()
        if cert.separable:
            numbers[f"{name}_margin"] = cert.margin
            numbers[f"{name}_weights"] = [cert.bias] + cert.weight.tolist()
            evidence = "w = [" + ", ".join(f"{v:.3g}" for v in [cert.bias, *cert.weight]) + \
                f"], margin {cert.margin:.4f}"
        else:
            numbers[f"{name}_combination"] = cert.combination.tolist()
            numbers[f"{name}_common_point"] = cert.common_point.tolist()
            evidence = "lambda = [" + ", ".join(f"{v:.3g}" for v in cert.combination) + \
                "], common point (" + ", ".join(f"{v:.3g}" for v in cert.common_point) + ")"
        rows.append([title, "yes" if cert.separable else "no", evidence,
                     "yes" if cert.verify() else "NO"])
        result.check(f"{title}: {'separable' if expected[name] else 'not separable'}, "
                     f"and the certificate re-checks by plain arithmetic",
                     cert.separable == expected[name] and cert.verify(),
                     cert.explain(names))
    result.tables.append(Table("Separability certificates (bias w0 first)",
                               ["data", "separable", "certificate", "verified"], rows))

    # The three points: a rule with a strict threshold, as the question states it.
    X3, y3 = three_points()
    strict = classify_with_threshold(X3, [1.0, -1.0, 1.0], strict=True)
    non_strict = classify_with_threshold(X3, [1.0, -1.0, 1.0], strict=False)
    numbers["three_points_rule_values"] = (1.0 - X3[:, 0] + X3[:, 1]).tolist()
    numbers["three_points_strict_rule_correct"] = bool((strict == y3.numpy()).all())
    result.check("w0=1, w1=-1, w2=1 classifies the three points with the strict threshold "
                 "w.[1,x] > 0", numbers["three_points_strict_rule_correct"],
                 f"w.[1,x] = {numbers['three_points_rule_values']} for labels "
                 f"{y3.tolist()}; with >= instead of > the point (1,0) would get "
                 f"{int(non_strict[2])}")

    say("perceptron rule")
    perceptrons: dict[str, PerceptronRun] = {}
    for name, (X, y, fmap, title) in cases.items():
        inputs = fmap(X) if fmap is not None else X
        perc = train_perceptron(inputs, y, max_epochs=20)
        perceptrons[name] = perc
        numbers[f"perceptron_{name}_converged"] = perc.converged
        numbers[f"perceptron_{name}_updates"] = perc.updates
        result.logs[f"Perceptron log: {title}"] = "\n".join(
            perc.log + [(f"-> {'converged' if perc.converged else 'did not converge'} after "
                        f"{perc.epochs} epochs, {perc.updates} updates, w = {perc.weights}")])
    agree = all(perceptrons[n].converged == cases_cert[n].separable for n in cases)
    result.check("the perceptron converges exactly on the separable sets (20 epochs)", agree,
                 ", ".join(f"{cases[n][3]}: {'converged' if p.converged else 'cycles'}"
                           for n, p in perceptrons.items()))

    say("logistic regression (nn.Linear + BCEWithLogitsLoss)")
    steps = 150 if quick else 600
    logistic: dict[str, LogisticRun] = {}
    log_rows = []
    for name, (X, y, fmap, title) in cases.items():
        inputs = fmap(X) if fmap is not None else X
        fit = train_logistic_regression(inputs, y, steps=steps, lr=0.1, seed=seed)
        logistic[name] = fit
        numbers[f"logistic_{name}_loss"] = fit.loss
        numbers[f"logistic_{name}_accuracy"] = fit.accuracy
        log_rows.append([title, fit.loss, fit.accuracy, steps])
    result.tables.append(Table("Logistic regression after training (Adam, lr 0.1, full batch)",
                               ["data", "final BCE loss", "accuracy", "steps"], log_rows))
    log2 = float(np.log(2.0))
    result.check("logistic regression reaches 100% on the separable sets",
                 all(logistic[n].accuracy == 1.0 for n in cases if expected[n]),
                 ", ".join(f"{cases[n][3]}: {logistic[n].accuracy:.0%}" for n in cases))
    result.check("on XOR its loss cannot go below log 2 = 0.6931 (the best linear logit is 0)",
                 logistic["xor"].loss >= log2 - 1e-4,
                 f"final loss {logistic['xor'].loss:.4f}")

    say("figures")
    titles = {n: c[3] for n, c in cases.items()}
    result.figures.append(render_figure(
        _input_space_figure(cases, cases_cert, perceptrons, logistic), "input_space",
        "Input space. Solid: the maximum-margin line from the certificate (dotted: its margin); "
        "dashed green: the perceptron's line; dash-dot purple: logistic regression's p = 0.5 "
        "line. On XOR the certificate instead marks the point (0.5, 0.5) that both classes' "
        "convex hulls contain. Right: XOR with the feature x1*x2, whose plane in feature "
        "space is a curve in input space."))
    result.figures.append(render_figure(
        _feature_space_figure(X_xor.numpy(), y_xor.numpy(), cases_cert["xor_product"]),
        "feature_space",
        "Feature space (x1, x2, x1*x2): the point (1,1) is lifted to height 1 and a plane now "
        "separates the classes (left); each point's value of w.phi + b (right)."))
    result.figures.append(render_figure(_mistakes_figure(perceptrons, titles),
                                        "perceptron_mistakes",
                                        "The perceptron rule stops making mistakes on every "
                                        "separable set and keeps cycling on XOR."))

    xor_cert = cases_cert["xor"]
    product = cases_cert["xor_product"]
    plane = f"{product.bias:.3g}" + "".join(
        f" {'+' if w >= 0 else '-'} {abs(w):.3g} {n}"
        for w, n in zip(product.weight, ("x1", "x2", "x1 x2"))) + " = 0"
    result.summary = (
        "AND, OR, the three points and XOR with the feature x1*x2 are linearly separable; XOR "
        "is not, and the linear program returns the proof: (0,1) and (1,0) averaged equal "
        "(0,0) and (1,1) averaged, so the point (0.5, 0.5) lies in both classes' convex hulls.")
    result.explanation = [
        ("**Bias as a feature.** Writing the neuron as `y = [w0 + w1 x1 + w2 x2 > 0]` with "
         "the constant input `x0 = 1` makes the bias an ordinary weight, so the perceptron rule "
         "`w <- w + lr (t - y) [1, x]` updates it like the others. The step-by-step logs below "
         "show every presented point, the activation `w.x`, and each update."),
        ("**The certificate.** Separability asks for `w` with `s_i w.[1, phi(x_i)] > 0` for "
         "every point (`s_i = +1` or `-1` by class). A linear program (SciPy's HiGHS) either "
         "finds such a `w`, which we then move to the largest-margin position, or proves none "
         "exists with Gordan's alternative: weights `lambda >= 0` with "
         "`sum_i lambda_i s_i [1, phi(x_i)] = 0`. For XOR it returns lambda = "
         f"{[round(v, 3) for v in xor_cert.combination.tolist()]}: the midpoint of the "
         "positive points equals the midpoint of the negative points. A separating `w` would "
         "be positive on the first average and negative on the second, at the same point: "
         "impossible. The perceptron agrees: it keeps cycling on XOR, and logistic regression's "
         "loss stays at `log 2`."),
        ("**Feature maps.** Adding the feature `x1*x2` lifts (1,1) off the plane of the other "
         f"three points, and the plane `{plane}` (the maximum-margin "
         "one) separates them; in input space this plane is the curve shown on the right of "
         "the first figure. Every problem becomes separable with enough features; the art is "
         "finding few good ones, which is what a hidden layer learns."),
        ("**Looks like XOR, but is separable.** The three points {(0,0)->1, (1,1)->1, "
         "(1,0)->0} share XOR's diagonal, but the proof above needed *both* off-diagonal "
         "points: with (0,1) missing, (1,0) is outside the segment joining (0,0) and (1,1), and "
         "the convex hulls no longer meet. The weights w0=1, w1=-1, w2=1 give "
         f"`w.[1,x]` = {', '.join(f'{v:g}' for v in numbers['three_points_rule_values'])} "
         "on the three points, correct with the strict threshold `> 0` "
         "(the point (1,0) sits exactly on the line, so `>= 0` would fail). Any three points "
         "not on one line can be split in every way by a line (a line's VC dimension in the "
         "plane is 3); XOR needs four points to defeat it."),
    ]
    return result
