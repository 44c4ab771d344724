"""One BLAS/intra-op thread for these tests: their matrices are tiny, and on a busy 2-core
machine threads of both libraries spin against each other (seconds per test instead of ms)."""
from __future__ import annotations

import pytest
import torch

import chainrule


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before_cr, before_torch = chainrule.get_num_threads(), torch.get_num_threads()
    chainrule.set_num_threads(1)
    torch.set_num_threads(1)
    yield
    chainrule.set_num_threads(before_cr)
    torch.set_num_threads(before_torch)
