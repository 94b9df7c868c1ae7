"""The flag feed for the risk engine: an append-only log of changes to flagged evidence.

Events are derived by comparing the store's current flagged evidence with the last event
logged for each link, so every path that changes evidence (ingest, re-classification, a
new document version, an analyst's decision) is covered without hooks. ``sync_events`` runs
after each ingest run and before each export; it is idempotent.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.domain import EvidenceKey
from pipeline.errors import FeedError
from pipeline.ids import short_hash
from pipeline.jsonl import write_jsonl
from pipeline.store import Store
from pipeline.store.base import now

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "flag_event.v1.json"
RETRACTIONS = ("rejected", "superseded")

_CURRENT_FLAGS = """
select e.passage, e.taxonomy, e.entry, e.score, e.probability, e.status, e.classifier_id, e.reviewed_by,
       e.reviewed_at, a.slug, a.name, a.type, d.id, d.url, d.title, d.kind, d.date, p.page, p.heading, p.text,
       t.theme, t.kind, t.text
from evidence e
join passages p on p.id = e.passage
join documents d on d.id = p.document
join authorities a on a.slug = d.authority
join taxonomy_entries t on t.taxonomy = e.taxonomy and t.id = e.entry
where t.kind = 'failure_indicator' and d.status = 'ok' and d.superseded_by is null
  and e.classifier_id = d.classifier_id and (e.flagged = 1 or e.status = 'confirmed')
