"""Content-addressed storage of downloaded bytes.

A blob's id is the sha256 of its bytes (the same id the pipeline gives a document), so a
paper re-published under a new URL is stored once, and a crash mid-write never leaves a
half file under a valid id.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import BlobNotFound, InvalidBlobId
from pipeline.ids import sha256_bytes

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Blobs under ``root/ab/cd/<sha256>``; two levels of fan-out keep folders small."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its sha256; storing the same bytes again writes nothing."""
        sha = sha256_bytes(data)  # the document id the pipeline gives these bytes
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=f"-{sha[:8]}")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o444)  # blobs are immutable
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return sha

    def path(self, sha: str) -> Path:
        """Where blob ``sha`` lives; InvalidBlobId unless ``sha`` is a lowercase sha256 (keeps paths inside root)."""
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise InvalidBlobId(f"{sha!r} is not a blob id (64 lowercase hex digits)")
        return self.root / sha[:2] / sha[2:4] / sha

    def open(self, sha: str) -> BinaryIO:
        """The blob for reading; BlobNotFound if it was never stored."""
        try:
            return self.path(sha).open("rb")
        except FileNotFoundError as e:
            raise BlobNotFound(f"no blob {sha} in {self.root}") from e


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
