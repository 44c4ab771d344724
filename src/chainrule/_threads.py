"""Thread control (``set_num_threads``): the BLAS library's threads, through threadpoolctl,
which are also how many threads chainrule's own parallel sections use (``ops/_parallel.py``).

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
    """Use ``n`` threads: for NumPy's matrix products (its BLAS library) and for the ops that
    split their work over threads of chainrule's own (convolutions, ReLU, max pooling)."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    blas = blas_controller()
    if blas is not None:
        blas.set_num_threads(int(n))


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS, and chainrule's own parallel ops, use."""
    blas = blas_controller()
    return blas.get_num_threads() if blas is not None else (os.cpu_count() or 1)


# OpenBLAS's idle workers busy-wait for new work for 2**28 cycles (~0.1 s) after each threaded
# product before they sleep; 2**SPIN_EXPONENT cycles (~0.1 ms at 2.5 GHz) still covers the
# gaps between the products of a training step, and no longer steals the cores that
# chainrule's own threads (ops/_parallel.py) need right after one.
SPIN_EXPONENT = 18
_spin_shortened = []  # [True] once tried


def shorten_blas_spin() -> bool:
    """Make OpenBLAS's idle workers sleep after ~0.1 ms instead of ~0.1 s; True if done.

    OpenBLAS reads OPENBLAS_THREAD_TIMEOUT once, when loaded, and its workers keep the value
    they started with; so this sets the variable, has OpenBLAS read its environment again and
    stops its workers (``blas_thread_shutdown_``, what OpenBLAS itself does before a fork),
    which the next threaded product starts afresh. Done once, from the first parallel section
    (when no chainrule thread is in BLAS), and not at all if the user set
    OPENBLAS_THREAD_TIMEOUT, set CHAINRULE_BLAS_TUNING=0, or the BLAS is not OpenBLAS. A
    program whose own threads run NumPy matrix products while chainrule starts its first
    parallel op should set CHAINRULE_BLAS_TUNING=0: stopping OpenBLAS's workers under a
    running product is not safe.
    """
    if _spin_shortened:
        return _spin_shortened[0]
    _spin_shortened.append(False)
    blas = blas_controller()
    if (blas is None or getattr(blas, "internal_api", None) != "openblas"
            or "OPENBLAS_THREAD_TIMEOUT" in os.environ
            or os.environ.get("CHAINRULE_BLAS_TUNING") == "0"):
        return False
    lib = blas.dynlib
    try:
        read_env, shutdown = lib.openblas_read_env, lib.blas_thread_shutdown_
    except AttributeError:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(SPIN_EXPONENT)
    try:
        read_env()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]
    shutdown()
    _spin_shortened[0] = True
    return True
