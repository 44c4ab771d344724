"""W2: one training step of LeNet-5 on 1x28x28 images (batch 64, SGD), chainrule vs PyTorch.

conv 6@5x5 pad 2, ReLU, maxpool 2, conv 16@5x5, ReLU, maxpool 2, fc 120, ReLU, fc 84, ReLU,
fc 10; cross-entropy; float32. Both libraries start from the same weights and data.

    python benchmarks/w2_lenet.py            # 1 and 2 threads, with peak memory

Measured 2026-11-25 on this project's 2-core AMD EPYC, idle, NumPy's OpenBLAS forced to its
AVX2 kernels (OPENBLAS_CORETYPE=Haswell), libraries alternating in blocks (common.compare):
chainrule/PyTorch 1.36-1.46x at 1 thread (5.5-6.5 ms vs 4.0-4.5 ms), 1.91-2.31x at 2 threads
(5.0-6.5 ms vs 2.6-2.8 ms: the convolutions split their batch over two threads, but at this
size handing work to a thread and back, ~50 us on this VM, eats much of the gain). The conv
GEMMs alone take ~2.4 ms, the thinnest slowly: conv1's weight gradient, (6 x 57344) @
(57344 x 25), runs at 29 GFLOP/s; the second conv (16@5x5 on 14x14) computes 40% junk
columns (see ops/im2col.py), and PyTorch's direct AVX-512 convolution runs it 3.6x faster.
Peak memory of a step: chainrule 15.9 MiB at 1 thread, 10.0 MiB at 2 (tracemalloc, of which
11.9 and 5.3 MiB is the conv workspace kept between steps), PyTorch 4.4 and 4.7 MiB.
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
