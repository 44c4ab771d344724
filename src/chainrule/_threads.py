"""BLAS thread control (``set_num_threads``), through threadpoolctl."""
from __future__ import annotations

import os

from threadpoolctl import threadpool_info, threadpool_limits

_limits = None


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the BLAS library under NumPy's matrix products."""
    global _limits
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    _limits = threadpool_limits(limits=int(n), user_api="blas")


def get_num_threads() -> int:
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return int(pool["num_threads"])
    return os.cpu_count() or 1
