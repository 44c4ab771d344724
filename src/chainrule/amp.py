"""``torch.amp`` on a framework without reduced-precision kernels: full precision, honestly.

Mixed-precision training scripts (``with torch.autocast(...)``, ``GradScaler``) run unchanged:

- :class:`autocast` is a context manager (and decorator) that changes nothing: chainrule
  computes every op in its inputs' dtype. When enabled it warns once, so nobody believes
  they measured float16 speed.
- :class:`GradScaler` passes through, exactly like PyTorch's own scaler on a machine without
  CUDA (which disables itself): ``scale(loss)`` returns ``loss``, ``step(optimizer)`` calls
  ``optimizer.step()``, ``update()`` does nothing. Without float16 gradients nothing can
  underflow, so there is nothing to scale.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any

__all__ = ["GradScaler", "autocast", "is_autocast_available"]

_warned = False


def is_autocast_available(device_type: str) -> bool:
    """False: chainrule has no reduced-precision autocast for any device."""
    return False


class autocast(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """``with autocast(device_type, dtype=None, enabled=True):`` computes in full precision."""

    def __init__(self, device_type: str = "cpu", dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device_type, self.dtype, self.enabled = device_type, dtype, bool(enabled)

    def __enter__(self) -> "autocast":
        global _warned
        if self.enabled and not _warned:
            _warned = True
            warnings.warn("autocast: chainrule has no mixed-precision kernels; the code inside "
                          "runs in full precision (this warning is shown once)", UserWarning,
                          stacklevel=2)
        return self

    def __exit__(self, *exc) -> None:
        return None


class GradScaler:
    """A pass-through gradient scaler (PyTorch's scaler disables itself without CUDA, too)."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._requested = bool(enabled)

    def is_enabled(self) -> bool:
        return False

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer) -> None:
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        return None
