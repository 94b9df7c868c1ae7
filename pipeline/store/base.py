"""The open database every part of the store works on: connection, migrations and transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import sqlite_utils

from pipeline.store.schema import MIGRATIONS


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreBase:
    """One open SQLite connection (WAL, foreign keys on), migrated to the current schema on open."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        self.db = sqlite_utils.Database(conn)
        self.migrate()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        version = self.schema_version
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.db.atomic():
                migration(self.db)
                self.db.execute(f"PRAGMA user_version = {number:d}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        with self.db.atomic():
            yield self.db

    @contextmanager
    def write_transaction(self) -> Iterator[sqlite_utils.Database]:
        """A transaction that takes the write lock at once (BEGIN IMMEDIATE), so a read-check-write sequence
        cannot interleave with another connection's; nested, it is a savepoint."""
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield self.db
            return
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.conn.rollback()
            raise
        self.db.conn.execute("COMMIT")
