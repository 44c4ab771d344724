"""nn.init (statistics against the documented formulas) and nn.utils against PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from nn_testing import assert_close

import chainrule
from chainrule import nn
from chainrule.nn import init


def stats(t):
    a = t._data.astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


def test_calculate_gain_and_fans_match_torch():
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                        ("selu", None)]:
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    for shape in [(3, 5), (4, 3, 2, 2), (6, 2, 7)]:
        assert init._calculate_fan_in_and_fan_out(chainrule.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError):
        init._calculate_fan_in_and_fan_out(chainrule.empty(3))


def test_uniform_normal_constant():
    chainrule.manual_seed(0)
    mean, std, lo, hi = stats(init.uniform_(chainrule.empty(200, 500), -2.0, 3.0))
    assert lo >= -2 and hi <= 3 and abs(mean - 0.5) < 0.02 and abs(std - 5 / math.sqrt(12)) < 0.01
    mean, std, *_ = stats(init.normal_(chainrule.empty(200, 500), 1.5, 0.5))
    assert abs(mean - 1.5) < 0.01 and abs(std - 0.5) < 0.005
    assert np.all(init.constant_(chainrule.empty(3), 0.3)._data == np.float32(0.3))
    assert np.all(init.zeros_(chainrule.empty(3))._data == 0)
    assert np.all(init.ones_(chainrule.empty(3))._data == 1)
    np.testing.assert_array_equal(init.eye_(chainrule.empty(3, 4))._data, np.eye(3, 4))


def test_init_runs_without_recording_on_parameters():
    p = nn.Parameter(chainrule.empty(4, 4))
    for fn in (init.uniform_, init.normal_, init.zeros_, init.xavier_uniform_,
               init.kaiming_normal_, init.orthogonal_, init.trunc_normal_):
        out = fn(p)
        assert out is p and p.grad_fn is None and p.requires_grad


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier_and_kaiming_statistics(shape):
    chainrule.manual_seed(1)
    t = chainrule.empty(*shape)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(t)
    gain = 2.0
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    _, s, lo, hi = stats(init.xavier_uniform_(t, gain=gain))
    assert abs(s - std) < 0.02 * std and max(-lo, hi) <= math.sqrt(3) * std
    _, s, *_ = stats(init.xavier_normal_(t, gain=gain))
    assert abs(s - std) < 0.02 * std
    for mode, fan in (("fan_in", fan_in), ("fan_out", fan_out)):
        for nonlinearity, a in (("relu", 0), ("leaky_relu", 0.1), ("leaky_relu", math.sqrt(5))):
            std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
            m, s, lo, hi = stats(init.kaiming_uniform_(t, a=a, mode=mode,
                                                       nonlinearity=nonlinearity))
            assert abs(s - std) < 0.02 * std and max(-lo, hi) <= math.sqrt(3) * std
            assert abs(m) < 0.02 * std
            m, s, *_ = stats(init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity))
            assert abs(s - std) < 0.02 * std
    with pytest.raises(ValueError, match="Mode"):
        init.kaiming_uniform_(t, mode="fan_avg")


def test_trunc_normal_and_orthogonal_and_dirac():
    chainrule.manual_seed(2)
    t = init.trunc_normal_(chainrule.empty(100000), mean=0.5, std=1.0, a=-1.0, b=1.5)
    a = t._data.astype(np.float64)
    assert a.min() >= -1.0 and a.max() <= 1.5
    # the mean of N(0.5, 1) truncated to [-1.5, 1.0] around its mean, from the formula
    alpha, beta = -1.5, 1.0

    def pdf(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def cdf(z):
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))
    expected_mean = 0.5 + (pdf(alpha) - pdf(beta)) / (cdf(beta) - cdf(alpha))
    assert abs(a.mean() - expected_mean) < 0.01
    for shape in [(5, 3), (3, 5), (4, 2, 3)]:
        q = init.orthogonal_(chainrule.empty(*shape, dtype=chainrule.float64), gain=2.0)
        flat = q._data.reshape(shape[0], -1)
        gram = flat @ flat.T if shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-10)
    w = init.dirac_(chainrule.empty(4, 2, 3, 3))
    tw = torch.nn.init.dirac_(torch.empty(4, 2, 3, 3))
    np.testing.assert_array_equal(w._data, tw.numpy())


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    for norm_type in (2.0, 1.0, float("inf"), 3.0):
        for max_norm in (0.5, 100.0):
            ours = [nn.Parameter(chainrule.zeros(*g.shape, dtype=chainrule.float64))
                    for g in grads]
            theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
                      for g in grads]
            for p, q, g in zip(ours, theirs, grads):
                p.grad = chainrule.tensor(g.copy())
                q.grad = torch.tensor(g.copy())
            total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
            total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
            assert_close(total, total_t)
            for p, q in zip(ours, theirs):
                assert_close(p.grad, q.grad)
    p = nn.Parameter(chainrule.zeros(2))
    p.grad = chainrule.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nn.Parameter(chainrule.zeros(2))], 1.0).item() == 0.0


def test_clip_grad_value_and_vector_conversion():
    p = nn.Parameter(chainrule.zeros(4))
    p.grad = chainrule.tensor([-3.0, -0.5, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad._data, [-1.0, -0.5, 0.5, 1.0])
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (8 + 3,)
    np.testing.assert_array_equal(vec._data[:6], model[0].weight._data.reshape(-1))
    new = chainrule.arange(11, dtype=chainrule.float32)
    nn.utils.vector_to_parameters(new, model.parameters())
    np.testing.assert_array_equal(model[0].weight._data, np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(model[1].bias._data, [10.0])
    # differentiable: d sum(vec * c)/d params = c reshaped
    vec = nn.utils.parameters_to_vector(model.parameters())
    (vec * chainrule.arange(11, dtype=chainrule.float32)).sum().backward()
    np.testing.assert_array_equal(model[0].bias.grad._data, [6.0, 7.0])
