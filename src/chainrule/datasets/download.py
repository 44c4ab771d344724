"""Download a file once, check it, and never leave half of it behind.

The rules (DESIGN.md, "Data and files"):

- every downloaded file is checked against a SHA-256 digest written into the code, so a
  damaged or tampered file is refused;
- bytes go to a temporary file beside the destination and are renamed into place only
  after the digest matches, so an interrupted download never looks like a finished one;
- when no mirror can be reached, the error says which URLs were tried and where the user
  can put the file by hand.

Network access goes through ``urllib.request.urlopen`` looked up at call time, so tests can
replace it with ``monkeypatch.setattr("urllib.request.urlopen", fake)`` and never touch the
network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ChecksumError", "DownloadError", "download_file", "sha256_of_file"]

_CHUNK_SIZE = 1 << 20
_USER_AGENT = "chainrule-datasets"


class DownloadError(RuntimeError):
    """A file could not be fetched from any of its URLs."""


class ChecksumError(DownloadError):
    """A file was fetched, but its SHA-256 digest is not the expected one."""


def sha256_of_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 digest of a file as 64 lowercase hex characters, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_to_temporary(url: str, directory: Path, name: str, timeout: float) -> tuple[Path, str]:
    """Stream ``url`` into a new temporary file in ``directory``; return it and its SHA-256."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    descriptor, temporary_name = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    temporary = Path(temporary_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(descriptor, "wb") as output:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                while chunk := response.read(_CHUNK_SIZE):
                    digest.update(chunk)
                    output.write(chunk)
            output.flush()
            os.fsync(output.fileno())  # the bytes are on disk before the rename makes them visible
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, digest.hexdigest()


def download_file(
    urls: str | Sequence[str],
    destination: str | os.PathLike[str],
    sha256: str,
    timeout: float = 60.0,
) -> Path:
    """Fetch a file from the first URL that works, verify its SHA-256, and move it into place.

    If ``destination`` already exists with the right digest, nothing is downloaded. Mirrors
    are tried in order; a mirror that cannot be reached or serves wrong bytes is skipped.

    Args:
        urls: one URL or several mirrors of the same file.
        destination: the final path; its folder is created if needed.
        sha256: the expected digest, 64 hex characters.
        timeout: seconds to wait on a silent connection before giving up on a mirror.

    Returns:
        ``destination`` as a :class:`~pathlib.Path`.

    Raises:
        ChecksumError: some mirror answered, but no answer had the expected digest.
            Nothing is written to ``destination``.
        DownloadError: no mirror could be reached (for example, the machine is offline).
            The message lists each URL with its error and where to put the file by hand.

    Example:
        >>> download_file(                                     # doctest: +SKIP
        ...     "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
        ...     "data/MNIST/raw/t10k-labels-idx1-ubyte.gz",
        ...     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ... )
    """
    url_list = [urls] if isinstance(urls, str) else list(urls)
    destination = Path(destination)
    expected = sha256.lower()
    if destination.is_file() and sha256_of_file(destination) == expected:
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []
    mismatches: list[str] = []
    for url in url_list:
        try:
            temporary, actual = _fetch_to_temporary(
                url, destination.parent, destination.name, timeout
            )
        except (OSError, http.client.HTTPException, ValueError) as err:
            # URLError, HTTPError, TimeoutError and ConnectionError are all OSErrors;
            # ValueError covers a malformed URL.
            failures.append(f"  {url}: {type(err).__name__}: {err}")
            continue
        if actual != expected:
            temporary.unlink(missing_ok=True)
            mismatches.append(f"  {url}: got SHA-256 {actual}")
            continue
        os.replace(temporary, destination)  # atomic on POSIX and Windows within one folder
        return destination

    if mismatches:
        raise ChecksumError(
            f"download_file: {destination.name} failed its checksum "
            f"(expected SHA-256 {expected}):\n"
            + "\n".join(mismatches + failures)
            + f"\nNothing was written to {destination}. The mirror may serve a changed or damaged "
            "file; try again later or fetch the file by hand and check its digest."
        )
    raise DownloadError(
        f"download_file: could not download {destination.name} from any mirror:\n"
        + "\n".join(failures)
        + f"\nIf this machine is offline, download the file elsewhere and put it at {destination}"
    )
