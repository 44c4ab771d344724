"""Top-level switches of modern PyTorch scripts that have nothing to switch in chainrule.

- :func:`compile` returns the model (or function) unchanged: there is no compiler here, and
  eager execution gives the same numbers.
- :func:`use_deterministic_algorithms` records the request; chainrule's NumPy kernels are
  deterministic already (no atomics, no autotuning), so both settings behave the same.
"""
from __future__ import annotations

from typing import Any, Callable

_deterministic = False


def compile(model: Callable | None = None, *, fullgraph: bool = False,  # noqa: A001
            dynamic: bool | None = None, backend: Any = "inductor", mode: str | None = None,
            options: dict | None = None, disable: bool = False) -> Any:
    """``torch.compile``: returns ``model`` unchanged (usable as ``@compile`` too)."""
    if model is None:
        return lambda fn: fn
    return model


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted: every chainrule kernel is deterministic whatever ``mode`` says."""
    global _deterministic
    _deterministic = bool(mode)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic
