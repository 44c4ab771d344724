"""W2: one training step of LeNet-5 on 1x28x28 images (batch 64, SGD), chainrule vs PyTorch.

conv 6@5x5 pad 2, ReLU, maxpool 2, conv 16@5x5, ReLU, maxpool 2, fc 120, ReLU, fc 84, ReLU,
fc 10; cross-entropy; float32. Both libraries start from the same weights and data.

    python benchmarks/w2_lenet.py            # 1 and 2 threads, with peak memory

Measured 2026-11-25 on this project's shared 2-core CPU (medians of 20 interleaved steps;
other processes were loading the machine, so single runs vary by ~30%): chainrule/PyTorch
1.06-1.26x at 1 thread (typically 1.1x), 1.06-1.35x at 2 threads. Peak memory of a step:
chainrule 21 MiB (tracemalloc, of which 17 MiB is the conv workspace kept between steps),
PyTorch 4.4 MiB (profiler memory events).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import cnn_workload  # noqa: E402

NAME = "W2: LeNet-5 train step (b=64, 1x28x28)"
INPUT_SHAPE = (64, 1, 28, 28)
REPEATS = 100  # a short step: more runs for a stable median
MOMENTUM = 0.0


def build(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def run(threads: int, memory: bool = True) -> dict:
    return cnn_workload.run_workload(sys.modules[__name__], NAME, threads, memory=memory)


if __name__ == "__main__":
    cnn_workload.main(sys.modules[__name__], NAME)
