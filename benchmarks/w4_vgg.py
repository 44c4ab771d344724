"""W4: one training step of a small VGG-style net on 3x32x32 images (batch 32, SGD with
momentum 0.9), chainrule vs PyTorch.

conv3x3 32, conv3x3 32, maxpool 2, conv3x3 64, conv3x3 64, maxpool 2, fc 256, fc 10 (all
convs padding 1; ReLU after every conv and fc but the last); cross-entropy; float32.

    python benchmarks/w4_vgg.py              # 1 and 2 threads, with peak memory

Measured 2026-11-25 on this project's 2-core AMD EPYC, idle, NumPy's OpenBLAS forced to its
AVX2 kernels (OPENBLAS_CORETYPE=Haswell), libraries alternating in blocks (common.compare),
five runs: chainrule/PyTorch 1.91-1.98x at 1 thread (71-73 ms vs 36-38 ms), 2.04-2.09x at 2
threads in the VM's fast phase (40.5-41 ms vs 19.4-20.2 ms; the convolutions, ReLU's
backward and max pooling split their work over two threads, see ops/_parallel.py; before
that, 2.47-3.19x). In the VM's slow phase chainrule's step takes ~47 ms and PyTorch's still
~21: 2.20-2.30x.

Where the time goes: the conv GEMMs take ~47 ms of chainrule's step at 1 thread, at
102-119 GFLOP/s, the AVX2 kernels' peak here; PyTorch's AVX-512 convolutions do the same
arithmetic twice as fast. With those GEMMs made no-ops the step takes 22.8 ms at 1 thread
and 17.5 ms at 2: im2col, the layout copies, pooling and ReLU are memory-bound and hardly
speed up on this VM (two threads copying 8 MB each get 51 + 44 GB/s, one alone 100 GB/s),
while the GEMMs split perfectly (23 ms at 2 threads).
Peak memory of a step: chainrule 36.9 MiB at 1 thread, 44.8 MiB at 2 (tracemalloc; 14.1 and
20.4 MiB of it the conv workspace kept between steps, each thread working on its own ~2 MB
chunks of images), PyTorch 25.2 and 29.6 MiB.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import cnn_workload  # noqa: E402

NAME = "W4: VGG-style train step (b=32, 3x32x32)"
INPUT_SHAPE = (32, 3, 32, 32)
REPEATS = 25
MOMENTUM = 0.9


def build(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 256), nn.ReLU(),
        nn.Linear(256, 10))


def run(threads: int, memory: bool = True) -> dict:
    return cnn_workload.run_workload(sys.modules[__name__], NAME, threads, memory=memory)


if __name__ == "__main__":
    cnn_workload.main(sys.modules[__name__], NAME)
