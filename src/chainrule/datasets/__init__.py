"""Datasets and transforms: embedded data for offline examples, MNIST-style files, toy problems.

Embedded (no download, no network):

- :class:`Digits` / :func:`load_digits`: 1,797 real 8x8 handwritten digits (UCI), for MLPs
  and small CNNs. Fixed split: first 1,437 images train, last 360 test.
- :func:`shakespeare_text` / :class:`CharCorpus`: about 1 MB of Shakespeare for
  character-level language models.
- :func:`xor`, :func:`and_`, :func:`or_`, :func:`logic_gate`, :func:`two_moons`,
  :func:`spirals`: synthetic 2-D problems returning ``(X float32, y int64)`` tensors, seeded
  and independent of any global random state.

From files (torchvision's interface): :class:`MNIST` and :class:`FashionMNIST` read the
original IDX files (:mod:`chainrule.datasets.idx`) and can download them, checked by SHA-256.

Transforms with torchvision's names live in :mod:`chainrule.datasets.transforms`.

Example:
    >>> from chainrule import datasets
    >>> train = datasets.Digits(train=True)
    >>> X, y = datasets.two_moons(200, noise=0.1, seed=0)
"""

from . import idx, transforms
from .digits import DIGITS_TEST_SIZE, DIGITS_TRAIN_SIZE, Digits, load_digits
from .download import ChecksumError, DownloadError, download_file
from .idx import IDXFormatError, read_idx, write_idx
from .mnist import MNIST, FashionMNIST
from .text import SHAKESPEARE_PLAYS, CharCorpus, CharSequences, shakespeare_text
from .toy import LOGIC_GATES, and_, logic_gate, or_, spirals, two_moons, xor

__all__ = [
    "DIGITS_TEST_SIZE",
    "DIGITS_TRAIN_SIZE",
    "LOGIC_GATES",
    "MNIST",
    "SHAKESPEARE_PLAYS",
    "CharCorpus",
    "CharSequences",
    "ChecksumError",
    "Digits",
    "DownloadError",
    "FashionMNIST",
    "IDXFormatError",
    "and_",
    "download_file",
    "idx",
    "load_digits",
    "logic_gate",
    "or_",
    "read_idx",
    "shakespeare_text",
    "spirals",
    "transforms",
    "two_moons",
    "write_idx",
    "xor",
]
