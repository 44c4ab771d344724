"""Shared helpers for the nn tests: run the same computation in chainrule and PyTorch
(same inputs, same weights) and compare values and gradients; central finite differences."""
from __future__ import annotations

import numpy as np
import torch

import chainrule

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-5, "atol": 1e-5}}


def to_np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach()._data)


def assert_close(ours, theirs, dtype: str = "float64", what: str = "", **tol) -> None:
    tol = tol or TOL[dtype]
    a, b = to_np(ours), to_np(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch {b.shape}"
    np.testing.assert_allclose(a, b, err_msg=what, **tol)


def pair(array: np.ndarray, requires_grad: bool = True):
    """The same values as a chainrule and a torch tensor (float arrays require grad)."""
    grad = requires_grad and array.dtype.kind == "f"
    return (chainrule.tensor(array.copy(), requires_grad=grad),
            torch.tensor(array.copy(), requires_grad=grad))


def check_fn(ours, theirs, arrays, dtype: str = "float64", seed: int = 0, **tol) -> None:
    """Compare ``ours(*chainrule tensors)`` with ``theirs(*torch tensors)``: the value, then
    the gradient of every float input for a random upstream gradient."""
    rng = np.random.default_rng(seed)
    pairs = [pair(a) for a in arrays]
    out_c = ours(*[p[0] for p in pairs])
    out_t = theirs(*[p[1] for p in pairs])
    assert_close(out_c, out_t, dtype, "forward", **tol)
    if not out_t.requires_grad:
        return
    g = rng.standard_normal(tuple(out_t.shape)).astype(dtype)
    out_c.backward(chainrule.tensor(g))
    out_t.backward(torch.tensor(g))
    for i, (c, t) in enumerate(pairs):
        if t.requires_grad:
            assert (c.grad is None) == (t.grad is None), f"input {i}: grad presence differs"
            if t.grad is not None:
                assert_close(c.grad, t.grad, dtype, f"grad of input {i}", **tol)


def copy_torch_weights(torch_module, our_module) -> None:
    """Load torch's state dict (via NumPy) into our module."""
    state = {k: chainrule.tensor(v.detach().numpy().copy()) for k, v in
             torch_module.state_dict().items()}
    our_module.load_state_dict(state)


def check_module(ours, theirs, *arrays, dtype: str = "float64", seed: int = 0,
                 copy: bool = True, **tol) -> None:
    """Same weights in both modules; compare output, input grads and parameter grads."""
    if copy:
        copy_torch_weights(theirs, ours)
    check_fn(ours, theirs, arrays, dtype, seed, **tol)
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        q = ours_params[name]
        assert (q.grad is None) == (p.grad is None), f"{name}: grad presence differs"
        if p.grad is not None:
            assert_close(q.grad, p.grad, dtype, f"grad of {name}", **tol)
    for name, b in theirs.named_buffers():
        assert_close(dict(ours.named_buffers())[name], b, dtype, f"buffer {name}", **tol)


def numerical_grad(fn, arrays, index: int, eps: float = 1e-6) -> np.ndarray:
    """d sum(fn(*arrays) * w)/d arrays[index] by central differences, w fixed random."""
    base = [a.copy() for a in arrays]
    out = to_np(fn(*[chainrule.tensor(a) for a in base]))
    w = np.random.default_rng(1).standard_normal(out.shape)
    x = base[index]
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = (to_np(fn(*[chainrule.tensor(a) for a in base])) * w).sum()
        flat[k] = old - eps
        down = (to_np(fn(*[chainrule.tensor(a) for a in base])) * w).sum()
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return grad, w


def check_finite_differences(fn, arrays, indices=None, rtol: float = 1e-6,
                             atol: float = 1e-7) -> None:
    """Analytic gradients of ``fn`` (float64) against central finite differences."""
    indices = range(len(arrays)) if indices is None else indices
    for i in indices:
        expected, w = numerical_grad(fn, arrays, i)
        tensors = [chainrule.tensor(a.copy(), requires_grad=(j == i))
                   for j, a in enumerate(arrays)]
        out = fn(*tensors)
        out.backward(chainrule.tensor(w.astype(out._data.dtype)))
        np.testing.assert_allclose(tensors[i].grad._data, expected, rtol=rtol, atol=atol,
                                   err_msg=f"finite differences, input {i}")
