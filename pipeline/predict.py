"""``triage predict``: JSONL passages in, JSONL predictions out, no database.

Input records need ``text`` (and usually ``id``); the optional context keys ``doc_kind``,
``heading`` and ``title`` inform the classifier's priors when present, but text alone is enough.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TextIO

from pipeline.classify.evidence import EvidenceClassifier
from pipeline.classify.similarity import SimilarityClassifier
from pipeline.errors import InputError

BATCH = 256
CONTEXT_KEYS = ("doc_kind", "heading", "title")


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
        for key in CONTEXT_KEYS:
            if record.get(key) is not None and not isinstance(record[key], str):
                raise InputError(f"input line {number}: {key!r} must be a string")
        yield record


def predict_records(records: Iterable[dict], classifier: EvidenceClassifier | SimilarityClassifier,
                    top_k: int) -> Iterator[dict]:
    """Predict in batches, in input order. Boilerplate, procedural and empty text are never evidence."""
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            yield from _predict_batch(batch, classifier, top_k)
            batch = []
    if batch:
        yield from _predict_batch(batch, classifier, top_k)


def _predict_batch(batch: list[dict], classifier: EvidenceClassifier | SimilarityClassifier,
                   top_k: int) -> Iterator[dict]:
    texts = [" ".join(str(r.get("text", "")).split()) for r in batch]
    scorable = [i for i, t in enumerate(texts) if t]
    contexts = [{k: batch[i][k] for k in CONTEXT_KEYS if batch[i].get(k)} or None for i in scorable]
    predictions = dict(zip(scorable, classifier.predict_texts([texts[i] for i in scorable], top_k, contexts),
                           strict=True))
    for i, record in enumerate(batch):
        prediction = predictions.get(i)
        if prediction is None:
            yield {"id": record.get("id"), "theme": None, "matches": [], "flagged": []}
            continue
        yield {
            "id": record.get("id"),
            "theme": prediction.theme,
            "matches": [m.as_record() for m in prediction.matches],
            "flagged": prediction.flagged,
        }


def write_jsonl(rows: Iterable[dict], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    out.flush()
    return count
