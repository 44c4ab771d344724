"""Shared machinery of the CNN workloads (W2 LeNet-5, W4 VGG-style): build the same model in
chainrule and PyTorch from the same weights, time one training step of each in the same
process (the libraries taking turns in blocks, median after warm-up, see common.compare),
and measure peak memory of a step.

Peak memory of one training step (in steady state: gradients and momentum buffers exist):
- chainrule (``chainrule_tracemalloc_mb``): the peak of NumPy allocations during the step
  above what was allocated when it began (``tracemalloc``, to which NumPy reports), starting
  from an empty conv workspace (the scratch buffers the conv ops keep between steps, see
  ``chainrule.ops.conv.Workspace``; ``chainrule_workspace_mb`` is what it holds afterwards).
- PyTorch (``torch_profiler_mb``): the peak of the profiler's running 'Total Allocated'
  over the step's ``[memory]`` events (``profile_memory=True``). Blocks allocated before the
  step (last step's gradients) are not subtracted when freed, so this errs high by up to the
  size of the gradients (tracemalloc does subtract them).
"""
from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import chainrule
import chainrule.optim  # noqa: F401  (lib.optim below)
from chainrule.ops.conv import WORKSPACE, clear_workspace

sys.path.insert(0, str(Path(__file__).parent))
from common import compare, set_threads  # noqa: E402


def make_step(lib, build: Callable, weights: dict, x: np.ndarray, y: np.ndarray,
              momentum: float) -> Callable[[], None]:
    """One SGD training step (zero_grad, forward, cross-entropy, backward, step) for ``lib``."""
    model = build(lib)
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=momentum)
    xb, yb = lib.tensor(x), lib.tensor(y)
    cross_entropy = lib.nn.functional.cross_entropy

    def step() -> None:
        opt.zero_grad()
        cross_entropy(model(xb), yb).backward()
        opt.step()
    return step


def make_inputs(build: Callable, input_shape: tuple, seed: int = 0):
    """Random weights in PyTorch's initialisation scale, a random batch and labels."""
    torch.manual_seed(seed)
    weights = {k: v.detach().numpy().copy() for k, v in build(torch).state_dict().items()}
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape).astype(np.float32)
    y = rng.integers(0, 10, input_shape[0])
    return weights, x, y


def tracemalloc_peak_mb(step: Callable[[], None]) -> float:
    step()  # steady state: momentum buffers and grads exist
    # Start from an empty conv workspace so that its buffers count in the step's peak.
    clear_workspace()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - base) / 2**20


def torch_profiler_peak_mb(step: Callable[[], None]) -> float:
    """Peak of PyTorch's CPU allocations during one step, from the profiler's memory events
    ('Total Allocated' counts bytes allocated since profiling began minus those freed)."""
    import os
    import tempfile
    import warnings

    from torch.profiler import ProfilerActivity, profile
    step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            step()
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    finally:
        os.unlink(path)
    totals = [e["args"]["Total Allocated"] for e in events if e.get("name") == "[memory]"]
    return max(totals, default=0) / 2**20


def run_workload(module, name: str, threads: int, repeats: int = 20, warmup: int = 5,
                 memory: bool = True) -> dict:
    set_threads(threads)
    weights, x, y = make_inputs(module.build, module.INPUT_SHAPE)
    cr_step = make_step(chainrule, module.build, weights, x, y, module.MOMENTUM)
    pt_step = make_step(torch, module.build, weights, x, y, module.MOMENTUM)
    row = compare(name, cr_step, pt_step, repeats=getattr(module, "REPEATS", repeats),
                  warmup=warmup)
    row["threads"] = threads
    if memory:
        row["chainrule_tracemalloc_mb"] = tracemalloc_peak_mb(cr_step)
        row["chainrule_workspace_mb"] = WORKSPACE.nbytes / 2**20
        row["torch_profiler_mb"] = torch_profiler_peak_mb(pt_step)
    return row


def main(module, name: str) -> None:
    """``python benchmarks/w2_lenet.py [--no-memory]``: both thread counts, one table."""
    from common import print_table
    memory = "--no-memory" not in sys.argv
    rows = [run_workload(module, name, t, memory=memory) for t in (1, 2)]
    print_table(rows)
    if memory:
        for r in rows:
            print(f"threads={r['threads']}: peak memory of a step: chainrule "
                  f"{r['chainrule_tracemalloc_mb']:.1f} MiB (tracemalloc; of which "
                  f"{r['chainrule_workspace_mb']:.1f} MiB conv workspace kept for the next "
                  "step); PyTorch "
                  f"{r['torch_profiler_mb']:.1f} MiB (profiler memory events)")
