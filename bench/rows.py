"""What a run stored, as rows that do not depend on when or in which run: for comparing two runs'
databases (local against Dask, before against after a change)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

# columns that say what was found, not when it was written
COLUMNS = {
    "passages": ("id", "document", "ordinal", "page", "heading", "block_type", "start", "end", "text", "boilerplate",
                 "boilerplate_reason", "ocr"),
    "evidence": ("passage", "taxonomy", "entry", "classifier_id", "score", "rank", "flagged", "status", "reason",
                 "probability"),
}


def fingerprints(db: Path) -> dict[str, tuple[int, str]]:
    """Each compared table's row count and a sha256 of its rows in primary-key order."""
    found = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        for table, columns in COLUMNS.items():
            names = ", ".join(f'"{c}"' for c in columns)
            digest, count = hashlib.sha256(), 0
            for row in connection.execute(f"select {names} from {table} order by {names}"):
                digest.update(repr(row).encode())
                count += 1
            found[table] = (count, digest.hexdigest())
    return found


def differences(one: Path, other: Path) -> list[str]:
    """The compared tables whose rows differ between two databases (empty: the same rows)."""
    a, b = fingerprints(one), fingerprints(other)
    return [f"{table}: {a[table][0]} rows vs {b[table][0]}" for table in COLUMNS if a[table] != b[table]]


if __name__ == "__main__":
    import sys

    problems = differences(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(problems) or "same passages and evidence rows")
    sys.exit(1 if problems else 0)
