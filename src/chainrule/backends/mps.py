"""``torch.backends.mps`` (Apple GPUs): not available in chainrule."""
from __future__ import annotations


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
