"""``torch.accelerator``: chainrule has none (it computes on the CPU with NumPy)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_accelerator(check_available: bool = False):
    if check_available:
        return None
    return None
