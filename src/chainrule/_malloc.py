"""Keep freed array memory for reuse: glibc ``malloc`` tuned for NumPy's large temporaries.

Why: a training step allocates and frees the same multi-megabyte arrays (activations,
gradients, masks) every step. With glibc's defaults much of that memory goes back to the
operating system at the end of a step (blocks from ``mmap``, and a heap top over the trim
threshold), so the next step gets fresh pages, each faulted in and zeroed by the kernel on
first touch. Measured on this project's 2-core machine, one LeNet-5 training step (W2 in
benchmarks/) took 7.8 ms with glibc's defaults and 5.2 ms with the settings below; a
VGG-style step (W4) 79 ms and 74 ms.

What: on import, on Linux with glibc, chainrule sets ``M_MMAP_THRESHOLD`` to 32 MiB (glibc's
own upper bound for its adaptive threshold: arrays below it come from the heap and are
reused) and ``M_TRIM_THRESHOLD`` to 128 MiB (up to that much freed memory is kept for the
next step rather than returned at once). The price: a process may hold up to 128 MiB more
than it needs right after its peak. The settings apply to the whole process (NumPy,
PyTorch in the same process, everything else that calls ``malloc``).

Not done when ``CHAINRULE_MALLOC_TUNING=0`` is set, or when the user already tunes glibc's
malloc (any ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the environment), or
on other C libraries and systems.
"""
from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's <malloc.h>
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

tuned = False  # whether tune_malloc changed the settings in this process


def _is_glibc() -> bool:
    """Asked of the C library itself (``platform.libc_ver`` reads the interpreter's binary:
    6 ms at every import)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (ValueError, OSError, AttributeError):
        return False


def tune_malloc() -> bool:
    """Apply the settings above if this is glibc and nobody opted out; True if applied."""
    global tuned
    if os.environ.get("CHAINRULE_MALLOC_TUNING", "1") == "0" or \
            any(name in os.environ for name in _USER_SETTINGS):
        return False
    if not sys.platform.startswith("linux") or not _is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success (and setting either ends glibc's adaptive thresholds)
    tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return tuned
