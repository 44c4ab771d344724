"""The separability certificate (chainrule.separability) and lesson 1's key numbers."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("scipy")

import chainrule
from chainrule.datasets import and_, or_, xor
from chainrule.separability import classify_with_threshold, separability_certificate


def product_feature(X):
    return chainrule.cat([X, X[:, :1] * X[:, 1:2]], dim=1)


@pytest.mark.parametrize("data", [and_, or_])
def test_and_or_separable_with_maximum_margin(data):
    cert = separability_certificate(*data())
    assert cert.separable and cert.verify()
    # AND: x1 + x2 = 1.5; OR: x1 + x2 = 0.5; both 0.5 / sqrt(2) from the nearest corner.
    assert cert.margin == pytest.approx(0.5 / math.sqrt(2), abs=1e-6)
    assert cert.weight[0] == pytest.approx(cert.weight[1], abs=1e-6)
    _X, y = data()
    assert ((cert.decision_values() > 0).astype(int) == y.numpy()).all()


def test_xor_not_separable_with_farkas_certificate():
    X, y = xor()
    cert = separability_certificate(X, y)
    assert not cert.separable and cert.verify()
    np.testing.assert_allclose(cert.combination, [0.5, 0.5, 0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(cert.common_point, [0.5, 0.5], atol=1e-9)
    # The proof by hand: the weighted sum of s_i [1, x_i] vanishes.
    s = np.where(y.numpy() == 1, 1.0, -1.0)
    augmented = np.hstack([np.ones((4, 1)), X.numpy()])
    assert np.abs((cert.combination * s) @ augmented).max() < 1e-9
    assert "Not separable" in cert.explain()


def test_xor_with_product_feature_is_separable():
    cert = separability_certificate(*xor(), feature_map=product_feature)
    assert cert.separable and cert.verify()
    assert cert.features.shape == (4, 3)
    np.testing.assert_allclose(cert.weight, [2.0, 2.0, -4.0], atol=1e-5)
    assert cert.bias == pytest.approx(-1.0, abs=1e-5)
    assert cert.margin == pytest.approx(1 / math.sqrt(24), abs=1e-6)


def test_three_points_separable_and_strict_threshold_rule():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    y = np.array([1, 1, 0])
    cert = separability_certificate(X, y)
    assert cert.separable and cert.verify()
    assert cert.margin == pytest.approx(1 / (2 * math.sqrt(2)), abs=1e-6)
    assert classify_with_threshold(X, [1, -1, 1], strict=True).tolist() == [1, 1, 0]
    # (1, 0) lies on the line 1 - x1 + x2 = 0: the strictness of the threshold matters.
    assert classify_with_threshold(X, [1, -1, 1], strict=False).tolist() == [1, 1, 1]


def test_tampered_certificates_fail_verification():
    cert = separability_certificate(*xor())
    bad = cert.combination.copy()
    bad[0] += 0.1
    from dataclasses import replace
    assert not replace(cert, combination=bad).verify()
    sep = separability_certificate(*and_())
    assert not replace(sep, bias=sep.bias + 1.0).verify()


def test_larger_random_sets_agree_with_a_known_hyperplane():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    w = np.array([1.0, -2.0, 0.5])
    values = X @ w + 0.3
    keep = np.abs(values) > 0.2
    X, y = X[keep], (values[keep] > 0).astype(int)
    cert = separability_certificate(X, y)
    assert cert.separable and cert.verify()
    assert cert.margin >= 0.2 / np.linalg.norm(w) - 1e-6   # at least the known plane's margin
    y_flipped = y.copy()
    y_flipped[np.argmax(values[keep])] = 0                   # the most positive point, flipped
    cert2 = separability_certificate(X, y_flipped)
    assert not cert2.separable and cert2.verify()


def test_one_class_and_bad_input():
    cert = separability_certificate(np.zeros((3, 2)), np.ones(3))
    assert cert.separable and math.isinf(cert.margin)
    with pytest.raises(ValueError, match="two classes"):
        separability_certificate(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        separability_certificate(np.zeros((3, 2)), np.array([0, 1]))


def test_lesson1_key_numbers(lesson):
    r = lesson("separability")
    assert r.error is None
    failed = [c.claim for c in r.checks if not c.passed]
    assert not failed, failed
    n = r.numbers
    assert n["and_separable"] and n["or_separable"] and n["three_points_separable"]
    assert n["xor_product_separable"] and not n["xor_separable"]
    assert all(n[f"{k}_certificate_verified"] for k in
               ("and", "or", "xor", "three_points", "xor_product"))
    assert n["xor_common_point"] == pytest.approx([0.5, 0.5])
    assert n["three_points_strict_rule_correct"]
    assert n["perceptron_and_converged"] and not n["perceptron_xor_converged"]
    assert n["perceptron_xor_product_converged"]
    assert n["logistic_xor_loss"] >= math.log(2) - 1e-4
    assert n["logistic_and_accuracy"] == 1.0
    log = r.logs["Perceptron log: AND"].splitlines()
    assert log[0].startswith("epoch  1  x=(0, 0)  t=0")
    assert "update -> w=" in "\n".join(log)
    assert {f.name for f in r.figures} >= {"input_space", "feature_space"}
    assert all(f.png.startswith(b"\x89PNG") for f in r.figures)
