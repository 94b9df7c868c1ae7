"""``triage predict``: JSONL passages in, JSONL predictions out, no database.

Input records need ``text`` (and usually ``id``); the optional context keys ``doc_kind``,
``heading`` and ``title`` are accepted; a procedural ``heading`` suppresses, and text alone is enough.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

from pipeline.classify.base import DEFAULT_TOP_K, Classifier
from pipeline.domain import PassageContext
from pipeline.errors import InputError
from pipeline.jsonl import json_objects, write_jsonl
from pipeline.taxonomy import DEFAULT_TAXONOMY
from pipeline.text import squash_space

BATCH = 256
CONTEXT_KEYS = ("doc_kind", "heading", "title")
EMPTY = {"theme": None, "matches": [], "flagged": []}  # empty or whitespace-only text


def read_records(lines: Iterable[str]) -> Iterator[dict]:
    for _, where, record in json_objects(lines, "input line {}".format, InputError):
        text = record.get("text", "")
        if not isinstance(text, str):
            raise InputError(f"{where}: 'text' must be a string")
        for key in CONTEXT_KEYS:
            if record.get(key) is not None and not isinstance(record[key], str):
                raise InputError(f"{where}: {key!r} must be a string")
        yield record


def predict_records(records: Iterable[dict], classifier: Classifier,
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


def _predict_batch(batch: list[dict], classifier: Classifier,
                   top_k: int) -> Iterator[dict]:
    texts = [squash_space(str(r.get("text", ""))) for r in batch]
    scorable = [i for i, t in enumerate(texts) if t]
    contexts = [PassageContext.of(*(batch[i].get(k) for k in CONTEXT_KEYS)) for i in scorable]
    predictions = dict(zip(scorable, classifier.predict_texts([texts[i] for i in scorable], top_k, contexts),
                           strict=True))
    for i, record in enumerate(batch):
        prediction = predictions.get(i)
        yield prediction.as_record(record.get("id")) if prediction else {"id": record.get("id"), **EMPTY}


def predict_file(input_file: Path | None, output_file: Path | None, taxonomy: str = DEFAULT_TAXONOMY,
                 top_k: int = DEFAULT_TOP_K) -> int:
    """Classify the JSONL passages of ``input_file`` (default stdin) into ``output_file`` (default stdout);
    return how many lines were written. The model loads only once the input opened."""
    from pipeline.classify import load_classifier
    from pipeline.embed import load_encoder

    try:
        with ExitStack() as files:
            source = files.enter_context(input_file.open(encoding="utf-8")) if input_file else sys.stdin
            classifier = load_classifier(load_encoder(), taxonomy)
            sink = files.enter_context(output_file.open("w", encoding="utf-8")) if output_file else sys.stdout
            return write_jsonl(predict_records(read_records(source), classifier, top_k), sink)
    except OSError as e:
        raise InputError(f"{e.filename}: {e.strerror}") from e

