"""``torch.backends.cuda``: chainrule is not built with CUDA."""
from __future__ import annotations


def is_built() -> bool:
    return False
