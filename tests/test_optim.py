"""chainrule.optim against torch.optim: same start, same gradients, same iterates.

Each optimizer runs 100 steps in both libraries from the same float64 parameters. The
gradient at each step is a fixed nonlinear function of the current parameters and the step
number, computed by NumPy and handed to both libraries, so any difference in the update rule
shows up (and compounds) in the parameters. A second family of tests trains a small MLP end
to end with each library's own autograd.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule
from chainrule import optim

SHAPES = [(4, 3), (4,), (2, 4), (2,), (3, 1, 2), ()]


def _initial_arrays(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def _gradient(p: np.ndarray, i: int, step: int) -> np.ndarray:
    """dL/dp of a fixed non-quadratic loss: curvature differs per tensor, plus a wobble."""
    return (0.5 + i) * (p - 0.3 * i) + 0.2 * np.sin(3 * p) + 0.05 * np.cos(step + i)


def _run(lib, cls, kwargs, steps=100, groups=None, none_grad=(), lr_schedule=None):
    """Run ``steps`` updates; returns the list of parameter snapshots after each step."""
    params = [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True)
              for a in _initial_arrays()]
    if groups is None:
        opt = cls(params, **kwargs)
    else:
        opt = cls([{"params": [params[i] for i in idx], **extra} for idx, extra in groups],
                  **kwargs)
    history = []
    for step in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            if i in none_grad:
                continue
            g = _gradient(p.detach().numpy(), i, step)
            p.grad = lib.tensor(g, dtype=lib.float64)
        if lr_schedule is not None:
            for group in opt.param_groups:
                group["lr"] = lr_schedule(step)
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history, opt


def _assert_same(ours, theirs, tol=1e-10):
    for step, (a_list, b_list) in enumerate(zip(ours, theirs)):
        for i, (a, b) in enumerate(zip(a_list, b_list)):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol,
                                       err_msg=f"parameter {i} differs after step {step + 1}")


CASES = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.03, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "maximize": True, "betas": (0.5, 0.9)}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "eps": 1e-6, "centered": True, "momentum": 0.5,
                     "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "maximize": True, "momentum": 0.3}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.2}),
    ("Adagrad", {"lr": 0.05, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_100_steps(name, kwargs):
    ours, _ = _run(chainrule, getattr(optim, name), kwargs)
    theirs, _ = _run(torch, getattr(torch.optim, name), kwargs)
    _assert_same(ours, theirs)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_param_groups_none_grads_and_lr_changes(name):
    """Two groups with their own options, a parameter that never gets a gradient, and the
    learning rate edited between steps (what a scheduler does)."""
    extra = {"SGD": {"momentum": 0.9}, "Adam": {"amsgrad": True},
             "RMSprop": {"centered": True}, "Adagrad": {"lr_decay": 0.1}}[name]
    groups = [([0, 1, 2], {"weight_decay": 0.1}), ([3, 4, 5], {"lr": 0.001})]
    kw = dict(lr=0.01, **extra)
    schedule = lambda step: 0.01 * 0.97 ** step
    ours, opt = _run(chainrule, getattr(optim, name), kw, steps=30, groups=groups,
                     none_grad=(4,), lr_schedule=schedule)
    theirs, topt = _run(torch, getattr(torch.optim, name), kw, steps=30, groups=groups,
                        none_grad=(4,), lr_schedule=schedule)
    _assert_same(ours, theirs)
    np.testing.assert_array_equal(ours[-1][4], _initial_arrays()[4])  # never updated
    assert set(opt.state_dict()["state"]) == set(topt.state_dict()["state"])


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("Adam", {"amsgrad": True}), ("AdamW", {}), ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("Adagrad", {}), ("Adadelta", {})])
def test_state_dict_format_matches_torch(name, kwargs):
    _, opt = _run(chainrule, getattr(optim, name), kwargs, steps=3)
    _, topt = _run(torch, getattr(torch.optim, name), kwargs, steps=3)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sd["state"].keys() == tsd["state"].keys()
    for index, entry in tsd["state"].items():
        assert list(sd["state"][index]) == list(entry)
        for key, value in entry.items():
            ours_value = sd["state"][index][key]
            assert ours_value.dtype.name == str(value.dtype).replace("torch.", "")
            np.testing.assert_allclose(ours_value.numpy(), value.numpy(), rtol=1e-12)


def _mlp_params(lib):
    rng = np.random.default_rng(1)
    shapes = [(16, 5), (16,), (8, 16), (8,), (3, 8), (3,)]
    return [lib.tensor(rng.standard_normal(s) * 0.5, dtype=lib.float64, requires_grad=True)
            for s in shapes]


def _mlp_loss(lib, params, x, y):
    h = x
    for k in range(0, 6, 2):
        h = h @ params[k].T + params[k + 1]
        if k < 4:
            h = lib.tanh(h)
    return ((h - y) ** 2).mean()


def _mlp_data(lib):
    rng = np.random.default_rng(2)
    return (lib.tensor(rng.standard_normal((32, 5)), dtype=lib.float64),
            lib.tensor(rng.standard_normal((32, 3)), dtype=lib.float64))


def _train_mlp(lib, make_opt, steps, opt=None, params=None):
    params = params if params is not None else _mlp_params(lib)
    opt = opt if opt is not None else make_opt(params)
    x, y = _mlp_data(lib)
    losses = []

    def closure():
        opt.zero_grad()
        loss = _mlp_loss(lib, params, x, y)
        loss.backward()
        return loss
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
    return params, opt, losses


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                                         ("Adam", {"lr": 0.01}),
                                         ("RMSprop", {"lr": 0.003, "centered": True})])
def test_mlp_training_matches_torch(name, kwargs):
    ours, _, our_losses = _train_mlp(chainrule, lambda p: getattr(optim, name)(p, **kwargs), 100)
    theirs, _, their_losses = _train_mlp(torch, lambda p: getattr(torch.optim, name)(p, **kwargs),
                                         100)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-8)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-8)
    assert our_losses[-1] < 0.5 * our_losses[0]


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}),
                                         ("Adam", {"lr": 0.01, "amsgrad": True}),
                                         ("AdamW", {"lr": 0.01}),
                                         ("RMSprop", {"lr": 0.003, "momentum": 0.5,
                                                      "centered": True}),
                                         ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
                                         ("Adadelta", {"lr": 1.0}),
                                         ("LBFGS", {"lr": 0.5, "max_iter": 4, "history_size": 5})])
def test_state_dict_round_trip_resumes_exactly(tmp_path, name, kwargs):
    """Train 10 steps, save the optimizer with chainrule.save, load it into a fresh optimizer
    over a copy of the parameters, train 10 more: the same as 20 uninterrupted steps."""
    make = lambda p: getattr(optim, name)(p, **kwargs)
    straight, _, _ = _train_mlp(chainrule, make, 20)

    params, opt, _ = _train_mlp(chainrule, make, 10)
    path = tmp_path / "opt.ckpt"
    chainrule.save(opt.state_dict(), path)
    copies = [chainrule.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
    fresh = make(copies)
    fresh.load_state_dict(chainrule.load(path))
    resumed, _, _ = _train_mlp(chainrule, make, 10, opt=fresh, params=copies)
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_load_state_dict_copies_and_casts():
    p = chainrule.zeros(3, dtype=chainrule.float32, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = chainrule.ones(3)
    opt.step()
    sd = opt.state_dict()
    q = chainrule.zeros(3, dtype=chainrule.float64, requires_grad=True)
    other = optim.Adam([q])
    other.load_state_dict(sd)
    state = other.state[q]
    assert state["exp_avg"].dtype == chainrule.float64
    assert state["step"].dtype == chainrule.float32  # step counters keep their dtype
    state["exp_avg_sq"].add_(1.0)
    assert float(sd["state"][0]["exp_avg_sq"][0]) != float(state["exp_avg_sq"][0])


def test_load_state_dict_errors():
    a, b = chainrule.zeros(2, requires_grad=True), chainrule.zeros(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


def _rosenbrock(lib, x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _lbfgs_iterates(lib, cls, kwargs, steps):
    x = lib.tensor([-1.5, 2.0, -0.5, 1.2], dtype=lib.float64, requires_grad=True)
    opt = cls([x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(lib, x)
        loss.backward()
        return loss
    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        out.append((float(loss.detach()), x.detach().numpy().copy()))
    return out, opt


@pytest.mark.parametrize("kwargs", [
    {"lr": 1, "max_iter": 20, "line_search_fn": "strong_wolfe"},
    {"lr": 0.3, "max_iter": 10, "history_size": 5, "line_search_fn": "strong_wolfe"},
    {"lr": 0.001, "max_iter": 15, "history_size": 4},
    {"lr": 0.002, "max_iter": 7, "max_eval": 9},
])
def test_lbfgs_rosenbrock_matches_torch(kwargs):
    ours, opt = _lbfgs_iterates(chainrule, optim.LBFGS, kwargs, 8)
    theirs, topt = _lbfgs_iterates(torch, torch.optim.LBFGS, kwargs, 8)
    for step, ((la, xa), (lb, xb)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(la, lb, rtol=1e-6, atol=1e-9, err_msg=f"loss at step {step}")
        np.testing.assert_allclose(xa, xb, rtol=1e-6, atol=1e-9, err_msg=f"x after step {step}")
    ours_state = opt.state[opt.param_groups[0]["params"][0]]
    theirs_state = topt.state[topt.param_groups[0]["params"][0]]
    assert ours_state["func_evals"] == theirs_state["func_evals"]
    assert ours_state["n_iter"] == theirs_state["n_iter"]


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_mlp_with_several_parameters_matches_torch(line_search_fn):
    kwargs = {"lr": 0.5 if line_search_fn else 0.05, "max_iter": 6, "history_size": 4,
              "line_search_fn": line_search_fn}
    ours, _, our_losses = _train_mlp(chainrule, lambda p: optim.LBFGS(p, **kwargs), 4)
    theirs, _, their_losses = _train_mlp(torch, lambda p: torch.optim.LBFGS(p, **kwargs), 4)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-7)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-8)
    assert our_losses[-1] < our_losses[0]


def test_lbfgs_strong_wolfe_solves_rosenbrock():
    out, _ = _lbfgs_iterates(chainrule, optim.LBFGS,
                             {"lr": 1, "max_iter": 100, "line_search_fn": "strong_wolfe"}, 5)
    np.testing.assert_allclose(out[-1][1], np.ones(4), atol=1e-5)


def test_lbfgs_errors():
    x = chainrule.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [x]}, {"params": [chainrule.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS([x]).step(None)


# -- the base class -------------------------------------------------------------------------

def test_constructor_errors_match_torch():
    p = chainrule.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.SGD([1.0], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        optim.SGD([p], momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero damp"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid alpha value"):
        optim.RMSprop([p], alpha=-0.1)
    with pytest.raises(ValueError, match="Invalid rho value"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match="Invalid lr_decay value"):
        optim.Adagrad([p], lr_decay=-1)


def test_defaults_and_add_param_group():
    a, b = chainrule.zeros(2, requires_grad=True), chainrule.zeros(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.5, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.1})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.1
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    assert optim.SGD([a]).defaults["lr"] == 1e-3 == torch.optim.SGD([torch.zeros(1)]).defaults["lr"]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_named_parameters_are_accepted():
    a = chainrule.zeros(2, requires_grad=True)
    opt = optim.Adam([("weight", a)])
    assert opt.param_groups[0]["param_names"] == ["weight"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight"]


def test_zero_grad():
    p = chainrule.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and float(p.grad.abs().sum()) == 0.0
    opt.zero_grad()
    assert p.grad is None


def test_step_returns_closure_loss_and_records_no_graph():
    p = chainrule.ones(3, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()  # the closure runs with recording on even though step does not
        return loss
    loss = opt.step(closure)
    assert float(loss) == 3.0
    assert p.grad_fn is None and p.requires_grad
    assert chainrule.is_grad_enabled()


def test_step_bumps_version_so_stale_graphs_fail():
    p = chainrule.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    y = (p * p).sum()  # saves p
    p.grad = chainrule.ones(3)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_float32_parameters_stay_float32():
    p = chainrule.ones(3, requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad, optim.Adadelta):
        opt = cls([p], lr=0.1) if cls is not optim.SGD else cls([p], lr=0.1, momentum=0.9)
        p.grad = chainrule.ones(3)
        opt.step()
        opt.step()
        assert p.dtype == chainrule.float32
        for value in opt.state[p].values():
            if value.dim():
                assert value.dtype == chainrule.float32


def test_differentiable_flag_rejected():
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        optim.Adam([chainrule.zeros(1, requires_grad=True)], differentiable=True)


def test_repr_lists_groups():
    text = repr(optim.SGD([chainrule.zeros(1, requires_grad=True)], lr=0.1))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.1" in text


def test_sgd_step_works_in_place_without_new_arrays():
    """In steady state a momentum-SGD step updates parameters and buffers in place and reuses
    its scratch memory: it allocates no parameter-sized arrays. (Its speed is measured in
    benchmarks/, not asserted here: a timed test fails on a busy machine.)"""
    import tracemalloc
    params = [chainrule.zeros(s, requires_grad=True) for s in [(256, 128), (256,), (64, 256)]]
    for p in params:
        p.grad = chainrule.ones(p.shape)
    opt = optim.SGD(params, lr=0.01, momentum=0.9)
    opt.step()
    opt.step()  # momentum buffers and scratch exist from here on
    before = [p._data for p in params]
    tracemalloc.start()
    opt.step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 1024, f"an SGD step allocated {peak} bytes"  # one array: >= 64 KiB
    assert all(p._data is a for p, a in zip(params, before))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.zero_grad()


def test_step_hooks():
    p = chainrule.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", float(p[0]))))
    opt.register_step_post_hook(lambda o, a, k: calls.append(("post", float(p[0]))))
    p.grad = chainrule.ones(2)
    opt.step()
    assert calls == [("pre", 1.0), ("post", 0.5)]
    pre.remove()
    opt.step()
    assert calls[-1] == ("post", 0.0) and len(calls) == 3
