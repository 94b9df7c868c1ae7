"""The SQLite evidence store, through sqlite-utils.

Schema changes are ordered migrations applied on open (``PRAGMA user_version``).
Every write of a document (its row, passages and evidence) is one transaction, so a
reader or a crash never sees half a document.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from pipeline.classify import Prediction
from pipeline.corpus import Authority, DocumentSource
from pipeline.documents import ExtractedDocument, Passage
from pipeline.taxonomy import Taxonomy


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _migration_1(db: sqlite_utils.Database) -> None:
    db["authorities"].create({"slug": str, "name": str, "type": str, "region": str}, pk="slug")
    db["documents"].create(
        {"id": str, "authority": str, "path": str, "url": str, "title": str, "kind": str, "date": str,
         "format": str, "pages": int, "size": int, "status": str, "error_reason": str, "error": str,
         "extractor_version": str, "classifier_id": str, "ocr_pages": str, "added_at": str,
         "updated_at": str},
        pk="id", foreign_keys=[("authority", "authorities", "slug")], not_null={"authority", "status"},
    )
    db["passages"].create(
        {"id": str, "document": str, "ordinal": int, "page": int, "heading": str, "block_type": str,
         "start": int, "end": int, "text": str, "boilerplate": int, "boilerplate_reason": str, "ocr": int},
        pk="id", foreign_keys=[("document", "documents", "id")], not_null={"document", "text"},
    )
    db["passages"].create_index(["document", "ordinal"], unique=True)
    db["passages"].enable_fts(["text", "heading"], create_triggers=True, tokenize="porter")
    db["taxonomy_entries"].create(
        {"taxonomy": str, "id": str, "theme": str, "kind": str, "text": str}, pk=("taxonomy", "id"),
    )
    db["evidence"].create(
        {"passage": str, "taxonomy": str, "entry": str, "classifier_id": str, "score": float, "rank": int,
         "flagged": int, "status": str, "reason": str, "created_at": str},
        pk=("passage", "taxonomy", "entry", "classifier_id"),
        foreign_keys=[("passage", "passages", "id")],
    )
    db["evidence"].create_index(["taxonomy", "entry"])
    db["runs"].create(
        {"id": int, "flow": str, "parameters": str, "started_at": str, "ended_at": str, "outcome": str,
         "counts": str, "code_version": str, "model_id": str, "classifier_id": str},
        pk="id",
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class DocumentCounts:
    passages: int
    evidence: int
    flagged: int


class Store:
    """One open database. Use as a context manager, or call ``close``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        self.db = sqlite_utils.Database(conn)
        self.migrate()

    def __enter__(self) -> Store:
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

    # -- reference data ------------------------------------------------------------------------------

    def upsert_authorities(self, authorities: Iterable[Authority]) -> None:
        with self.transaction():
            self.db["authorities"].upsert_all(
                [{"slug": a.slug, "name": a.name, "type": a.type, "region": a.region} for a in authorities],
                pk="slug",
            )

    def sync_taxonomy(self, taxonomy: Taxonomy) -> None:
        with self.transaction():
            self.db["taxonomy_entries"].upsert_all([e.as_record() for e in taxonomy.entries],
                                                   pk=("taxonomy", "id"))

    # -- documents -----------------------------------------------------------------------------------

    def is_done(self, sha256: str, classifier_id: str, extractor_version: str) -> bool:
        """True when this exact document was already stored by this extractor and classifier."""
        row = self.db.execute(
            "select 1 from documents where id = ? and status = 'ok' and classifier_id = ? and extractor_version = ?",
            [sha256, classifier_id, extractor_version],
        ).fetchone()
        return row is not None

    def save_document(
        self,
        source: DocumentSource,
        document: ExtractedDocument,
        passages: list[Passage],
        predictions: dict[str, Prediction],
        classifier_id: str,
        taxonomy_id: str,
        extractor_version: str,
    ) -> DocumentCounts:
        """Replace everything stored for this document in one transaction."""
        evidence_rows = []
        flagged = 0
        for passage_id, prediction in predictions.items():
            flagged += bool(prediction.flagged)
            for rank, match in enumerate(prediction.evidence, start=1):
                evidence_rows.append({
                    "passage": passage_id, "taxonomy": taxonomy_id, "entry": match.entry.id,
                    "classifier_id": classifier_id, "score": round(match.score, 6), "rank": rank,
                    "flagged": int(match.entry.id in prediction.flagged),
                    "status": "suggested", "reason": "similarity", "created_at": now(),
                })
        with self.transaction():
            self._delete_document_rows(document.sha256)
            self.db["documents"].upsert(
                {**self._document_row(source, document.sha256), "format": document.format, "pages": document.pages,
                 "title": source.title or document.title, "status": "ok", "error_reason": None, "error": None,
                 "extractor_version": extractor_version, "classifier_id": classifier_id,
                 "ocr_pages": json.dumps(document.ocr_pages) if document.ocr_pages else None},
                pk="id",
            )
            self.db["passages"].insert_all(
                [{**p.as_record(), "document": p.document, "ordinal": p.ordinal} for p in passages], pk="id",
            )
            self.db["evidence"].insert_all(evidence_rows, pk=("passage", "taxonomy", "entry", "classifier_id"))
        return DocumentCounts(len(passages), len(evidence_rows), flagged)

    def record_failure(self, source: DocumentSource, sha256: str, reason: str, message: str) -> None:
        with self.transaction():
            self._delete_document_rows(sha256)
            self.db["documents"].upsert(
                {**self._document_row(source, sha256), "status": "failed", "error_reason": reason, "error": message,
                 "title": source.title},
                pk="id",
            )

    def _document_row(self, source: DocumentSource, sha256: str) -> dict[str, object]:
        existing = self.db["documents"].count_where("id = ?", [sha256])
        row: dict[str, object] = {
            "id": sha256, "authority": source.authority, "path": str(source.path), "url": source.url,
            "kind": source.kind, "date": source.date, "size": source.size, "updated_at": now(),
        }
        if not existing:
            row["added_at"] = now()
        return row

    def _delete_document_rows(self, sha256: str) -> None:
        self.db.execute(
            "delete from evidence where passage in (select id from passages where document = ?)", [sha256]
        )
        self.db.execute("delete from passages where document = ?", [sha256])

    # -- runs ----------------------------------------------------------------------------------------

    def start_run(self, flow: str, parameters: dict[str, object], code_version: str, model_id: str | None,
                  classifier_id: str | None) -> int:
        with self.transaction():
            table = self.db["runs"]
            table.insert({"flow": flow, "parameters": json.dumps(parameters, default=str), "started_at": now(),
                          "outcome": "running", "code_version": code_version, "model_id": model_id,
                          "classifier_id": classifier_id})
            return int(table.last_pk)

    def finish_run(self, run_id: int, outcome: str, counts: dict[str, object]) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, {"ended_at": now(), "outcome": outcome,
                                            "counts": json.dumps(counts, default=str)})

    def table_counts(self) -> dict[str, int]:
        return {name: self.db[name].count for name in
                ("authorities", "documents", "passages", "evidence", "taxonomy_entries", "runs")}
