"""``torch.cuda`` on a CPU-only framework: nothing is available, and it says so.

Scripts commonly ask ``torch.cuda.is_available()`` and fall back to the CPU; that works.
Asking for a CUDA device or tensor raises a clear error rather than silently using the CPU.
"""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """No CUDA generators exist; accepted so that seeding code runs unchanged."""


manual_seed_all = manual_seed


def synchronize(device=None) -> None:
    """Nothing to wait for on the CPU."""


def empty_cache() -> None:
    """No CUDA memory to release."""


def current_device() -> int:
    raise RuntimeError("cuda.current_device: chainrule runs on the CPU only (no CUDA devices)")


def get_device_name(device=None) -> str:
    raise RuntimeError("cuda.get_device_name: chainrule runs on the CPU only (no CUDA devices)")


def is_initialized() -> bool:
    return False
