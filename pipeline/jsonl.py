"""JSON lines in: one object per line, read with errors that name the line (``triage predict``, gold files)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

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
