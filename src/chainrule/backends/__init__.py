"""``torch.backends`` on a CPU-only NumPy framework: the flags scripts set, and honest answers.

Training scripts often write ``torch.backends.cudnn.deterministic = True`` or ask
``torch.backends.mps.is_available()`` before choosing a device. Here there is no cuDNN, MPS
or CUDA backend: the ``is_available()`` questions answer False, and the cuDNN flags are plain
attributes that may be set (they change nothing: chainrule's CPU kernels are deterministic).
"""
from __future__ import annotations

from . import cuda, cudnn, mps  # noqa: F401
