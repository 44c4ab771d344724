"""chainrule.optim.lr_scheduler against torch.optim.lr_scheduler: identical rate sequences.

Each case builds the same optimizer (two parameter groups with different rates) in both
libraries, attaches the same scheduler, and steps both 100+ times, comparing every group's
``lr`` (and momentum / beta1 where the scheduler cycles it) after each step.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import chainrule
from chainrule import optim
from chainrule.optim import lr_scheduler as sched

TOL = 1e-12


def _optimizer(lib, kind="SGD"):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    module = optim if lib is chainrule else torch.optim
    if kind == "SGD":
        return module.SGD(groups, lr=0.1, momentum=0.9)
    return module.Adam(groups, lr=0.1, betas=(0.9, 0.99))


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def _trace(lib, make, steps, kind="SGD", metrics=None, epochs=None):
    opt = _optimizer(lib, kind)
    s = make(lib, opt)
    out = [([g["lr"] for g in opt.param_groups], [_momentum(g) for g in opt.param_groups],
            list(s.get_last_lr()))]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            s.step(metrics[i])
        elif epochs is not None:
            s.step(epochs[i])
        else:
            s.step()
        out.append(([g["lr"] for g in opt.param_groups],
                    [_momentum(g) for g in opt.param_groups], list(s.get_last_lr())))
    return out


def _mod(lib):
    return sched if lib is chainrule else torch.optim.lr_scheduler


def _assert_same_trace(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for which, x, y in zip(("lr", "momentum", "last_lr"), a, b):
            np.testing.assert_allclose(x, y, rtol=0, atol=TOL,
                                       err_msg=f"{which} differs at step {step}")


CASES = {
    "StepLR": lambda lib, o: _mod(lib).StepLR(o, step_size=7, gamma=0.5),
    "StepLR-1": lambda lib, o: _mod(lib).StepLR(o, step_size=1, gamma=0.97),
    "MultiStepLR": lambda lib, o: _mod(lib).MultiStepLR(o, milestones=[10, 30, 30, 80],
                                                         gamma=0.3),
    "ExponentialLR": lambda lib, o: _mod(lib).ExponentialLR(o, gamma=0.95),
    "CosineAnnealingLR": lambda lib, o: _mod(lib).CosineAnnealingLR(o, T_max=30),
    "CosineAnnealingLR-eta": lambda lib, o: _mod(lib).CosineAnnealingLR(o, T_max=17,
                                                                        eta_min=0.001),
    "LambdaLR": lambda lib, o: _mod(lib).LambdaLR(o, lambda e: 1.0 / (1 + 0.1 * e)),
    "LambdaLR-list": lambda lib, o: _mod(lib).LambdaLR(
        o, [lambda e: 0.9 ** e, lambda e: max(0.0, 1 - e / 120)]),
    "MultiplicativeLR": lambda lib, o: _mod(lib).MultiplicativeLR(o, lambda e: 0.98),
    "LinearLR": lambda lib, o: _mod(lib).LinearLR(o, start_factor=0.25, total_iters=20),
    "LinearLR-down": lambda lib, o: _mod(lib).LinearLR(o, start_factor=1.0, end_factor=0.1,
                                                       total_iters=50),
    "ConstantLR": lambda lib, o: _mod(lib).ConstantLR(o, factor=0.5, total_iters=12),
    "PolynomialLR": lambda lib, o: _mod(lib).PolynomialLR(o, total_iters=60, power=2.0),
    "CosineAnnealingWarmRestarts": lambda lib, o: _mod(lib).CosineAnnealingWarmRestarts(
        o, T_0=10),
    "CosineAnnealingWarmRestarts-mult": lambda lib, o: _mod(lib).CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=1e-4),
    "OneCycleLR": lambda lib, o: _mod(lib).OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=120),
    "OneCycleLR-linear": lambda lib, o: _mod(lib).OneCycleLR(
        o, max_lr=1.0, epochs=10, steps_per_epoch=12, anneal_strategy="linear",
        pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-three-phase": lambda lib, o: _mod(lib).OneCycleLR(
        o, max_lr=0.3, total_steps=120, three_phase=True, base_momentum=0.8,
        max_momentum=0.9),
    "OneCycleLR-no-momentum": lambda lib, o: _mod(lib).OneCycleLR(
        o, max_lr=0.3, total_steps=120, cycle_momentum=False),
    "CyclicLR": lambda lib, o: _mod(lib).CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=8),
    "CyclicLR-triangular2": lambda lib, o: _mod(lib).CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=5, step_size_down=11,
        mode="triangular2"),
    "CyclicLR-exp": lambda lib, o: _mod(lib).CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                      step_size_up=6, mode="exp_range",
                                                      gamma=0.99),
    "SequentialLR": lambda lib, o: _mod(lib).SequentialLR(
        o, [_mod(lib).LinearLR(o, start_factor=0.1, total_iters=10),
            _mod(lib).CosineAnnealingLR(o, T_max=50),
            _mod(lib).ExponentialLR(o, gamma=0.9)], milestones=[10, 60]),
    "ChainedScheduler": lambda lib, o: _mod(lib).ChainedScheduler(
        [_mod(lib).ConstantLR(o, factor=0.1, total_iters=5),
         _mod(lib).ExponentialLR(o, gamma=0.97)]),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_sequence_matches_torch(name, kind):
    steps = 119 if name.startswith("OneCycleLR") else 130
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns for some deprecated usages
        ours = _trace(chainrule, CASES[name], steps, kind)
        theirs = _trace(torch, CASES[name], steps, kind)
    _assert_same_trace(ours, theirs)


def test_cosine_warm_restarts_fractional_epochs_match_torch():
    epochs = [e + k / 5 for e in range(20) for k in range(5)]
    make = lambda lib, o: _mod(lib).CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _trace(chainrule, make, len(epochs), epochs=epochs)
        theirs = _trace(torch, make, len(epochs), epochs=epochs)
    _assert_same_trace(ours, theirs)


@pytest.mark.parametrize("kwargs", [
    {},
    {"mode": "max", "factor": 0.5, "patience": 3, "threshold": 0.01, "cooldown": 2},
    {"threshold_mode": "abs", "threshold": 0.05, "patience": 2, "min_lr": [0.02, 0.001]},
    {"mode": "max", "threshold_mode": "abs", "patience": 0, "factor": 0.9, "min_lr": 0.01,
     "eps": 1e-3},
])
def test_reduce_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(0)
    # a metric that improves, stalls, improves a little, then is noisy
    metrics = list(np.concatenate([np.linspace(1, 0.5, 20), np.full(15, 0.5),
                                   np.linspace(0.5, 0.45, 10), 0.45 + 0.02 * rng.random(80)]))
    make = lambda lib, o: _mod(lib).ReduceLROnPlateau(o, **kwargs)
    ours = _trace(chainrule, make, len(metrics), metrics=metrics)
    theirs = _trace(torch, make, len(metrics), metrics=metrics)
    _assert_same_trace(ours, theirs)
    assert ours[-1][0] != ours[0][0]  # the rate did drop at some point


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR",
                                  "CosineAnnealingWarmRestarts-mult", "LambdaLR",
                                  "SequentialLR", "CyclicLR"])
def test_state_dict_resume_continues_the_sequence(tmp_path, name):
    """Save the scheduler (and optimizer) mid-way with chainrule.save, rebuild both, load,
    and continue: the rates equal those of an uninterrupted run."""
    straight = _trace(chainrule, CASES[name], 60)

    opt = _optimizer(chainrule)
    s = CASES[name](chainrule, opt)
    for _ in range(25):
        opt.step()
        s.step()
    path = tmp_path / "sched.ckpt"
    chainrule.save({"sched": s.state_dict(), "opt": opt.state_dict()}, path)

    opt2 = _optimizer(chainrule)
    s2 = CASES[name](chainrule, opt2)
    saved = chainrule.load(path)
    opt2.load_state_dict(saved["opt"])
    s2.load_state_dict(saved["sched"])
    rates = []
    for _ in range(35):
        opt2.step()
        s2.step()
        rates.append([g["lr"] for g in opt2.param_groups])
    np.testing.assert_allclose(rates, [row[0] for row in straight[26:]], rtol=0, atol=TOL)


def test_initial_lr_and_last_epoch():
    opt = _optimizer(chainrule)
    s = sched.StepLR(opt, step_size=2)
    assert s.last_epoch == 0 and s.base_lrs == [0.1, 0.05]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(_optimizer(chainrule), step_size=2, last_epoch=3)
    resumed = sched.StepLR(opt, step_size=2, last_epoch=3)
    assert resumed.last_epoch == 4


def test_step_order_warning():
    opt = _optimizer(chainrule)
    s = sched.ExponentialLR(opt, gamma=0.9)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    opt = _optimizer(chainrule)
    s = sched.ExponentialLR(opt, gamma=0.9)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()


def test_get_lr_outside_step_warns():
    s = sched.StepLR(_optimizer(chainrule), step_size=3)
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()


def test_deprecated_epoch_argument_uses_closed_form():
    opt = _optimizer(chainrule)
    s = sched.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        s.step(7)
    assert math.isclose(opt.param_groups[0]["lr"], 0.1 * 0.5 ** 2)


def test_errors_match_torch():
    opt = _optimizer(chainrule)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        sched.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        sched.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="threshold mode x is unknown!"):
        sched.ReduceLROnPlateau(opt, threshold_mode="x")
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        sched.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="You must define either total_steps"):
        sched.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        sched.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        sched.OneCycleLR(opt, max_lr=[0.1], total_steps=10)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        sched.OneCycleLR(optim.Adagrad([chainrule.zeros(1, requires_grad=True)]), max_lr=0.1,
                         total_steps=10)
    one = sched.OneCycleLR(_optimizer(chainrule), max_lr=0.1, total_steps=3)
    one.optimizer.step()
    for _ in range(3):
        one.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        one.step()
    with pytest.raises(ValueError, match="number of milestone points"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2)], milestones=[3])
