"""JSON lines: one object per line, read with errors that name the line (``triage predict``, gold files, label
files) and written the one way every command writes them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from pipeline.errors import TriageError


def json_objects(lines: Iterable[str], where: Callable[[int], str],
                 error: type[TriageError]) -> Iterator[tuple[int, str, dict]]:
    """(line number, ``where(number)``, object) of each non-blank line; ``error`` for the first line that is not
    a JSON object, naming it."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        place = where(number)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{place} is not valid JSON: {e.msg}") from e
        if not isinstance(record, dict):
            raise error(f"{place} is not a JSON object")
        yield number, place, record


def write_jsonl(records: Iterable[dict], out: TextIO | Path) -> int:
    """Write each record as one line, non-ASCII characters as themselves (people read these files: labellers read
    the passages' text), and return how many lines were written. A path is written afresh; a stream (standard
    output, a file opened to append) is flushed, not closed, so records reach it as they come."""
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8") as fh:
            return write_jsonl(records, fh)
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    out.flush()
    return count
