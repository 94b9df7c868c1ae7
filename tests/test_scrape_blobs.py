"""BlobStore: content addressing, dedup, atomic writes, path confinement."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipeline.collect.blobs import BlobStore
from pipeline.errors import BlobNotFound, InvalidBlobId


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_put_stores_bytes_under_their_sha256(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"%PDF-1.4 internal audit progress report"
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path(sha) == tmp_path / sha[:2] / sha[2:4] / sha
    assert store.path(sha).is_file()
    with store.open(sha) as blob:
        assert blob.read() == data


def test_second_put_of_the_same_bytes_is_a_no_op(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha = store.put(b"same bytes")
    before = os.stat(store.path(sha))
    assert store.put(b"same bytes") == sha
    after = os.stat(store.path(sha))
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert files_under(tmp_path) == [store.path(sha)]  # one file, no temp files left behind


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = BlobStore(tmp_path)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.put(b"half written")
    assert files_under(tmp_path) == []
    assert not store.path(hashlib.sha256(b"half written").hexdigest()).exists()


@pytest.mark.parametrize(
    "sha",
    ["../../etc/passwd", "A" * 64, "ab" * 31, "ab" * 33, "g" * 64, "/" + "a" * 63, "a" * 64 + "\n"],
)
def test_blob_ids_are_confined_to_sha256_digests(tmp_path: Path, sha: str) -> None:
    store = BlobStore(tmp_path)
    for method in (store.path, store.open):
        with pytest.raises(InvalidBlobId):
            method(sha)


def test_opening_a_missing_blob_raises(tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound):
        BlobStore(tmp_path).open("0" * 64)
