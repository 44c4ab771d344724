"""Devices: chainrule computes on the CPU only, and says so clearly when asked for another."""
from __future__ import annotations


class device:  # noqa: N801 - PyTorch's spelling
    """``device("cpu")``. Any other device type raises a clear error instead of falling back."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device" = "cpu", index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu', got {type!r}")
        name, _, idx = type.partition(":")
        if idx:
            index = int(idx)
        if name != "cpu":
            raise RuntimeError(
                f"device: chainrule runs on the CPU only; got device {type!r}. "
                "Move the model to PyTorch with chainrule.interop.to_torch(model) to use GPUs.")
        self.type = "cpu"
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return "device(type='cpu')"
        return f"device(type='cpu', index={self.index})"

    def __str__(self) -> str:
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)


CPU = device("cpu")


def check_device(dev, where: str) -> None:
    """Accept None, "cpu", device("cpu") or an int 0-less CPU spec; raise for anything else."""
    if dev is None or dev is CPU:
        return
    if isinstance(dev, int):
        raise RuntimeError(f"{where}: device {dev} means a CUDA device; chainrule runs on the "
                           "CPU only")
    try:
        device(dev)
    except RuntimeError as e:
        raise RuntimeError(f"{where}: {e}") from None
