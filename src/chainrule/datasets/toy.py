"""Small synthetic classification problems for seeing what a network learns.

Every function returns a pair ``(X, y)`` of tensors: ``X`` float32 of shape ``(n, 2)``,
``y`` int64 class labels of shape ``(n,)``. The pair goes straight into
``TensorDataset(X, y)`` or into a full-batch training loop. For losses that want float
targets (``BCEWithLogitsLoss``, ``MSELoss``) use ``y.float()``.

Randomness comes from a private ``numpy.random.Generator`` built from ``seed``, never from a
global generator, so the same seed gives the same points however much other code has drawn
from ``chainrule.manual_seed`` or ``numpy.random`` in between.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule

__all__ = ["LOGIC_GATES", "and_", "logic_gate", "or_", "spirals", "two_moons", "xor"]

# Truth tables over the inputs (0,0), (0,1), (1,0), (1,1), in that order.
LOGIC_GATES: dict[str, tuple[int, int, int, int]] = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "xor": (0, 1, 1, 0),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "xnor": (1, 0, 0, 1),
}


def _as_tensors(
    points: np.ndarray, labels: np.ndarray
) -> tuple[chainrule.Tensor, chainrule.Tensor]:
    return (
        chainrule.from_numpy(np.ascontiguousarray(points, dtype=np.float32)),
        chainrule.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)),
    )


def _check_count(function: str, n: int, minimum: int) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{function}: n must be an integer >= {minimum}, got {n!r}")


def _check_noise(function: str, noise: float) -> None:
    if not noise >= 0.0:  # also rejects NaN
        raise ValueError(f"{function}: noise must be >= 0, got {noise!r}")


def logic_gate(name: str) -> tuple[chainrule.Tensor, chainrule.Tensor]:
    """The four input pairs of a two-input logic gate and its outputs.

    XOR is the classic problem a single linear layer cannot solve (no line separates
    ``{(0,1), (1,0)}`` from ``{(0,0), (1,1)}``) and one hidden layer can.

    Args:
        name: ``"and"``, ``"or"``, ``"xor"``, ``"nand"``, ``"nor"`` or ``"xnor"``
            (case-insensitive).

    Returns:
        ``(X, y)``: ``X`` float32 ``(4, 2)`` with rows ``[0,0], [0,1], [1,0], [1,1]``;
        ``y`` int64 ``(4,)`` with the gate's output for each row.

    Example:
        >>> from chainrule.datasets import logic_gate
        >>> X, y = logic_gate("xor")
        >>> y.tolist()
        [0, 1, 1, 0]
    """
    key = name.lower()
    if key not in LOGIC_GATES:
        raise ValueError(f"logic_gate: unknown gate {name!r}; choose from {sorted(LOGIC_GATES)}")
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    return _as_tensors(inputs, np.array(LOGIC_GATES[key]))


def xor() -> tuple[chainrule.Tensor, chainrule.Tensor]:
    """The XOR truth table, ``logic_gate("xor")``: y = ``[0, 1, 1, 0]``."""
    return logic_gate("xor")


def and_() -> tuple[chainrule.Tensor, chainrule.Tensor]:
    """The AND truth table, ``logic_gate("and")``: y = ``[0, 0, 0, 1]`` (``and`` is a keyword)."""
    return logic_gate("and")


def or_() -> tuple[chainrule.Tensor, chainrule.Tensor]:
    """The OR truth table, ``logic_gate("or")``: y = ``[0, 1, 1, 1]`` (``or`` is a keyword)."""
    return logic_gate("or")


def two_moons(
    n: int = 200, noise: float = 0.1, seed: int | None = 0
) -> tuple[chainrule.Tensor, chainrule.Tensor]:
    """Two interleaving half circles: separable, but only by a curved boundary.

    Class 0 lies on the upper half of the unit circle, ``(cos t, sin t)``; class 1 on a lower
    half circle shifted right and down, ``(1 - cos t, 0.5 - sin t)``, for ``t`` evenly spaced
    in ``[0, pi]``. Gaussian noise of standard deviation ``noise`` is added to both coordinates,
    then the points are shuffled (so minibatches mix the classes).

    Args:
        n: number of points; class 0 gets ``n // 2``, class 1 the rest.
        noise: standard deviation of the Gaussian noise added to each coordinate.
        seed: seed of the private generator; the same seed gives the same points.
            ``None`` draws fresh entropy from the operating system.

    Returns:
        ``(X, y)``: ``X`` float32 ``(n, 2)``, ``y`` int64 ``(n,)`` in ``{0, 1}``.

    Example:
        >>> from chainrule.datasets import two_moons
        >>> X, y = two_moons(100, noise=0.05, seed=1)
        >>> tuple(X.shape), tuple(y.shape), int(y.sum())
        ((100, 2), (100,), 50)
    """
    _check_count("two_moons", n, 2)
    _check_noise("two_moons", noise)
    rng = np.random.default_rng(seed)
    count_upper = n // 2
    count_lower = n - count_upper
    t_upper = np.linspace(0.0, math.pi, count_upper)
    t_lower = np.linspace(0.0, math.pi, count_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    points = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    labels = np.concatenate([np.zeros(count_upper, np.int64), np.ones(count_lower, np.int64)])
    order = rng.permutation(n)
    return _as_tensors(points[order], labels[order])


def spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: int | None = 0, turns: float = 0.75
) -> tuple[chainrule.Tensor, chainrule.Tensor]:
    """Interleaved spiral arms, one per class: the classic test that needs a deep-ish network.

    Arm ``k`` starts at the centre and winds outward: a point at radius ``r`` in ``[0, 1]`` has
    angle ``2 pi k / classes + 2 pi turns r`` plus Gaussian noise of standard deviation
    ``noise`` (in radians, so noise grows with the radius, as in the well-known CS231n
    version), and sits at ``r (cos angle, sin angle)``. The points are shuffled.

    Args:
        n: total number of points, shared as evenly as possible among the classes
            (the first ``n % classes`` classes get one more).
        classes: number of arms (and classes), at least 2.
        noise: standard deviation of the angular noise, in radians.
        seed: seed of the private generator; ``None`` draws fresh entropy.
        turns: how many full turns each arm makes from the centre to radius 1.

    Returns:
        ``(X, y)``: ``X`` float32 ``(n, 2)`` inside the unit disc, ``y`` int64 ``(n,)`` in
        ``0 .. classes - 1``.

    Example:
        >>> from chainrule.datasets import spirals
        >>> X, y = spirals(300, classes=3, seed=0)
        >>> tuple(X.shape), sorted(set(y.tolist()))
        ((300, 2), [0, 1, 2])
    """
    _check_count("spirals", n, 1)
    _check_noise("spirals", noise)
    if not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"spirals: classes must be an integer >= 2, got {classes!r}")
    rng = np.random.default_rng(seed)
    counts = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    arms, labels = [], []
    for k, count in enumerate(counts):
        radius = np.linspace(0.0, 1.0, count)
        angle = 2 * math.pi * (k / classes + turns * radius) + noise * rng.standard_normal(count)
        arms.append(radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1))
        labels.append(np.full(count, k, dtype=np.int64))
    order = rng.permutation(n)
    return _as_tensors(np.concatenate(arms)[order], np.concatenate(labels)[order])
