"""Optional dependencies (``chainrule[torch]``, ``chainrule[onnx]``), imported on first use."""
from __future__ import annotations


def require_torch():
    """``import torch``, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "chainrule.interop: this function needs PyTorch, which is an optional extra; "
            "install it with `pip install chainrule[torch]`") from exc
    return torch


def require_onnx():
    """``import onnx`` (and its helpers), or an ImportError that says how to install it."""
    try:
        import onnx
        from onnx import helper, numpy_helper  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "chainrule.interop: ONNX export needs the onnx package, an optional extra; install "
            "it with `pip install chainrule[onnx]`") from exc
    return onnx
