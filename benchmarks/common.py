"""Shared timing helpers: every workload is timed for chainrule and PyTorch in the same run.

Figures are medians over several runs after a warm-up, reported as ratios
chainrule/PyTorch (lower is better; 1.0 means as fast as PyTorch).
"""
from __future__ import annotations

import statistics
import time

import torch

import chainrule


def set_threads(n: int) -> None:
    """Same BLAS/intra-op thread count for both libraries."""
    chainrule.set_num_threads(n)
    torch.set_num_threads(n)


def compare(name: str, chainrule_fn, torch_fn, repeats: int = 15, warmup: int = 3,
            unit_count: int = 1, unit: str = "step") -> dict:
    """Time both, interleaving the libraries run by run to share the machine's noise fairly."""
    for _ in range(warmup):
        chainrule_fn()
        torch_fn()
    cr_times, pt_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        chainrule_fn()
        cr_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        torch_fn()
        pt_times.append(time.perf_counter() - start)
    cr, pt = statistics.median(cr_times), statistics.median(pt_times)
    return {"workload": name, "chainrule_s": cr / unit_count, "torch_s": pt / unit_count,
            "ratio": cr / pt, "unit": unit}


def print_table(rows: list[dict]) -> None:
    print(f"{'workload':<44} {'threads':>7} {'chainrule':>12} {'pytorch':>12} {'ratio':>7}")
    for r in rows:
        scale, suffix = (1e6, "us") if r["torch_s"] < 1e-3 else (1e3, "ms")
        print(f"{r['workload']:<44} {r['threads']:>7} "
              f"{r['chainrule_s'] * scale:>9.2f} {suffix} {r['torch_s'] * scale:>9.2f} {suffix} "
              f"{r['ratio']:>6.2f}x")
