"""Every lesson at the quick budget: the key numbers each one must reproduce."""
from __future__ import annotations

import pytest

from chainrule.labs import lesson_names, resolve


def _no_failed_checks(result):
    assert result.error is None, result.error
    failed = [f"{c.claim}: {c.detail}" for c in result.checks if not c.passed]
    assert not failed, failed
    assert result.checks and result.figures and result.summary and result.explanation
    for figure in result.figures:
        assert figure.png.startswith(b"\x89PNG\r\n\x1a\n") and len(figure.png) > 5000


def test_lesson_names_resolve():
    assert lesson_names() == ["separability", "convolution", "jacobians", "loss_gradients",
                              "long_range"]
    assert resolve("3") == resolve("lesson3") == resolve("jacobians") == "jacobians"
    assert resolve("lesson2_convolution") == "convolution"
    with pytest.raises(ValueError, match="unknown lesson"):
        resolve("nope")


def test_lesson2_counts_and_filters(lesson):
    r = lesson("convolution")
    _no_failed_checks(r)
    n = r.numbers
    assert (n["conv_4x3x2_weights"], n["conv_4x3x2_biases"]) == (48, 3)
    assert (n["conv_3x16x5_weights"], n["conv_3x16x5_biases"]) == (1200, 16)
    assert n["zero_response[diagonal [[1,0],[0,-1]]]"] == ["\\ diagonals", "all ones", "all zeros"]
    assert n["zero_response[vertical edge]"] == ["horizontal stripes", "all ones", "all zeros"]
    assert n["zero_response[horizontal edge]"] == ["vertical stripes", "all ones", "all zeros"]
    assert len(n["zero_response[zero filter]"]) == 6
    assert n["cnn_first_layer_weights"] == 72
    assert n["cnn_test_accuracy"] > 0.3          # 2 epochs on 600 digits; chance is 0.1


def test_lesson2_count_helper_matches_formula():
    from chainrule.labs.lesson2_convolution import count_conv_parameters
    for C, K, k in [(2, 5, 3), (7, 1, 4)]:
        counted = count_conv_parameters(C, K, k)
        assert counted == {"weights": K * k * k * C, "biases": K,
                           "weight_shape": [K, C, k, k], "output_channels": K}


def test_lesson3_jacobians_agree(lesson):
    r = lesson("jacobians")
    _no_failed_checks(r)
    n = r.numbers
    for net in ("affine", "tanh"):
        assert n[f"{net}_jacobian_shape"] == [2, 4]              # [len(y), len(x)]
        assert n[f"{net}_max_error_product"] < 1e-6
        assert n[f"{net}_max_error_fd"] < 1e-6
        assert n[f"{net}_max_error_trace"] < 1e-6
        assert n[f"{net}_max_error_grad_x"] < 1e-12             # x.grad = dL/dy . J
    assert n["tanh_trace_ops"] == ["LinearBackward0", "TanhBackward0", "LinearBackward0"]
    assert "J [2 x 4] = " in n["tanh_chain"] and "[3 x 3]" in n["tanh_chain"]
    assert any("Backprop trace" in title for title in r.logs)


def test_lesson4_confident_mistake_and_softmax_gradients(lesson):
    r = lesson("loss_gradients")
    _no_failed_checks(r)
    n = r.numbers
    assert n["confident_mistake_y"] == pytest.approx(0.0067, abs=5e-5)
    assert n["sigmoid_mse_grad"] == pytest.approx(-0.0066, abs=5e-5)
    assert n["sigmoid_bce_grad"] == pytest.approx(-0.9933, abs=5e-5)
    assert n["softmax_ce_grad_minus_p_minus_t"] < 1e-12       # dL/dz = p - t
    assert n["softmax_mse_formula_error"] < 1e-12
    mean = {p: n[f"train_{p}_mean_accuracy"] for p in
            ("sigmoid+MSE", "sigmoid+BCE", "softmax+CE", "softmax+MSE")}
    assert mean["softmax+CE"] > mean["softmax+MSE"]
    assert mean["sigmoid+BCE"] > mean["sigmoid+MSE"]


def test_lesson4_gradient_formulas_match_autograd():
    import chainrule
    from chainrule.labs.lesson4_loss_gradients import logit_gradient_formulas, logit_gradients
    z = chainrule.tensor([-7.0, -0.3, 0.0, 2.5], dtype=chainrule.float64)
    for target in (0.0, 1.0):
        auto = logit_gradients(z, target=target)
        formula = logit_gradient_formulas(z, target=target)
        for name in ("sigmoid+MSE", "sigmoid+BCE"):
            assert (auto[name] - formula[name]).abs().max().item() < 1e-14


def test_lesson5_gradient_norm_ordering_and_forget_gate(lesson):
    r = lesson("long_range")
    _no_failed_checks(r)
    n = r.numbers
    small, mid, big = (n[f"rnn_{rho}_norm_far"] for rho in ("0.8", "1", "1.2"))
    assert small < mid < big
    assert small < 0.01 and big > 10 and 0.5 < mid < 2
    assert n["rnn_0.8_ratio_per_step"] == pytest.approx(0.8, abs=0.02)
    assert n["rnn_1.2_ratio_per_step"] == pytest.approx(1.2, abs=0.02)
    assert n["forget_bias_0_max_diag_minus_f"] < 1e-14
    assert not n["forget_bias_0_is_identity"] and n["forget_bias_40_is_identity"]
    for gap in n["memory_gaps"]:
        assert 0.0 <= n[f"memory[LSTM (default init)][T={gap}]"] <= 1.0
