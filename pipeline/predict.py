"""``triage predict``: JSONL passages in, JSONL predictions out, no database."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TextIO

from pipeline.boilerplate import boilerplate_reason
from pipeline.classify import SimilarityClassifier
from pipeline.errors import TriageError

BATCH = 256


class InputError(TriageError):
    """A line of predict input is not a JSON object with a string ``text``."""


def read_records(lines: Iterable[str]) -> Iterator[dict]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"input line {number} is not valid JSON: {e.msg}") from e
        if not isinstance(record, dict):
            raise InputError(f"input line {number} is not a JSON object")
        text = record.get("text", "")
        if not isinstance(text, str):
            raise InputError(f"input line {number}: 'text' must be a string")
        yield record


def predict_records(records: Iterable[dict], classifier: SimilarityClassifier, top_k: int) -> Iterator[dict]:
    """Predict in batches, in input order. Boilerplate and empty text are never evidence."""
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            yield from _predict_batch(batch, classifier, top_k)
            batch = []
    if batch:
        yield from _predict_batch(batch, classifier, top_k)


def _predict_batch(batch: list[dict], classifier: SimilarityClassifier, top_k: int) -> Iterator[dict]:
    texts = [" ".join(str(r.get("text", "")).split()) for r in batch]
    scorable = [i for i, t in enumerate(texts) if t]
    predictions = dict(zip(scorable, classifier.predict_texts([texts[i] for i in scorable], top_k), strict=True))
    for i, record in enumerate(batch):
        prediction = predictions.get(i)
        if prediction is None:
            yield {"id": record.get("id"), "theme": None, "matches": [], "flagged": []}
            continue
        evidence = boilerplate_reason(texts[i]) is None
        yield {
            "id": record.get("id"),
            "theme": prediction.theme if evidence else None,
            "matches": [m.as_record() for m in prediction.matches],
            "flagged": prediction.flagged if evidence else [],
        }


def write_jsonl(rows: Iterable[dict], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    out.flush()
    return count
