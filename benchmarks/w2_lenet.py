"""W2: one training step of LeNet-5 on 1x28x28 images (batch 64, SGD), chainrule vs PyTorch.

conv 6@5x5 pad 2, ReLU, maxpool 2, conv 16@5x5, ReLU, maxpool 2, fc 120, ReLU, fc 84, ReLU,
fc 10; cross-entropy; float32. Both libraries start from the same weights and data.

    python benchmarks/w2_lenet.py            # 1 and 2 threads, with peak memory

Measured 2026-11-25 on this project's 2-core AMD EPYC, idle, NumPy's OpenBLAS forced to its
AVX2 kernels (OPENBLAS_CORETYPE=Haswell), libraries alternating in blocks (common.compare),
five runs: chainrule/PyTorch 1.33-1.40x at 1 thread (6.3-6.9 ms vs 4.5-5.1 ms), 1.82-1.85x
at 2 threads in the VM's fast phase (4.9-5.2 ms vs 2.6-2.9 ms), up to 2.20x in its slow one.

Where the time goes, 1 thread. chainrule's three conv ops take ~4.3 ms of the step (forward
1.6, weight gradients 1.8, conv2's input gradient 0.9); the rest (pooling, ReLU, the linear
layers, loss, SGD, the engine) ~1.9 ms. PyTorch's two convolutions take ~1.8 ms forward and
backward, measured alone, and its max pooling is slow (ReLU + max pooling of the first
layer, forward and backward: 1.33 ms alone; chainrule ~0.5 ms): its step is mostly
arithmetic kernels, not per-op overhead. chainrule's conv GEMMs alone take ~2.4 ms, the
thinnest slowly: conv1's weight gradient, (6 x 57344) @ (57344 x 25), runs at 33 GFLOP/s
whichever way it is laid out (transposed, in chunks, batched per image); at 2 threads it
takes 0.48 ms instead of 0.77 since it goes through np.dot, which releases the GIL where
np.matmul, for a result of at most 500 elements, does not. The second conv (16@5x5 on 14x14)
computes 40% junk columns (see ops/im2col.py), and PyTorch's AVX-512 convolution runs it
3.6x faster. At 2 threads the copies and element-wise passes, memory-bound, hardly speed up
on this VM (two threads copying 8 MB each get 51 + 44 GB/s, one alone 100 GB/s), and handing
work to a thread and back costs ~50 us.
Peak memory of a step: chainrule 11.0 MiB at 1 thread, 10-16 MiB at 2, as the two threads'
chunks happen to overlap in time (tracemalloc, of which 6.7 and 5-11 MiB is the conv
workspace kept between steps), PyTorch 4.4 and 4.7 MiB.
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
