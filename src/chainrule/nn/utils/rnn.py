"""Variable-length batches for recurrent layers: padding and packing (PyTorch's
``torch.nn.utils.rnn``).

A batch of sequences of different lengths can be *padded* into one ``(T, B, *)`` tensor
(:func:`pad_sequence`), or *packed* (:func:`pack_padded_sequence`, :func:`pack_sequence`):
the sequences are sorted by decreasing length and the valid rows of every time step are laid
one step after another, so ``PackedSequence.data`` has ``sum(lengths)`` rows and
``batch_sizes[t]`` says how many sequences are still running at step ``t``. Recurrent layers
read that layout directly and never compute on padding; :func:`pad_packed_sequence` turns it
back into a padded tensor. Every function here is built from differentiable tensor ops, so
gradients flow through packing and unpacking.

Example:
    >>> import chainrule as torch
    >>> from chainrule.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    >>> padded = torch.tensor([[1., 4.], [2., 5.], [3., 0.]])   # (T=3, B=2), lengths 3 and 2
    >>> packed = pack_padded_sequence(padded, [3, 2])
    >>> packed.data.tolist(), packed.batch_sizes.tolist()
    ([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
    >>> pad_packed_sequence(packed)[1].tolist()
    [3, 2]
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import chainrule
from chainrule import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """A batch of variable-length sequences in packed layout (see the module docstring).

    Attributes:
        data: ``(sum(lengths), *)``, time step after time step.
        batch_sizes: int64 ``(T,)``, sequences still running at each step (non-increasing).
        sorted_indices: the original batch index of each packed column (None if the batch
            was already sorted by decreasing length).
        unsorted_indices: the inverse permutation, to put results back in the original order.

    Do not build one by hand: use :func:`pack_padded_sequence` or :func:`pack_sequence`.
    """

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None, unsorted_indices: Tensor | None = None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            raise TypeError("PackedSequence: batch_sizes is required (use pack_padded_sequence "
                            "or pack_sequence to build one)")
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = chainrule.tensor(list(batch_sizes), dtype=chainrule.int64)
        if batch_sizes.ndim != 1:
            raise ValueError(f"PackedSequence: batch_sizes must be 1-D, got shape "
                             f"{tuple(batch_sizes.shape)}")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Move/cast ``data`` as ``Tensor.to`` does (the index tensors are unchanged)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(
            data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def float(self) -> PackedSequence:
        return self.to(chainrule.float32)

    def double(self) -> PackedSequence:
        return self.to(chainrule.float64)

    def cpu(self) -> PackedSequence:
        return self

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation ``q`` with ``q[permutation[i]] = i``."""
    if permutation is None:
        return None
    return chainrule.argsort(permutation)


def _as_lengths(lengths, op: str) -> Tensor:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1 or lengths.is_floating_point():
            raise ValueError(f"{op}: lengths must be a 1-D integer tensor, got "
                             f"{lengths.dtype} of shape {tuple(lengths.shape)}")
        return lengths.long()
    return chainrule.tensor([int(n) for n in lengths], dtype=chainrule.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of variable-length sequences.

    Args:
        input: ``(T, B, *)`` padded sequences (``(B, T, *)`` if ``batch_first``).
        lengths: the length of each sequence (a list or a 1-D int64 tensor), each >= 1.
        batch_first: whether ``input`` is ``(B, T, *)``.
        enforce_sorted: if True, ``lengths`` must already be in decreasing order; if False
            the sequences are sorted here and ``sorted_indices`` remembers the order.

    Returns:
        a :class:`PackedSequence`.
    """
    lengths = _as_lengths(lengths, "pack_padded_sequence")
    layout = "(B, T, *)" if batch_first else "(T, B, *)"
    if input.ndim < 2 or input.shape[1 if not batch_first else 0] != lengths.shape[0]:
        raise ValueError(f"pack_padded_sequence: expected {layout} input with B = "
                         f"len(lengths) = {lengths.shape[0]}, got shape {tuple(input.shape)}")
    if batch_first:
        input = input.transpose(0, 1)
    if lengths.numel() == 0 or int(lengths.min()) <= 0:
        raise RuntimeError("pack_padded_sequence: Length of all samples has to be greater than "
                           "0, but found an element in 'lengths' that is <= 0 "
                           f"({lengths.tolist()})")
    if int(lengths.max()) > input.shape[0]:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lengths.max())} exceeds the "
                           f"{input.shape[0]} time steps of the input")
    sorted_indices = None
    if enforce_sorted:
        if bool((lengths[1:] > lengths[:-1]).any()):
            raise RuntimeError(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement if you "
                "do not need ONNX exportability.")
    else:
        lengths, sorted_indices = chainrule.sort(lengths, descending=True, stable=True)
        input = input.index_select(1, sorted_indices)
    steps = int(lengths[0])
    # valid[t, b]: sequence b is still running at step t; boolean indexing reads (t, b) in
    # row-major order, i.e. time step after time step: exactly the packed layout.
    valid = chainrule.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)
    data = input[:steps][valid]
    batch_sizes = valid.long().sum(1)
    return PackedSequence(data, batch_sizes, sorted_indices, invert_permutation(sorted_indices))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: a padded batch and the lengths.

    Args:
        sequence: a :class:`PackedSequence`.
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: the value of the padded positions.
        total_length: pad to this many steps (at least the longest length), e.g. to get back
            the original ``T`` of a batch whose longest sequence is shorter.

    Returns:
        ``(padded, lengths)``; both in the original batch order, lengths an int64 tensor.
    """
    data, batch_sizes = sequence.data, sequence.batch_sizes
    steps, batch = batch_sizes.shape[0], int(batch_sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "pad_packed_sequence: Expected total_length to be at least the length of the "
                f"longest sequence in input, but got total_length={total_length} and max "
                f"sequence length being {steps}")
    else:
        total_length = steps
    valid = _valid_mask(batch_sizes, total_length, batch)
    # Each padded position reads its packed row, or the extra padding row at index N.
    flat = valid.flatten()
    rows = chainrule.where(flat, flat.long().cumsum(0) - 1, data.shape[0])
    pad_row = chainrule.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = chainrule.cat([data, pad_row])[rows].reshape((total_length, batch)
                                                          + tuple(data.shape[1:]))
    lengths = valid.long().sum(0)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths


def _valid_mask(batch_sizes: Tensor, steps: int, batch: int) -> Tensor:
    """``valid[t, b] = b < batch_sizes[t]`` (False for steps past the packed ones)."""
    sizes = batch_sizes
    if steps > sizes.shape[0]:
        sizes = chainrule.cat([sizes, sizes.new_zeros(steps - sizes.shape[0])])
    return chainrule.arange(batch).unsqueeze(0) < sizes.unsqueeze(1)


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes ``(L_i, *)`` into one ``(max L, B, *)`` tensor, padding the ends.

    Args:
        sequences: the tensors (their trailing dims must agree).
        batch_first: return ``(B, max L, *)``.
        padding_value: the fill value.
        padding_side: ``"right"`` (pad after each sequence) or ``"left"``.
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.ndim < 1 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}; every "
                               f"sequence must be (L, {', '.join(map(str, trailing))})")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = chainrule.full((missing,) + trailing, padding_value, dtype=s.dtype)
            s = chainrule.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return chainrule.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Split a padded batch back into a list of ``(L_i, *)`` tensors."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = _as_lengths(lengths, "unpad_sequence").tolist()
    return [seq[:n] for seq, n in zip(padded_sequences, lengths)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of ``(L_i, *)`` tensors (longest first unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Undo :func:`pack_sequence`: the list of ``(L_i, *)`` tensors in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