"""


def _record(row: tuple, status: str) -> dict:
    (passage, taxonomy, entry, score, probability, _, classifier_id, reviewer, reviewed_at, slug, name, kind_,
     doc_id, url, title, doc_kind, date, page, heading, text, theme, entry_kind, entry_text) = row
    return {
        "schema_version": SCHEMA_VERSION, "evidence_id": EvidenceKey(passage, taxonomy, entry).id,
        "authority": {"slug": slug, "name": name, "type": kind_},
        "document": {"id": doc_id, "url": url, "title": title, "kind": doc_kind, "date": date},
        "passage": {"id": passage, "page": page, "heading": heading or None, "text": text},
        "entry": {"taxonomy": taxonomy, "id": entry, "theme": theme, "kind": entry_kind, "text": entry_text},
        "score": score, "probability": probability, "status": status,
        "reviewer": reviewer if status in ("confirmed", "rejected") else None,
        "reviewed_at": reviewed_at if status in ("confirmed", "rejected") else None,
        "classifier_id": classifier_id,
    }


def sync_events(store: Store) -> int:
    """Append an event for every flagged link whose state differs from its last event; return how many."""
    db = store.db
    last = {key: (status, json.loads(record)) for key, status, record in db.execute(
        "select evidence_key, status, record from flag_events where cursor in "
        "(select max(cursor) from flag_events group by evidence_key)")}
    events: list[tuple[str, str, dict]] = []
    current: set[str] = set()
    rejected_keys = {EvidenceKey(*r).id for r in db.execute(
        "select passage, taxonomy, entry from evidence where status = 'rejected'")}
    for row in db.execute(_CURRENT_FLAGS):
        key = EvidenceKey(row[0], row[1], row[2]).id
        current.add(key)
        status = row[5]
        previous = last.get(key)
        if status == "rejected" and previous is None:
            continue  # never delivered: nothing to retract
        if previous is None or previous[0] != status:
            events.append((key, status, _record(row, status)))
    for key, (status, record) in last.items():
        if key in current or status in RETRACTIONS:
            continue
        event = "rejected" if key in rejected_keys else "superseded"
        events.append((key, event, {**record, "status": event}))
    if not events:
        return 0
    with store.transaction():
        sequence = {key: n for key, n in db.execute(
            "select evidence_key, count(*) from flag_events group by evidence_key")}
        for key, event, record in events:
            number = sequence.get(key, 0) + 1
            sequence[key] = number
            event_id = "evt-" + short_hash(key, number, event, length=20)
            stamp, text = now(), json.dumps(record)
            cursor = db.execute("insert into flag_events (event_id, evidence_key, event, status, record, created_at) "
                                "values (?, ?, ?, ?, ?, ?)", [event_id, key, event, event, text, stamp]).lastrowid
            validate_record(_event(int(cursor), event_id, event, stamp, text))  # a bad record rolls the sync back
    return len(events)


@dataclass(frozen=True)
class ExportFilter:
    status: str = "all"  # suggested | confirmed | all
    min_probability: float | None = None

    def __post_init__(self) -> None:
        if self.status not in ("suggested", "confirmed", "all"):
            raise FeedError(f"--status must be suggested, confirmed or all, not {self.status!r}")
        if self.min_probability is not None and not 0 <= self.min_probability <= 1:
            raise FeedError("--min-probability must be between 0 and 1")

    def keeps(self, record: dict) -> bool:
        if record["event"] in RETRACTIONS:
            return True  # retractions and supersessions always reach the consumer
        if self.status != "all" and record["event"] != self.status:
            return False
        value = record["probability"] if record["probability"] is not None else record["score"]
        return self.min_probability is None or (value is not None and value >= self.min_probability)


def read_events(store: Store, since: int = 0, limit: int | None = None) -> Iterator[dict]:
    """Events after ``since`` in cursor order, as complete records."""
    sql = "select cursor, event_id, event, created_at, record from flag_events where cursor > ? order by cursor"
    params: list[object] = [since]
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    for cursor, event_id, event, created_at, record in store.db.execute(sql, params):
        yield _event(cursor, event_id, event, created_at, record)


def _event(cursor: int, event_id: str, event: str, created_at: str, record: str) -> dict:
    """A complete flag event: the stored record with its place in the log."""
    data = json.loads(record)
    return {"schema_version": data.pop("schema_version"), "event_id": event_id, "cursor": cursor, "event": event,
            "created_at": created_at, **data}


def parse_cursor(value: str | None) -> int:
    if value is None or value.strip() == "":
        return 0
    try:
        cursor = int(value.strip())
    except ValueError as e:
        raise FeedError(f"cursor {value!r} is not a whole number") from e
    if cursor < 0:
        raise FeedError("cursor must not be negative")
    return cursor


CSV_FIELDS = ["cursor", "event_id", "event", "created_at", "evidence_id", "authority", "document_id", "document_url",
              "document_title", "document_kind", "document_date", "passage_id", "page", "heading", "text", "entry",
              "theme", "score", "probability", "status", "reviewer", "reviewed_at", "classifier_id"]


def to_csv_row(record: dict) -> dict:
    return {"cursor": record["cursor"], "event_id": record["event_id"], "event": record["event"],
            "created_at": record["created_at"], "evidence_id": record["evidence_id"],
            "authority": record["authority"]["slug"], "document_id": record["document"]["id"],
            "document_url": record["document"]["url"], "document_title": record["document"]["title"],
            "document_kind": record["document"]["kind"], "document_date": record["document"]["date"],
            "passage_id": record["passage"]["id"], "page": record["passage"]["page"],
            "heading": record["passage"]["heading"], "text": record["passage"]["text"],
            "entry": record["entry"]["id"], "theme": record["entry"]["theme"], "score": record["score"],
            "probability": record["probability"], "status": record["status"], "reviewer": record["reviewer"],
            "reviewed_at": record["reviewed_at"], "classifier_id": record["classifier_id"]}


def render(records: list[dict], fmt: str) -> str:
    """The records as one file's text; JSON lines written the one way every command writes them."""
    buffer = io.StringIO()
    if fmt == "jsonl":
        write_jsonl(records, buffer)
    elif fmt == "csv":
        writer = csv.DictWriter(buffer, CSV_FIELDS)
        writer.writeheader()
        writer.writerows(to_csv_row(r) for r in records)
    else:
        raise FeedError(f"unsupported format {fmt!r}; use jsonl or csv")
    return buffer.getvalue()


def export_flags(store: Store, since: int, selection: ExportFilter, limit: int | None = None
                 ) -> tuple[list[dict], int]:
    """The records after ``since`` (at most ``limit`` read) that pass the filter, and the next cursor
    (the last event read, so filtered-out events are not read again)."""
    sync_events(store)
    records = list(read_events(store, since, limit))
    next_cursor = records[-1]["cursor"] if records else since
    return [r for r in records if selection.keeps(r)], next_cursor


def write_atomically(path: Path, text: str) -> None:
    """Write a sibling temporary file, flush it to disk, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    kind = jsonschema.validators.validator_for(schema)
    kind.check_schema(schema)
    return kind(schema, format_checker=kind.FORMAT_CHECKER)


def validate_record(record: dict) -> None:
    """Raise FeedError unless ``record`` is a valid ``flag_event.v1.json`` event: checked as events are
    written, so the log never holds a record a consumer would reject."""
    error = next(iter(_validator().iter_errors(record)), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the record"
        raise FeedError(f"flag event {record.get('event_id')} breaks flag_event.v1.json at {where}: {error.message}")
