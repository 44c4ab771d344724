"""Anomaly detection: find the op that first produced a nan or an inf, and where it was called.

Inside ``detect_anomaly()`` (or after ``set_detect_anomaly(True)``):

- every op records the stack of the user's code that created it;
- forward: an op whose output contains nan/inf although its inputs were all finite raises
  an error naming the op and the line of user code that called it (ops that merely pass a
  nan on are not blamed: the first one is);
- backward: a node whose gradient contains nan/inf raises an error naming the node
  (``SqrtBackward0``) and showing where its forward op was created.

PyTorch checks only the backward pass; checking forward too catches ``log(0)`` at the line
that computes it rather than many ops later. Code that makes an inf on purpose and masks it
(``where(x > 0, x.log(), 0)``, a ``-inf`` attention mask) trips the forward check: compute on
safe values (``where(x > 0, x, 1).log()``) or pass ``check_forward=False``. Both checks cost
time: use them to debug.

Example:
    >>> with chainrule.autograd.detect_anomaly():
    ...     y = chainrule.tensor([0.0]).log()       # raises: Log produced -inf ... at <line>
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback
import warnings

import numpy as np

from . import engine
from .engine import AutogradError

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CHECK_FORWARD = [True]  # chainrule's addition to PyTorch's anomaly mode (see above)


def is_anomaly_enabled() -> bool:
    return engine.ANOMALY_MODE


def is_anomaly_check_nan_enabled() -> bool:
    return engine.ANOMALY_CHECK_NAN


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Context manager (or decorator) that turns anomaly detection on inside it.

    Args:
        check_nan: raise when a nan/inf appears (else only record where ops were created,
            which anomaly errors raised elsewhere then show).
        check_forward: also check forward outputs (chainrule's addition; PyTorch checks
            only backward).
    """

    def __init__(self, check_nan: bool = True, check_forward: bool = True) -> None:
        self.check_nan = check_nan
        self.check_forward = check_forward
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        self._previous = (engine.ANOMALY_MODE, engine.ANOMALY_CHECK_NAN, _CHECK_FORWARD[0])
        engine.ANOMALY_MODE, engine.ANOMALY_CHECK_NAN = True, self.check_nan
        _CHECK_FORWARD[0] = self.check_forward

    def __exit__(self, *exc) -> bool:
        engine.ANOMALY_MODE, engine.ANOMALY_CHECK_NAN, _CHECK_FORWARD[0] = self._previous
        return False


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off now; as a context manager, restore it on exit.

    Args:
        mode: True to enable, False to disable.
        check_nan, check_forward: as for ``detect_anomaly``.
    """

    def __init__(self, mode: bool, check_nan: bool = True, check_forward: bool = True) -> None:
        self._previous = (engine.ANOMALY_MODE, engine.ANOMALY_CHECK_NAN, _CHECK_FORWARD[0])
        engine.ANOMALY_MODE, engine.ANOMALY_CHECK_NAN = bool(mode), bool(check_nan)
        _CHECK_FORWARD[0] = bool(check_forward)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> bool:
        engine.ANOMALY_MODE, engine.ANOMALY_CHECK_NAN, _CHECK_FORWARD[0] = self._previous
        return False


# -- the forward check (called by ops.Function.__call__ in anomaly mode) -----------------------

def _inside_backward() -> bool:
    """True while the engine runs a backward pass: ops called by a node's backward are then
    judged by the engine's own check, which names the node and its creation site."""
    engine_file = engine.__file__
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == engine_file:
            return True
        frame = frame.f_back
    return False


def user_frames(stack) -> list:
    """``stack`` without its innermost chainrule-internal frames: it ends at the user's line."""
    frames = list(stack)
    while frames and os.path.abspath(frames[-1].filename).startswith(_PACKAGE_DIR + os.sep):
        frames.pop()
    return frames or list(stack)


def format_stack(stack, limit: int = 8) -> str:
    return "".join(traceback.format_list(user_frames(stack)[-limit:]))


def _describe_bad(array: np.ndarray) -> str:
    if array.dtype.kind == "c":
        array = np.abs(array)  # inf if either part is; nan if either part is (and none inf)
    kinds = []
    if np.isnan(array).any():
        kinds.append("nan")
    if np.isposinf(array).any():
        kinds.append("inf")
    if np.isneginf(array).any():
        kinds.append("-inf")
    bad = ~np.isfinite(array)
    first = np.argwhere(bad)[0].tolist() if array.ndim else []
    return (f"{' and '.join(kinds)} ({int(bad.sum())} of {array.size} elements; first at "
            f"index {first})")


def check_forward(op, arrays, out) -> None:
    """Raise if ``op`` turned finite inputs into a nan/inf output (anomaly mode only)."""
    if not (engine.ANOMALY_CHECK_NAN and _CHECK_FORWARD[0]):
        return
    outputs = out if type(out) is tuple else (out,)
    bad = [(i, o) for i, o in enumerate(outputs)
           if isinstance(o, np.ndarray) and o.dtype.kind in "fc" and not np.isfinite(o).all()]
    if not bad:
        return
    for a in arrays:
        a = np.asarray(a) if not isinstance(a, np.ndarray) else a
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            return  # the nan/inf came in: blame the op that made it, not this one
    if _inside_backward():
        return
    i, array = bad[0]
    inputs = ", ".join(f"{a.dtype}{list(a.shape)}" if isinstance(a, np.ndarray) else repr(a)
                       for a in arrays)
    where = format_stack(traceback.extract_stack()[:-2])
    raise AutogradError(
        f"Anomaly detected in forward: {type(op).__name__} (grad_fn {op.name()}) produced "
        f"{_describe_bad(array)} in its output {i}, although its inputs ({inputs}) were all "
        f"finite.\nThe op was called at (most recent call last):\n{where}")
