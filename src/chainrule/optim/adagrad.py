"""Adagrad: per-coordinate learning rates that shrink with the accumulated squared gradient."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule.ops import optim_kernels as kernels

from .optimizer import Optimizer, check_hyperparameters, check_unsupported, no_grad_step

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's algorithm.

    For each parameter ``p`` with gradient ``g`` at step ``t`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                              (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    Args:
        params: tensors to optimize, or parameter groups (dicts).
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of ``s`` (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: follow the gradient upward.
        foreach, fused: accepted for compatibility.
        differentiable: must be False.

    As in PyTorch, the state (``step``, ``sum``) is created for every parameter when the
    optimizer is constructed.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_hyperparameters(
            lr=(lr >= 0.0, f"Invalid learning rate: {lr}"),
            lr_decay=(lr_decay >= 0.0, f"Invalid lr_decay value: {lr_decay}"),
            weight_decay=(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}"),
            initial=(initial_accumulator_value >= 0.0,
                     f"Invalid initial_accumulator_value value: {initial_accumulator_value}"),
            eps=(eps >= 0.0, f"Invalid epsilon value: {eps}"))
        check_unsupported("Adagrad", differentiable)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = kernels.step_counter()
                state["sum"] = kernels.full_state(p, group["initial_accumulator_value"])

    def share_memory(self) -> None:
        """No-op (there are no worker processes to share with)."""

    @no_grad_step
    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a ``.grad``; returns the closure's loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            init = group["initial_accumulator_value"]  # (a group added after construction)
            params, grads, sums, steps = self._with_grads(
                group, "sum", make=lambda key, p: kernels.full_state(p, init))
            if not params:
                continue
            kernels.adagrad_(params, grads, sums, steps, lr=float(group["lr"]),
                             lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
                             eps=group["eps"], maximize=group["maximize"])
        return loss
