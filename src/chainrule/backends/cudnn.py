"""``torch.backends.cudnn``: not available; its flags are accepted and have no effect."""
from __future__ import annotations

enabled = True
deterministic = False
benchmark = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None
