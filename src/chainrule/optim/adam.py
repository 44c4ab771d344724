"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule.ops import optim_kernels as kernels

from .optimizer import Optimizer, check_hyperparameters, check_unsupported, no_grad_step

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014), PyTorch's algorithm.

    For each parameter ``p`` with gradient ``g`` at step ``t`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p                   (or p = p * (1 - lr * weight_decay) when
                                                    decoupled_weight_decay: AdamW)
        m = beta1 * m + (1 - beta1) * g            first moment
        v = beta2 * v + (1 - beta2) * g * g        second moment
        v_max = max(v_max, v), used for v below    (amsgrad)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)

    Args:
        params: tensors to optimize, or parameter groups (dicts).
        lr: learning rate (default 1e-3).
        betas: decay rates ``(beta1, beta2)`` of the moment averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the running maximum of ``v`` (Reddi et al., 2018).
        maximize: follow the gradient upward.
        decoupled_weight_decay: shrink the weights directly instead of adding an L2 term to
            the gradient (makes this AdamW).
        foreach, capturable, fused: accepted for compatibility.
        differentiable: must be False.

    State per parameter: ``step`` (0-d float32 tensor), ``exp_avg``, ``exp_avg_sq`` and,
    with amsgrad, ``max_exp_avg_sq``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_hyperparameters(
            lr=(lr >= 0.0, f"Invalid learning rate: {lr}"),
            eps=(eps >= 0.0, f"Invalid epsilon value: {eps}"),
            beta1=(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}"),
            beta2=(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}"),
            weight_decay=(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}"))
        check_unsupported(type(self).__name__, differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    @no_grad_step
    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a ``.grad``; returns the closure's loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            amsgrad = group["amsgrad"]
            keys = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            params, grads, exp_avgs, exp_avg_sqs, *maxima, steps = self._with_grads(
                group, *keys)
            if not params:
                continue
            max_exp_avg_sqs = maxima[0] if amsgrad else []
            beta1, beta2 = group["betas"]
            kernels.adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                          lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
                          eps=group["eps"], weight_decay=group["weight_decay"], amsgrad=amsgrad,
                          maximize=group["maximize"],
                          decoupled_weight_decay=group.get("decoupled_weight_decay", False))
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    The same as :class:`Adam` except that weight decay shrinks the parameters directly,
    ``p = p * (1 - lr * weight_decay)``, before the Adam update, instead of adding
    ``weight_decay * p`` to the gradient (where the adaptive denominator would rescale it).
    The default ``weight_decay`` is 1e-2.

    Example:
        >>> opt = AdamW(model.parameters(), lr=3e-4)   # doctest: +SKIP
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
