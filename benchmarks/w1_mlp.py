"""W1: one training step of an MLP 784-512-512-10 (ReLU, cross-entropy, batch 128, SGD,
float32), chainrule vs PyTorch from the same weights and data."""
from __future__ import annotations

import numpy as np
import torch
from common import compare

import chainrule


def _build(lib, weights):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    return model, lib.optim.SGD(model.parameters(), lr=0.01)


def run(threads: int) -> dict:
    rng = np.random.default_rng(0)
    shapes = {"0.weight": (512, 784), "0.bias": (512,), "2.weight": (512, 512),
              "2.bias": (512,), "4.weight": (10, 512), "4.bias": (10,)}
    weights = {k: (rng.standard_normal(s) * 0.03).astype(np.float32) for k, s in shapes.items()}
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)

    def step_fn(lib):
        model, opt = _build(lib, weights)
        xb, yb = lib.tensor(x), lib.tensor(y)
        F = lib.nn.functional

        def step():
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        return step
    row = compare("W1: MLP 784-512-512-10 train step (b=128)", step_fn(chainrule),
                  step_fn(torch), repeats=60, warmup=5)
    row["threads"] = threads
    return row
