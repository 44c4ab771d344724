"""Train a multilayer perceptron on the 8x8 handwritten digits, PyTorch style.

This is an ordinary PyTorch training script (Dataset, DataLoader, an nn.Module subclass, an
optimizer and a learning-rate scheduler, a train/test loop, checkpointing, a tqdm progress
bar). It runs on chainrule by default and on real PyTorch with ``--backend torch``:

    python examples/train_mlp_digits.py                   # chainrule
    python examples/train_mlp_digits.py --backend torch   # the same script on PyTorch

Measured on this project's idle 2-core CPU (default settings, 30 epochs, 1,350 steps):
test accuracy 97.8 / 98.3 / 97.5 / 98.1 / 98.1% for seeds 0-4, in about 0.4 s of training
(PyTorch on the same script: about 0.5 s). With --quiet off, the progress bar adds time.

The digits are the UCI handwritten digits test set that ships inside chainrule
(1,437 training and 360 test images of 8x8 pixels, the split of chainrule.datasets.Digits).
"""
from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

import numpy as np

from chainrule.datasets import load_digits

try:
    from tqdm import tqdm
except ImportError:  # tqdm is optional: plain iteration without a progress bar
    def tqdm(iterable, **kwargs):
        return iterable


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="chainrule", choices=["chainrule", "torch"])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--init", help="an .npz of initial weights (state-dict names)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--no-shuffle", action="store_true",
                   help="keep the (seeded, pre-shuffled) order: identical batches on any backend")
    p.add_argument("--losses-out", help="write the per-step training losses as JSON here")
    p.add_argument("--checkpoint", default=None, help="save model+optimizer state here")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch = importlib.import_module(args.backend)
    nn = torch.nn
    F = torch.nn.functional
    from importlib import import_module
    data = import_module(f"{args.backend}.utils.data")
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(args.seed)

    class MLP(nn.Module):
        def __init__(self, n_in=64, hidden=128, n_out=10):
            super().__init__()
            self.fc1 = nn.Linear(n_in, hidden)
            self.fc2 = nn.Linear(hidden, hidden)
            self.fc3 = nn.Linear(hidden, n_out)

        def forward(self, x):
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    X, y = load_digits()
    X = X / 16.0
    is_test = np.arange(len(y)) % 5 == 0  # chainrule.datasets.Digits' split
    order = np.random.default_rng(args.seed).permutation(int((~is_test).sum()))
    train_x, train_y = X[~is_test][order], y[~is_test][order]  # same order on every backend
    test_x, test_y = X[is_test], y[is_test]
    train_set = data.TensorDataset(torch.tensor(train_x, dtype=dtype), torch.tensor(train_y))
    test_set = data.TensorDataset(torch.tensor(test_x, dtype=dtype), torch.tensor(test_y))
    train_loader = data.DataLoader(train_set, batch_size=args.batch_size,
                                   shuffle=not args.no_shuffle)
    test_loader = data.DataLoader(test_set, batch_size=256)

    model = MLP().to(dtype)
    if args.init:
        weights = np.load(args.init)
        model.load_state_dict({k: torch.tensor(weights[k], dtype=dtype) for k in weights.files})
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)

    losses, step = [], 0
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                   disable=args.quiet)
        for xb, yb in bar:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss.item():.4f}")
            if args.max_steps and step >= args.max_steps:
                break
        scheduler.step()
        if args.max_steps and step >= args.max_steps:
            break
    train_seconds = time.perf_counter() - start

    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in test_loader:
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
    accuracy = correct / len(test_set)

    if args.checkpoint:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "epoch": epoch}, args.checkpoint)
    if args.losses_out:
        Path(args.losses_out).write_text(json.dumps(losses))
    if not args.quiet:
        print(f"{args.backend}: test accuracy {accuracy:.4f}, {step} steps in "
              f"{train_seconds:.1f} s, final loss {losses[-1]:.4f}")
    return {"accuracy": accuracy, "losses": losses, "seconds": train_seconds}


if __name__ == "__main__":
    main()
