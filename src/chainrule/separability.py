"""Separability certificates: is there a hyperplane that separates two classes? Prove it.

A labelled point set is *linearly separable* (after an optional feature map phi) when some
weights ``w`` and bias ``b`` put every positive point strictly on one side and every negative
point strictly on the other: ``s_i (w . phi(x_i) + b) > 0`` for labels ``s_i in {-1, +1}``.
Appending the constant feature ``x0 = 1`` (so ``b`` becomes ``w0``), the question is whether
the matrix ``M`` with rows ``s_i [1, phi(x_i)]`` admits ``M w > 0``.

Gordan's theorem of the alternative says exactly one of these holds:

- **separable**: some ``w`` has ``M w > 0`` (scale it so that ``M w >= 1``); or
- **not separable**: some ``lambda >= 0``, not all zero, has ``M^T lambda = 0``.

The second is a *certificate*: it says that a convex combination of the positive points equals
a convex combination of the negative points (the convex hulls meet), and then no hyperplane
can have the first on one side and the second on the other, because
``0 < sum_i lambda_i s_i (w . [1, phi_i]) = w . (M^T lambda) = 0`` is a contradiction.

Both are found by linear programming (SciPy's HiGHS solver). When the set is separable, the
hyperplane is then moved to the one with the largest Euclidean margin (the hard-margin
support-vector machine, a small quadratic programme started from the LP's solution), and the
margin is the distance from that hyperplane to the nearest point.

Example:
    >>> import chainrule
    >>> from chainrule.datasets import xor
    >>> from chainrule.separability import separability_certificate
    >>> X, y = xor()
    >>> separability_certificate(X, y).separable
    False
    >>> with_product = lambda X: chainrule.cat([X, X[:, :1] * X[:, 1:]], dim=1)
    >>> separability_certificate(X, y, feature_map=with_product).separable
    True

Needs SciPy (``pip install chainrule[labs]``).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["SeparabilityCertificate", "classify_with_threshold", "separability_certificate"]

# A separating LP optimum below this is treated as "no margin at all" (the HiGHS feasibility
# tolerance is about 1e-7; the Farkas LP then has to confirm it).
_MARGIN_TOLERANCE = 1e-7


@dataclass(frozen=True)
class SeparabilityCertificate:
    """The answer of :func:`separability_certificate`, with the evidence for it.

    Attributes:
        separable: whether a separating hyperplane exists.
        features: the points as the hyperplane sees them, ``phi(X)``, shape ``(n, d)``.
        signs: ``+1`` for the positive class, ``-1`` for the negative class, shape ``(n,)``.
        positive_label / negative_label: the original label of each class.
        weight, bias: (separable) the maximum-margin hyperplane ``w . phi + b = 0`` in
            canonical form, ``min_i s_i (w . phi_i + b) = 1``; predicts positive where
            ``w . phi + b > 0``.
        margin: (separable) the Euclidean distance from the hyperplane to the nearest
            point, ``1 / ||w||`` (infinite when only one class is present).
        lp_weight, lp_bias: (separable) the first separating hyperplane, the LP's.
        combination: (not separable) ``lambda >= 0``, summing to 1 over each class, with
            ``sum_i lambda_i s_i [1, phi_i] = 0``.
        common_point: (not separable) the point both convex hulls contain,
            ``sum_{positive} lambda_i phi_i = sum_{negative} lambda_i phi_i``.
    """

    separable: bool
    features: np.ndarray
    signs: np.ndarray
    positive_label: Any
    negative_label: Any
    weight: np.ndarray | None = None
    bias: float | None = None
    margin: float | None = None
    lp_weight: np.ndarray | None = None
    lp_bias: float | None = None
    combination: np.ndarray | None = None
    common_point: np.ndarray | None = None

    def decision_values(self, features: np.ndarray | None = None) -> np.ndarray:
        """``w . phi + b`` for each row of ``features`` (default: the certified points)."""
        if not self.separable:
            raise ValueError("decision_values: the points are not separable; there is no "
                             "hyperplane (see .combination for the proof)")
        phi = self.features if features is None else np.asarray(features, dtype=np.float64)
        return phi @ self.weight + self.bias

    def verify(self, tol: float = 1e-9) -> bool:
        """Re-check the evidence with plain arithmetic (independently of the solver).

        Separable: every point is on its side with ``s_i (w . phi_i + b) >= 1 - tol``.
        Not separable: ``lambda >= 0``, each class's weights sum to 1 and
        ``|sum_i lambda_i s_i [1, phi_i]| <= tol`` in every coordinate.
        """
        if self.separable:
            if self.weight is None:
                return False
            return bool(np.all(self.signs * self.decision_values() >= 1.0 - tol))
        lam = self.combination
        if lam is None or np.any(lam < -tol):
            return False
        positive = self.signs > 0
        if abs(lam[positive].sum() - 1.0) > tol or abs(lam[~positive].sum() - 1.0) > tol:
            return False
        augmented = np.hstack([np.ones((len(lam), 1)), self.features])
        residual = (lam * self.signs) @ augmented
        return bool(np.max(np.abs(residual)) <= tol)

    def explain(self, names: list[str] | None = None) -> str:
        """One paragraph of plain words saying what was found and why it settles the question.

        Args:
            names: feature names for the formula (default ``x1, x2, ...``).
        """
        d = self.features.shape[1]
        names = names or [f"x{j + 1}" for j in range(d)]
        if self.separable:
            if self.margin is not None and math.isinf(self.margin):
                return "Only one class is present: every hyperplane with all points on one " \
                       "side separates them."
            terms = " ".join(f"{'+' if w >= 0 else '-'} {abs(w):.4g}*{n}"
                             for w, n in zip(self.weight, names))
            return (f"Separable. The hyperplane {self.bias:.4g} {terms} = 0 puts every "
                    f"positive point (label {self.positive_label!r}) on the > 0 side and every "
                    f"negative point (label {self.negative_label!r}) on the < 0 side; the nearest "
                    f"point is {self.margin:.4g} away (the largest margin possible).")
        used = [(i, lam) for i, lam in enumerate(self.combination) if lam > 1e-12]
        pos = [(i, lam) for i, lam in used if self.signs[i] > 0]
        neg = [(i, lam) for i, lam in used if self.signs[i] < 0]

        def combo(items):
            return " + ".join(f"{lam:.3g}*{_fmt_point(self.features[i])}" for i, lam in items)

        point = _fmt_point(self.common_point)
        return (f"Not separable. {combo(pos)} = {point} = {combo(neg)}: the same point is a "
                f"convex combination of positive points (label {self.positive_label!r}) and of "
                f"negative points (label {self.negative_label!r}). Any hyperplane w.x + b would "
                f"be > 0 at it (an average of positive values) and < 0 at it (an average of "
                f"negative values) at once, so none exists.")


def _fmt_point(p: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in p) + ")"


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def separability_certificate(X, y, feature_map: Callable | None = None, *,
                             maximize_margin: bool = True) -> SeparabilityCertificate:
    """Decide by linear programming whether two classes are linearly separable, with proof.

    Args:
        X: points, a tensor or array of shape ``(n, k)``.
        y: labels, shape ``(n,)``, exactly two distinct values (the larger one is the
            positive class), or one value (trivially separable).
        feature_map: optional ``phi``; called on ``X`` as given (a tensor stays a tensor) and
            must return shape ``(n, d)``. The hyperplane lives in this feature space.
        maximize_margin: move the LP's hyperplane to the largest-margin one (default).

    Returns:
        A :class:`SeparabilityCertificate`: the hyperplane and margin when separable, the
        convex combination proving the opposite when not. ``.verify()`` re-checks it.

    Shape:
        ``X``: ``(n, k)``, ``y``: ``(n,)``, ``features``: ``(n, d)``.

    Example:
        >>> from chainrule.datasets import and_
        >>> cert = separability_certificate(*and_())
        >>> round(cert.margin, 4)       # the line x1 + x2 = 1.5, 0.5/sqrt(2) from (1,1)
        0.3536
    """
    from scipy.optimize import linprog  # optional dependency: the labs extra

    raw = _as_numpy(feature_map(X) if feature_map is not None else X)
    labels = _as_numpy(y).reshape(-1)
    features = np.asarray(raw, dtype=np.float64)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or features.shape[0] != labels.shape[0]:
        raise ValueError(f"separability_certificate: features of shape {tuple(features.shape)} "
                         f"and labels of shape {tuple(labels.shape)}; expected (n, d) and (n,)")
    if not np.all(np.isfinite(features)):
        raise ValueError("separability_certificate: the features contain NaN or Inf")
    classes = np.unique(labels)
    if len(classes) > 2 or len(classes) == 0:
        raise ValueError(f"separability_certificate: expected labels of two classes, got "
                         f"{len(classes)} distinct values {classes.tolist()[:10]}")
    n, d = features.shape
    positive_label = classes[-1].item()
    negative_label = classes[0].item() if len(classes) == 2 else None
    signs = np.where(labels == classes[-1], 1.0, -1.0)
    if len(classes) == 1:
        return SeparabilityCertificate(True, features, signs, positive_label, negative_label,
                                       weight=np.zeros(d), bias=1.0, margin=math.inf,
                                       lp_weight=np.zeros(d), lp_bias=1.0)

    # Rows s_i [1, phi_i]: separable iff M w > 0 has a solution.
    augmented = np.hstack([np.ones((n, 1)), features])
    M = signs[:, None] * augmented

    # LP 1: maximise t subject to M w >= t, |w_j| <= 1 for the non-bias weights, t <= 1.
    # Variables [w0 (bias, free), w1..wd, t]; linprog minimises, so the cost is -t.
    cost = np.zeros(d + 2)
    cost[-1] = -1.0
    A_ub = np.hstack([-M, np.ones((n, 1))])            # t - M w <= 0
    bounds = [(None, None)] + [(-1.0, 1.0)] * d + [(None, 1.0)]
    lp = linprog(cost, A_ub=A_ub, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if lp.status != 0:
        raise RuntimeError(f"separability_certificate: the margin LP failed: {lp.message}")
    t = -lp.fun
    if t > _MARGIN_TOLERANCE:
        w_lp = lp.x[: d + 1] / t                         # now M w >= 1
        weight, bias = w_lp[1:], float(w_lp[0])
        if maximize_margin:
            weight, bias = _max_margin(M, w_lp)
        weight, bias = _canonical(M, weight, bias)
        norm = float(np.linalg.norm(weight))
        margin = math.inf if norm == 0.0 else 1.0 / norm
        return SeparabilityCertificate(True, features, signs, positive_label, negative_label,
                                       weight=weight, bias=bias, margin=margin,
                                       lp_weight=w_lp[1:], lp_bias=float(w_lp[0]))

    # LP 2 (Gordan's alternative): lambda >= 0 with M^T lambda = 0 and sum(lambda) = 2, which
    # makes each class's share 1 because the bias row says sum_pos lambda = sum_neg lambda.
    A_eq = np.vstack([M.T, np.ones((1, n))])
    b_eq = np.concatenate([np.zeros(d + 1), [2.0]])
    farkas = linprog(np.zeros(n), A_eq=A_eq, b_eq=b_eq, bounds=[(0.0, None)] * n,
                     method="highs")
    if farkas.status != 0:
        raise RuntimeError(
            f"separability_certificate: the margin LP found no margin (t = {t:.3g}) but no "
            f"certificate of inseparability exists either ({farkas.message}); the data are "
            f"numerically on the edge of separability")
    lam = np.clip(farkas.x, 0.0, None)
    positive = signs > 0
    lam[positive] /= lam[positive].sum()
    lam[~positive] /= lam[~positive].sum()
    common = lam[positive] @ features[positive]
    return SeparabilityCertificate(False, features, signs, positive_label, negative_label,
                                   combination=lam, common_point=common)


def _max_margin(M: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float]:
    """The hard-margin SVM: minimise ||w||^2 subject to M [b, w] >= 1, from a feasible start."""
    from scipy.optimize import minimize

    def objective(v):
        return float(v[1:] @ v[1:])

    def gradient(v):
        g = 2.0 * v
        g[0] = 0.0
        return g

    constraint = {"type": "ineq", "fun": lambda v: M @ v - 1.0, "jac": lambda v: M}
    result = minimize(objective, start, jac=gradient, constraints=[constraint],
                      method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    v = result.x if np.all(M @ result.x >= 1.0 - 1e-6) else start  # keep a separating answer
    return v[1:].copy(), float(v[0])


def _canonical(M: np.ndarray, weight: np.ndarray, bias: float) -> tuple[np.ndarray, float]:
    """Scale (w, b) so that the closest point has s_i (w . phi_i + b) = 1 exactly."""
    scale = float(np.min(M @ np.concatenate([[bias], weight])))
    return weight / scale, bias / scale


def classify_with_threshold(X, weights, threshold: float = 0.0, *,
                            strict: bool = True) -> np.ndarray:
    """Classify points with a given linear rule and bias-as-``x0 = 1`` weights.

    Args:
        X: points ``(n, k)`` (tensor or array).
        weights: ``[w0, w1, ..., wk]``; ``w0`` multiplies the constant feature ``x0 = 1``.
        threshold: the rule says class 1 when ``w . [1, x] > threshold`` (``>=`` if not
            ``strict``).

    Returns:
        ``(n,)`` int array of 0/1 predictions.

    Example:
        >>> classify_with_threshold([[0, 0], [1, 1], [1, 0]], [1, -1, 1]).tolist()
        [1, 1, 0]
    """
    points = np.asarray(_as_numpy(X), dtype=np.float64)
    w = np.asarray(_as_numpy(weights), dtype=np.float64).reshape(-1)
    if points.ndim != 2 or points.shape[1] + 1 != w.shape[0]:
        raise ValueError(f"classify_with_threshold: points of shape {tuple(points.shape)} need "
                         f"{points.shape[-1] + 1} weights (bias first), got {w.shape[0]}")
    values = w[0] + points @ w[1:]
    return (values > threshold if strict else values >= threshold).astype(np.int64)
