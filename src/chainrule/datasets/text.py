"""Text for character-level language models: an embedded Shakespeare corpus and a vocabulary.

A character-level model reads text one character at a time and learns to predict the next
one. :class:`CharCorpus` turns a string into integer ids (one per distinct character),
splits it into a training and a validation part, and cuts either part into
``(input, target)`` windows where the target is the input shifted by one character.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from importlib import resources

import numpy as np

import chainrule
from chainrule.utils.data import Dataset

__all__ = ["SHAKESPEARE_PLAYS", "CharCorpus", "CharSequences", "shakespeare_text"]

# The embedded plays, in the order shakespeare_text() joins them (about 1.04 MB in all).
SHAKESPEARE_PLAYS: tuple[str, ...] = (
    "hamlet",
    "macbeth",
    "lear",
    "othello",
    "romeo_and_juliet",
    "julius_caesar",
    "tempest",
    "midsummer_nights_dream",
)


@functools.lru_cache(maxsize=len(SHAKESPEARE_PLAYS))
def _read_play(name: str) -> str:
    folder = resources.files("chainrule.datasets").joinpath("data", "shakespeare")
    return folder.joinpath(f"{name}.txt").read_text(encoding="ascii")


def shakespeare_text(plays: Sequence[str] | None = None) -> str:
    """Plain text of embedded Shakespeare plays, joined by blank lines (works offline).

    Args:
        plays: names from :data:`SHAKESPEARE_PLAYS`, in the order wanted; ``None`` (default)
            means all eight (hamlet, macbeth, lear, othello, romeo_and_juliet, julius_caesar,
            tempest, midsummer_nights_dream), about 1.04 million ASCII characters.

    Returns:
        The text with ``\\n`` line endings. Public domain (Project Gutenberg etexts; see
        ``datasets/data/shakespeare/README.md``).

    Example:
        >>> from chainrule.datasets import shakespeare_text
        >>> shakespeare_text(["macbeth"])[:7]
        'MACBETH'
    """
    chosen = SHAKESPEARE_PLAYS if plays is None else tuple(plays)
    unknown = [name for name in chosen if name not in SHAKESPEARE_PLAYS]
    if unknown:
        raise ValueError(
            f"shakespeare_text: unknown plays {unknown}; choose from {list(SHAKESPEARE_PLAYS)}"
        )
    return "\n\n".join(_read_play(name).strip("\n") for name in chosen) + "\n"


def _code_points(text: str) -> np.ndarray:
    # UTF-32 gives one fixed-width integer per character, so NumPy can work on the whole text.
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class CharCorpus:
    """A text as integer ids, with its vocabulary and a train/validation split.

    The vocabulary is the sorted set of distinct characters in ``text``, so ids are stable for
    the same text. The split is by position: the first ``1 - val_fraction`` of the ids are for
    training, the rest for validation (contiguous, so no validation window overlaps training
    text, which a random split of overlapping windows would allow).

    Args:
        text: the whole corpus, e.g. :func:`shakespeare_text`.
        val_fraction: share of the text (from the end) kept for validation, in ``[0, 1)``.

    Attributes:
        chars: the vocabulary, a sorted list of characters; ``chars[i]`` has id ``i``.
        vocab_size: ``len(chars)``, the size of the embedding and of the output layer.
        stoi / itos: dicts from character to id and back.
        data: ids of the whole text, int64 tensor of shape ``(len(text),)``.
        train_data / val_data: the two parts of ``data``.

    Example:
        >>> from chainrule.datasets import CharCorpus
        >>> corpus = CharCorpus("hello world", val_fraction=0.0)
        >>> corpus.chars
        [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        >>> corpus.encode("hello").tolist()
        [3, 2, 4, 4, 5]
        >>> corpus.decode([3, 2, 4, 4, 5])
        'hello'
    """

    def __init__(self, text: str, val_fraction: float = 0.1) -> None:
        if not isinstance(text, str) or len(text) < 2:
            raise ValueError("CharCorpus: text must be a string of at least 2 characters")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"CharCorpus: val_fraction must be in [0, 1), got {val_fraction!r}")
        # np.unique sorts by code point, which is exactly how Python sorts characters.
        self._vocab_codes, ids = np.unique(_code_points(text), return_inverse=True)
        self.chars: list[str] = [chr(code) for code in self._vocab_codes]
        self.stoi: dict[str, int] = {char: index for index, char in enumerate(self.chars)}
        self.itos: dict[int, str] = dict(enumerate(self.chars))
        self.val_fraction = val_fraction
        self._ids = ids.astype(np.int64).reshape(-1)
        self._train_size = len(self._ids) - round(len(self._ids) * val_fraction)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def data(self) -> chainrule.Tensor:
        return chainrule.from_numpy(self._ids.copy())

    @property
    def train_data(self) -> chainrule.Tensor:
        return chainrule.from_numpy(self._ids[: self._train_size].copy())

    @property
    def val_data(self) -> chainrule.Tensor:
        return chainrule.from_numpy(self._ids[self._train_size :].copy())

    def encode(self, text: str) -> chainrule.Tensor:
        """Ids of the characters of ``text`` as an int64 tensor of shape ``(len(text),)``.

        Raises:
            KeyError: ``text`` has a character that is not in the vocabulary.
        """
        codes = _code_points(text)
        positions = np.searchsorted(self._vocab_codes, codes)
        positions = np.minimum(positions, len(self._vocab_codes) - 1)
        unknown = self._vocab_codes[positions] != codes
        if unknown.any():
            missing = sorted({chr(code) for code in codes[unknown]})
            raise KeyError(f"CharCorpus.encode: characters {missing} are not in the vocabulary")
        return chainrule.from_numpy(positions.astype(np.int64))

    def decode(self, ids: chainrule.Tensor | np.ndarray | Iterable[int]) -> str:
        """The text spelled by a sequence of ids (a 1-D tensor, array or list of ints)."""
        if isinstance(ids, chainrule.Tensor):
            ids = ids.numpy()
        array = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if array.ndim != 1:
            raise ValueError(
                f"CharCorpus.decode: expected a 1-D sequence of ids, got {array.shape}"
            )
        if array.size and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ValueError(
                f"CharCorpus.decode: ids must be in 0..{self.vocab_size - 1}, "
                f"got {int(array.min())}..{int(array.max())}"
            )
        return "".join(self.chars[index] for index in array.tolist())

    def sequences(self, split: str = "train", seq_len: int = 64) -> CharSequences:
        """Non-overlapping ``(input, target)`` windows of ``seq_len`` ids from one split.

        Args:
            split: ``"train"``, ``"val"`` or ``"all"``.
            seq_len: characters per window (the number of time steps to unroll).
        """
        parts = {
            "train": self._ids[: self._train_size],
            "val": self._ids[self._train_size :],
            "all": self._ids,
        }
        if split not in parts:
            raise ValueError(
                f"CharCorpus.sequences: split must be one of {list(parts)}, got {split!r}"
            )
        return CharSequences(parts[split], seq_len)

    def __repr__(self) -> str:
        return (
            f"CharCorpus(characters={len(self._ids)}, vocab_size={self.vocab_size}, "
            f"train={self._train_size}, val={len(self._ids) - self._train_size})"
        )


class CharSequences(Dataset):
    """Windows of a 1-D id sequence for next-character prediction.

    Item ``i`` is ``(x, y)`` with ``x = ids[i*L : i*L + L]`` and ``y = ids[i*L + 1 : i*L + L + 1]``:
    at every position the target is the character that comes next. Windows do not overlap,
    so one epoch sees each character once; the ids that do not fill a last window are dropped.

    Args:
        ids: 1-D int64 ids (a tensor or a NumPy array), e.g. ``CharCorpus.train_data``.
        seq_len: the window length ``L``.

    Shape:
        - ``dataset[i]``: ``(x, y)``, both int64 tensors of shape ``(L,)``; a DataLoader
          stacks them into ``(batch, L)``.

    Example:
        >>> from chainrule.datasets import CharCorpus
        >>> corpus = CharCorpus("abcdefg", val_fraction=0.0)
        >>> windows = corpus.sequences("train", seq_len=3)
        >>> len(windows), [t.tolist() for t in windows[0]]
        (2, [[0, 1, 2], [1, 2, 3]])
    """

    def __init__(self, ids: chainrule.Tensor | np.ndarray, seq_len: int) -> None:
        if isinstance(ids, chainrule.Tensor):
            ids = ids.numpy()
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1:
            raise ValueError(f"CharSequences: expected 1-D ids, got shape {ids.shape}")
        if not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
            raise ValueError(f"CharSequences: seq_len must be a positive integer, got {seq_len!r}")
        self.ids = ids
        self.seq_len = int(seq_len)

    def __len__(self) -> int:
        # The last window needs one id beyond its end for its final target.
        return max(0, (len(self.ids) - 1) // self.seq_len)

    def __getitem__(self, index: int) -> tuple[chainrule.Tensor, chainrule.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(
                f"CharSequences: index {index} is out of range for {len(self)} windows"
            )
        start = (index % len(self)) * self.seq_len
        window = self.ids[start : start + self.seq_len + 1]
        return chainrule.from_numpy(window[:-1].copy()), chainrule.from_numpy(window[1:].copy())
