"""Shared timing helpers: every workload is timed for chainrule and PyTorch in the same run.

Figures are medians over several runs after a warm-up, reported as ratios
chainrule/PyTorch (lower is better; 1.0 means as fast as PyTorch). Importing chainrule tunes
glibc's malloc for the whole process (see chainrule/_malloc.py), so PyTorch, timed in the same
process, runs with the same allocator settings.
"""
from __future__ import annotations

import statistics
import time

import torch

import chainrule

PAUSE_S = 0.2  # between blocks (see compare)


def set_threads(n: int) -> None:
    """Same BLAS/intra-op thread count for both libraries."""
    chainrule.set_num_threads(n)
    torch.set_num_threads(n)


def compare(name: str, chainrule_fn, torch_fn, repeats: int = 15, warmup: int = 3,
              unit_count: int = 1, unit: str = "step", blocks: int = 5) -> dict:
    """Median time of each, the libraries taking turns in blocks of back-to-back runs.

    Each library runs ``repeats`` times in all, in ``blocks`` blocks that alternate between the
    libraries (so that both see the machine's slow and fast moments), each block after a short
    pause and ``warmup`` untimed runs. Not run by run: then each library's BLAS/OpenMP worker
    threads were still spinning, waiting for work, while the other one ran; at 2 threads that
    slowed whichever ran second by up to 2.5x (PyTorch's LeNet step: 7.5 ms interleaved run by
    run, 2.9 ms alone).
    """
    per_block = max(1, -(-repeats // blocks))
    times: dict = {"chainrule": [], "torch": []}
    for _ in range(blocks):
        for lib, fn in (("chainrule", chainrule_fn), ("torch", torch_fn)):
            time.sleep(PAUSE_S)  # let the other library's worker threads go back to sleep
            for _ in range(warmup):
                fn()
            for _ in range(per_block):
                start = time.perf_counter()
                fn()
                times[lib].append(time.perf_counter() - start)
    cr, pt = statistics.median(times["chainrule"]), statistics.median(times["torch"])
    return {"workload": name, "chainrule_s": cr / unit_count, "torch_s": pt / unit_count,
            "ratio": cr / pt, "unit": unit}


def print_table(rows: list[dict]) -> None:
    print(f"{'workload':<44} {'threads':>7} {'chainrule':>12} {'pytorch':>12} {'ratio':>7}")
    for r in rows:
        scale, suffix = (1e6, "us") if r["torch_s"] < 1e-3 else (1e3, "ms")
        print(f"{r['workload']:<44} {r['threads']:>7} "
              f"{r['chainrule_s'] * scale:>9.2f} {suffix} {r['torch_s'] * scale:>9.2f} {suffix} "
              f"{r['ratio']:>6.2f}x")
