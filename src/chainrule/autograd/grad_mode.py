"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` (context managers and
decorators), and ``inference_mode`` (the same as no_grad here)."""
from __future__ import annotations

import functools

from . import engine


def is_grad_enabled() -> bool:
    return engine.GRAD_ENABLED


class _GradMode:
    """Base: a context manager that sets grad mode, usable as a decorator too."""

    mode = True

    def __enter__(self):
        self._previous = engine.GRAD_ENABLED
        engine.GRAD_ENABLED = self.mode

    def __exit__(self, *exc):
        engine.GRAD_ENABLED = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_GradMode):  # noqa: N801
    """Operations inside don't record a graph (parameter updates, evaluation)."""

    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Turn recording back on inside a ``no_grad`` block."""

    mode = True


class inference_mode(_GradMode):  # noqa: N801
    mode = False

    def __init__(self, mode: bool = True):
        self.mode = not mode

    def __call__(self, fn=None):
        if fn is None or isinstance(fn, bool):
            return self
        return super().__call__(fn)


class set_grad_enabled(_GradMode):  # noqa: N801
    """``set_grad_enabled(False)`` switches recording off at once, or within a ``with``."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = engine.GRAD_ENABLED
        engine.GRAD_ENABLED = self.mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        engine.GRAD_ENABLED = self._previous
        return False

    def __call__(self, fn):
        engine.GRAD_ENABLED = self._previous
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    return False
