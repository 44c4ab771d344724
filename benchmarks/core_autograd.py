"""The cost of autograd itself.

- chain: forward + backward of 1,000 small elementwise ops (mul, add, tanh, sub, exp, sin,
  div, sigmoid cycling) on a 16-element tensor: almost all Python/dispatch overhead.
- matmul: forward + backward of a chain of 8 matmuls of 256x256 float32 matrices with a
  tanh between them: BLAS-bound, measures that we add little on top.
"""
from __future__ import annotations

import torch
from common import compare

import chainrule

N_OPS = 1000


def _chain(x):
    y = x
    for i in range(N_OPS // 8):
        y = y * 1.001
        y = y + 0.01
        y = y.tanh()
        y = y - 0.01
        y = (y * 0.1).exp()
        y = y.sin()
        y = y / 1.5
        y = y.sigmoid()
    return y.sum()


def _matmul_chain(x, weights):
    y = x
    for w in weights:
        y = (y @ w).tanh()
    return y.sum()


def run(threads: int) -> list[dict]:
    rows = []
    for lib in (chainrule, torch):
        lib.manual_seed(0)
    xc = chainrule.randn(16, requires_grad=True)
    xt = torch.tensor(xc.detach().numpy(), requires_grad=True)

    def step(lib_x):
        def fn():
            lib_x.grad = None
            _chain(lib_x).backward()
        return fn
    row = compare("autograd: 1000-op elementwise chain (per op)", step(xc), step(xt),
                  repeats=21, unit_count=N_OPS, unit="op")
    rows.append(row)

    wc = [chainrule.randn(256, 256, requires_grad=True) * 0.06 for _ in range(8)]
    wc = [w.detach().requires_grad_() for w in wc]
    wt = [torch.tensor(w.detach().numpy(), requires_grad=True) for w in wc]
    mc = chainrule.randn(256, 256, requires_grad=True)
    mt = torch.tensor(mc.detach().numpy(), requires_grad=True)

    def mstep(x, ws):
        def fn():
            _matmul_chain(x, ws).backward()
        return fn
    rows.append(compare("autograd: 8 x matmul 256x256 + tanh chain", mstep(mc, wc),
                        mstep(mt, wt), repeats=21))
    for r in rows:
        r["threads"] = threads
    return rows
