"""The ``Optimizer`` base class: parameter groups, per-parameter state, state dicts.

An optimizer holds ``param_groups``, a list of dicts, each with a ``"params"`` list and the
hyper-parameters for those parameters (``lr``, ``momentum``, ...; defaults filled in from the
constructor). Schedulers change ``group["lr"]`` between steps. ``state[p]`` holds what the
algorithm remembers about parameter ``p`` (momentum buffers, step counts).

``state_dict()`` has PyTorch's format: ``{"state": {index: {...}}, "param_groups": [{...,
"params": [index, ...]}]}``, where parameters are numbered in the order they appear across the
groups. It holds only tensors, numbers, strings, lists, tuples and dicts, so it round-trips
through ``chainrule.save``/``chainrule.load``; loading it into a fresh optimizer over the same
parameters continues training exactly where it stopped.
"""
from __future__ import annotations

import copy
import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from chainrule.autograd import engine
from chainrule.ops import optim_kernels as kernels
from chainrule.tensor import Tensor

__all__ = ["Optimizer", "required"]


def no_grad_step(step: Callable) -> Callable:
    """Decorator for ``Optimizer.step``: run the update without recording a graph (the
    closure, if any, still records: call it through ``Optimizer._closure_loss``)."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        hooks = self.__dict__.get("_step_pre_hooks")
        if hooks:
            for hook in list(hooks):
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
        previous = engine.GRAD_ENABLED
        engine.GRAD_ENABLED = False
        try:
            out = step(self, *args, **kwargs)
        finally:
            engine.GRAD_ENABLED = previous
        hooks = self.__dict__.get("_step_post_hooks")
        if hooks:
            for hook in list(hooks):
                hook(self, args, kwargs)
        return out
    return wrapper


class _RequiredParameter:
    """Marks a hyper-parameter with no default (it must be given per group)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
            groups: ``{"params": [...], "lr": ...}``).
        defaults: the default value of each hyper-parameter, used where a group gives none.

    Subclasses implement ``step(closure=None)``: read ``p.grad`` for each parameter of each
    group and update ``p`` in place (without recording a graph).

    Example:
        >>> import chainrule
        >>> w = chainrule.zeros(3, requires_grad=True)
        >>> opt = chainrule.optim.SGD([w], lr=0.1)
        >>> (w - 1).pow(2).sum().backward()
        >>> opt.step(); opt.zero_grad()
        >>> w
        tensor([0.2000, 0.2000, 0.2000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- construction --------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. when unfreezing
        layers during fine-tuning); missing hyper-parameters take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        param_group["params"] = tensors

        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- the loop -----------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None):
        """Update the parameters once from their ``.grad``.

        Args:
            closure: optional; re-evaluates the model and returns the loss (called with
                gradient recording on). Required by ``LBFGS``.
        """
        raise NotImplementedError

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: set ``.grad`` to ``None`` (default; saves memory, and an optimizer
                skips parameters whose grad is None) instead of filling it with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad.zero_()

    def register_step_pre_hook(self, hook: Callable) -> engine.RemovableHandle:
        """Run ``hook(optimizer, args, kwargs)`` before each ``step``; it may return new
        ``(args, kwargs)``. Returns a handle whose ``remove()`` takes the hook off."""
        return engine._add_hook(self, "_step_pre_hooks", hook)

    def register_step_post_hook(self, hook: Callable) -> engine.RemovableHandle:
        """Run ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return engine._add_hook(self, "_step_post_hooks", hook)

    @staticmethod
    def _closure_loss(closure):
        """Call ``closure`` with gradient recording on (``step`` itself runs with it off)."""
        if closure is None:
            return None
        previous = engine.GRAD_ENABLED
        engine.GRAD_ENABLED = True
        try:
            return closure()
        finally:
            engine.GRAD_ENABLED = previous

    def _with_grads(self, group: dict, *keys: str, make: Callable | None = None) -> tuple:
        """``(params, grads, *one list per key, steps)``: the group's parameters that have a
        ``.grad``, their grads, those state entries and step counters, in the same order.
        A missing entry (a new parameter, or an option turned on later) is made first, by
        ``make(key, p)``, by default zeros like p."""
        params = [p for p in group["params"] if p.grad is not None]
        states = [self.state[p] for p in params]
        for p, state in zip(params, states):
            if "step" not in state:
                state["step"] = kernels.step_counter()
            for key in keys:
                if key not in state:
                    state[key] = make(key, p) if make else kernels.zeros_state(p)
        return (params, [p.grad for p in params],
                *([state[key] for state in states] for key in keys),
                [state["step"] for state in states])

    # -- state dicts ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's format (see the module docstring).

        The state tensors are the live ones (as in PyTorch): copy the dict (or save it)
        before further steps if you need a snapshot.
        """
        index_of: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()`` of an optimizer over the same parameters.

        State tensors are copied and cast to their parameter's dtype (except ``step``
        counters); the groups' hyper-parameters are replaced by the saved ones.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        param_of = {}
        for g, s in zip(groups, saved_groups):
            param_of.update(zip(s["params"], g["params"]))

        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param = param_of[key]
                state[param] = _cast_state(param, value)
            else:
                state[key] = value
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups

    # -- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _cast_state(param: Tensor, value, key=None):
    """A copy of a saved state value with its tensors cast to ``param``'s dtype
    (``step`` counters keep theirs)."""
    if isinstance(value, Tensor):
        value = value.detach().clone()
        if key != "step" and param.is_floating_point() and value.dtype != param.dtype:
            value = value.to(param.dtype)
        return value
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return value


def check_hyperparameters(**checks: tuple[bool, str]) -> None:
    """Raise ``ValueError(message)`` for the first ``name=(ok, message)`` that is not ok."""
    for ok, message in checks.values():
        if not ok:
            raise ValueError(message)


def check_unsupported(name: str, differentiable: bool) -> None:
    """chainrule's updates are fused array kernels, not recorded: no differentiable=True."""
    if differentiable:
        raise ValueError(f"{name}: differentiable=True is not supported (chainrule updates "
                         "parameters with fused in-place kernels that are not recorded)")
