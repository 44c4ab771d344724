"""W3: one training step of a character LSTM language model, chainrule vs PyTorch.

Model: embedding 65 -> 64, 1-layer LSTM with 256 hidden units, linear 256 -> 65 at every
step; cross-entropy over all 32 x 64 predictions; full backpropagation through time; Adam.
Both libraries start from the same weights and see the same batch (float32).

    python benchmarks/w3_lstm.py        # 1 and 2 threads

Measured 2026-11-25 on this project's 2-core AMD EPYC, idle, libraries alternating in blocks
(common.compare): 47-50 ms vs 25-26 ms at 1 thread (1.87-1.94x), 30-36 ms vs 14-16 ms at 2
threads (2.08-2.25x). Where chainrule's time goes (1 thread): the GEMMs alone take about
36 ms, 1.4x PyTorch's whole step (per-step recurrent GEMMs forward and backward ~19.5 ms,
the one weight-gradient GEMM ~8.5 ms, input projection ~6.7 ms, output projection ~1.7 ms),
because NumPy's OpenBLAS is forced here to its AVX2 ("Haswell") kernels at ~105-127
GFLOP/s, while PyTorch's LSTM is oneDNN's fused AVX-512 kernel; the rest is ~13 ms of
per-step elementwise kernels and the framework around them. With OpenBLAS's native
(AVX-512) kernels (``benchmarks/run.py --native-blas``) the ratio is 1.50x at 1 thread.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import torch
from common import compare, print_table, set_threads

import chainrule
import chainrule.optim

VOCAB, EMBED, HIDDEN, BATCH, STEPS = 65, 64, 256, 32, 64


def _model(lib):
    nn = lib.nn

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, x):
            out, _ = self.lstm(self.embed(x))
            return self.head(out)

    return CharLSTM()


def _weights(seed: int = 0) -> dict:
    """One set of initial weights for both libraries (taken from a fresh PyTorch model)."""
    torch.manual_seed(seed)
    return {k: v.detach().numpy().copy() for k, v in _model(torch).state_dict().items()}


def make_step(lib, weights: dict, x: np.ndarray, y: np.ndarray):
    """A closure running one training step (zero_grad, forward, loss, backward, Adam step)."""
    model = _model(lib)
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    optimizer = lib.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    xb, yb = lib.tensor(x), lib.tensor(y)

    def step():
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits.reshape(-1, VOCAB), yb.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss
    return step


def run(threads: int) -> dict:
    """Median step time of both libraries at ``threads`` BLAS/intra-op threads."""
    set_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (BATCH, STEPS))
    y = rng.integers(0, VOCAB, (BATCH, STEPS))
    weights = _weights()
    row = compare("W3: char-LSTM 65-64-256-65 train step (32x64)",
                  make_step(chainrule, weights, x, y), make_step(torch, weights, x, y),
                  repeats=25, warmup=2)
    row["threads"] = threads
    return row


if __name__ == "__main__":
    print_table([run(1), run(2)])
