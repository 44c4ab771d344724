"""Helpers shared by the recurrent-layer tests: torch <-> chainrule copies and comparisons."""
from __future__ import annotations

import numpy as np
import torch

import chainrule

TOL64 = {"rtol": 1e-10, "atol": 1e-11}
TOL32 = {"rtol": 1e-4, "atol": 2e-5}


def cr_tensor(t: torch.Tensor, requires_grad: bool = False) -> chainrule.Tensor:
    """A chainrule leaf with the values (and dtype) of a torch tensor."""
    return chainrule.tensor(t.detach().numpy().copy(), requires_grad=requires_grad)


def copy_weights(torch_module: torch.nn.Module, cr_module) -> None:
    """Load the torch module's state dict into the chainrule module (names must agree)."""
    state = {k: cr_tensor(v) for k, v in torch_module.state_dict().items()}
    missing, unexpected = cr_module.load_state_dict(state)
    assert not missing and not unexpected


def assert_close(actual, expected, what: str, tol: dict) -> None:
    a = actual.detach().numpy() if isinstance(actual, chainrule.Tensor) else np.asarray(actual)
    e = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    np.testing.assert_allclose(a, e, err_msg=what, **tol)


def assert_param_grads(cr_module, torch_module, tol: dict) -> None:
    torch_params = dict(torch_module.named_parameters())
    names = [n for n, _ in cr_module.named_parameters()]
    assert names == list(torch_params), "parameter names/order differ from torch"
    for name, p in cr_module.named_parameters():
        assert p.grad is not None, f"{name}: no gradient"
        assert_close(p.grad, torch_params[name].grad, f"grad of {name}", tol)


def numerical_grad(f, arrays: list, index: int, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f(*arrays)`` with respect to ``arrays[index]``."""
    x = arrays[index]
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        keep = flat[k]
        flat[k] = keep + eps
        up = f(*arrays)
        flat[k] = keep - eps
        down = f(*arrays)
        flat[k] = keep
        gflat[k] = (up - down) / (2 * eps)
    return grad
