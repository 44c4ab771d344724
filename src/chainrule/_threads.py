"""BLAS thread control (``set_num_threads``), through threadpoolctl.

The BLAS library under NumPy is found once (scanning loaded libraries takes milliseconds);
after that, getting and setting its thread count are direct calls into the library.
"""
from __future__ import annotations

import os

_controller = []  # [the BLAS library's threadpoolctl controller, or None]; empty = not looked up


def blas_controller():
    """threadpoolctl's controller of NumPy's BLAS library, or None if none is controllable."""
    if not _controller:
        try:
            from threadpoolctl import ThreadpoolController
            found = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        except Exception:  # noqa: BLE001 - no controllable BLAS: leave threading alone
            found = []
        _controller.append(found[0] if found else None)
    return _controller[0]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the BLAS library under NumPy's matrix products."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    blas = blas_controller()
    if blas is not None:
        blas.set_num_threads(int(n))


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses for matrix products."""
    blas = blas_controller()
    return blas.get_num_threads() if blas is not None else (os.cpu_count() or 1)
