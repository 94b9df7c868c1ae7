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

import numpy as np
import sqlite_utils

from pipeline.classify import Prediction
from pipeline.corpus import Authority, DocumentSource
from pipeline.documents import ExtractedDocument, Passage
from pipeline.ids import short_hash
from pipeline.metadata import DocumentMetadata
from pipeline.priors import passage_context
from pipeline.taxonomy import Taxonomy


def text_key(text: str) -> str:
    """Whitespace-insensitive identity of a passage's text."""
    return short_hash(" ".join(text.split()), length=20)


def vector_key(model_id: str, text: str) -> str:
    """The embedding cache key: the same text under the same model is embedded once."""
    return short_hash(model_id, " ".join(text.split()), length=24)


Crosswalk = dict[tuple[str, str], str]  # (old taxonomy, old entry id) -> new entry id
REVIEW_DECISIONS = ("confirm", "reject", "reassign", "note", "undo")


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


def _migration_2(db: sqlite_utils.Database) -> None:
    """Document versions and metadata confidence, classifications per classifier, the embedding
    cache, analysts' reviews and passage text hashes."""
    documents = db["documents"]
    for column, kind in [("kind_confidence", float), ("date_confidence", float), ("title_confidence", float),
                         ("metadata_source", str), ("unread_pages", str), ("previous_version", str),
                         ("superseded_by", str), ("first_seen", str), ("last_seen", str), ("source", str)]:
        documents.add_column(column, kind)
    documents.create_index(["path"])
    documents.create_index(["authority", "status"])
    db.execute("drop index idx_passages_document_ordinal")  # reviewed passages outlive a re-extraction
    db["passages"].create_index(["document", "ordinal"])
    db["passages"].add_column("text_hash", str)
    db["passages"].create_index(["text_hash"])
    db["evidence"].add_column("probability", float)
    db["evidence"].create_index(["classifier_id", "status"])
    db["classifications"].create(
        {"document": str, "classifier_id": str, "taxonomy": str, "passages": int, "evidence": int,
         "classified_at": str},
        pk=("document", "classifier_id"), foreign_keys=[("document", "documents", "id")],
    )
    db["embeddings"].create({"key": str, "model_id": str, "dim": int, "vector": bytes}, pk="key")
    db["sources"].create(
        {"id": str, "authority": str, "kind": str, "base_url": str, "config": str, "created_at": str},
        pk="id", foreign_keys=[("authority", "authorities", "slug")],
    )
    db["reviews"].create(
        {"id": int, "passage": str, "taxonomy": str, "entry": str, "decision": str, "reason": str, "note": str,
         "reviewer": str, "new_entry": str, "classifier_id": str, "created_at": str},
        pk="id", foreign_keys=[("passage", "passages", "id")],
    )
    db["reviews"].create_index(["passage", "taxonomy", "entry"])
    db.execute("update documents set first_seen = added_at, last_seen = updated_at")
    db.execute(
        "insert into classifications (document, classifier_id, taxonomy, passages, evidence, classified_at) "
        "select d.id, d.classifier_id, 'bv-2023-draft', count(distinct p.id), count(e.passage), d.updated_at "
        "from documents d join passages p on p.document = d.id left join evidence e on e.passage = p.id "
        "where d.status = 'ok' and d.classifier_id is not null group by d.id"
    )


def _migration_3(db: sqlite_utils.Database) -> None:
    """What the scraper fetched: per URL, the validators for conditional GET and the sighting dates."""
    db["fetches"].create(
        {"url": str, "source": str, "authority": str, "sha256": str, "etag": str, "last_modified": str,
         "content_type": str, "title": str, "committee": str, "meeting_date": str, "agenda_item": str,
         "attachment_id": str, "first_seen": str, "last_seen": str, "status": str, "error_reason": str,
         "error": str},
        pk="url", foreign_keys=[("authority", "authorities", "slug")],
    )
    db["fetches"].create_index(["source"])


def _migration_4(db: sqlite_utils.Database) -> None:
    """Reviewers and their sessions, API tokens, optimistic versions on evidence, blind second reviews."""
    db["reviewers"].create({"name": str, "role": str, "password_hash": str, "created_at": str, "disabled": int},
                           pk="name", not_null={"role", "password_hash"})
    db["sessions"].create({"token_hash": str, "reviewer": str, "csrf": str, "created_at": str, "expires_at": str},
                          pk="token_hash", foreign_keys=[("reviewer", "reviewers", "name")])
    db["login_attempts"].create({"id": int, "name": str, "client": str, "ok": int, "at": str}, pk="id")
    db["login_attempts"].create_index(["client", "at"])
    db["api_tokens"].create({"token_hash": str, "name": str, "created_by": str, "created_at": str,
                             "last_used_at": str, "revoked": int}, pk="token_hash")
    evidence = db["evidence"]
    evidence.add_column("version", int, not_null_default=0)
    evidence.add_column("reviewed_by", str)
    evidence.add_column("reviewed_at", str)
    reviews = db["reviews"]
    reviews.add_column("previous_status", str)
    reviews.add_column("blind", int, not_null_default=0)
    db["second_reviews"].create(
        {"id": int, "passage": str, "taxonomy": str, "entry": str, "requested_by": str, "assigned_to": str,
         "created_at": str, "done_at": str},
        pk="id", foreign_keys=[("passage", "passages", "id")],
    )


def _migration_5(db: sqlite_utils.Database) -> None:
    """The risk-engine feed: an append-only log of flag events with a monotonic cursor, and how far
    each push destination has been delivered."""
    db.execute(
        "create table flag_events (cursor integer primary key autoincrement, event_id text not null unique, "
        "evidence_key text not null, event text not null, status text, record text not null, "
        "created_at text not null)")
    db["flag_events"].create_index(["evidence_key", "cursor"])
    db["deliveries"].create({"destination": str, "cursor": int, "updated_at": str}, pk="destination")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1, _migration_2, _migration_3, _migration_4, _migration_5,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class DocumentCounts:
    passages: int
    evidence: int
    flagged: int


@dataclass(frozen=True)
class StoredPassage:
    id: str
    text: str
    heading: str
    doc_kind: str | None
    title: str | None

    def context(self) -> dict[str, str]:
        """What the classifier's priors read: document kind, heading path and title."""
        return passage_context(self.doc_kind, self.heading, self.title)


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

    def document_state(self, sha256: str, extractor_version: str, classifier_id: str) -> str:
        """``new`` (extract it), ``extracted`` (classify stored passages), ``done``, or ``failed`` (these bytes
        failed under this extractor version; see ``failure``)."""
        row = self.db.execute(
            "select status, extractor_version from documents where id = ?", [sha256]).fetchone()
        if row is not None and row[0] == "failed" and row[1] == extractor_version:
            return "failed"
        if row is None or row[0] != "ok" or row[1] != extractor_version:
            return "new"
        done = self.db.execute("select 1 from classifications where document = ? and classifier_id = ?",
                               [sha256, classifier_id]).fetchone()
        return "done" if done else "extracted"

    def save_document(self, source: DocumentSource, document: ExtractedDocument, metadata: DocumentMetadata,
                      passages: list[Passage], extractor_version: str, vectors: dict[str, np.ndarray],
                      model_id: str) -> None:
        """Store a freshly extracted document, its passages and their new embeddings, replacing any
        earlier extraction of the same bytes, in one transaction (classification follows)."""
        with self.transaction():
            self._delete_document_rows(document.sha256)
            previous = self._previous_version(source, document.sha256)
            row = {
                **self._document_row(source, document.sha256, metadata), "format": document.format,
                "pages": document.pages, "status": "ok", "error_reason": None, "error": None,
                "extractor_version": extractor_version, "previous_version": previous,
                "ocr_pages": json.dumps(document.ocr_pages) if document.ocr_pages else None,
                "unread_pages": json.dumps(document.unread_pages) if document.unread_pages else None,
            }
            self.db["documents"].upsert(row, pk="id")
            if previous:
                self.db["documents"].update(previous, {"superseded_by": document.sha256})
            self.db["passages"].upsert_all(
                [{**p.as_record(), "document": p.document, "ordinal": p.ordinal, "text_hash": text_key(p.text)}
                 for p in passages], pk="id",
            )
            self._put_vectors(model_id, vectors)

    def save_classification(self, sha256: str, classifier_id: str, taxonomy_id: str,
                            predictions: dict[str, Prediction], model_id: str,
                            vectors: dict[str, np.ndarray],
                            crosswalk: Crosswalk | None = None) -> DocumentCounts:
        """Replace this classifier's evidence for one document; analysts' decisions carry over."""
        rows = []
        flagged = 0
        for passage_id, prediction in predictions.items():
            flagged += bool(prediction.flagged)
            for rank, match in enumerate(prediction.evidence, start=1):
                rows.append({
                    "passage": passage_id, "taxonomy": taxonomy_id, "entry": match.entry.id,
                    "classifier_id": classifier_id, "score": round(match.score, 6),
                    "probability": getattr(match, "probability", None), "rank": rank,
                    "flagged": int(match.entry.id in prediction.flagged), "status": "suggested",
                    "reason": getattr(match, "reason", None) or "similarity", "created_at": now(),
                })
        with self.transaction():
            self.db.execute(
                "delete from evidence where classifier_id = ? and passage in "
                "(select id from passages where document = ?)", [classifier_id, sha256])
            self.db["evidence"].insert_all(rows, pk=("passage", "taxonomy", "entry", "classifier_id"))
            self._apply_decisions(sha256, classifier_id, taxonomy_id, crosswalk or {})
            self._put_vectors(model_id, vectors)
            self.db["classifications"].upsert(
                {"document": sha256, "classifier_id": classifier_id, "taxonomy": taxonomy_id,
                 "passages": len(predictions), "evidence": len(rows), "classified_at": now()},
                pk=("document", "classifier_id"))
            self.db["documents"].update(sha256, {"classifier_id": classifier_id})
        return DocumentCounts(len(predictions), len(rows), flagged)

    def _apply_decisions(self, sha256: str, classifier_id: str, taxonomy_id: str, crosswalk: Crosswalk) -> None:
        """Give new evidence rows the status of the analysts' standing decision on the same passage and
        entry (undos replayed; a reassignment rejects the old entry), and keep confirmed links the new
        classifier no longer suggests. Decisions made under an older taxonomy version follow the
        crosswalk to the new entry ids."""
        links = self.db.execute(
            "select distinct r.passage, r.taxonomy, r.entry from reviews r join passages p on p.id = r.passage "
            "where p.document = ?", [sha256]).fetchall()
        for passage, taxonomy, entry in links:
            target = entry if taxonomy == taxonomy_id else crosswalk.get((taxonomy, entry))
            if target is None:
                continue
            decision = self.decision_to_undo((passage, taxonomy, entry))
            if decision is None:
                continue
            status = "confirmed" if decision["decision"] == "confirm" else "rejected"
            key = [passage, taxonomy_id, target, classifier_id]
            if self.db["evidence"].count_where(
                    "passage = ? and taxonomy = ? and entry = ? and classifier_id = ?", key):
                self.db["evidence"].update(tuple(key), {"status": status})
            elif status == "confirmed":
                self.db["evidence"].insert({"passage": passage, "taxonomy": taxonomy_id, "entry": target,
                                            "classifier_id": classifier_id, "status": status, "rank": None,
                                            "flagged": int("-F" in target), "reason": "analyst",
                                            "created_at": now()})

    def documents_with_texts(self, authority: str, keys: list[str], exclude: str) -> dict[str, int]:
        """How many other current documents of the authority hold each passage text."""
        counts: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, n in self.db.execute(
                f"select p.text_hash, count(distinct p.document) from passages p join documents d on d.id = "
                f"p.document where d.authority = ? and d.id != ? and d.superseded_by is null and p.text_hash in "
                f"({marks}) group by p.text_hash", [authority, exclude, *chunk]):
                counts[key] = n
        return counts

    def mark_repeated(self, authority: str, keys: list[str]) -> None:
        """Mark earlier copies of repeated template text as boilerplate and drop their suggestions."""
        with self.transaction():
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                where = (f"text_hash in ({marks}) and boilerplate = 0 and document in "
                         "(select id from documents where authority = ?)")
                self.db.execute(f"delete from evidence where status = 'suggested' and passage in "
                                f"(select id from passages where {where})", [*chunk, authority])
                self.db.execute(f"update passages set boilerplate = 1, boilerplate_reason = 'repeated' "
                                f"where {where}", [*chunk, authority])

    def add_review(self, passage: str, taxonomy: str, entry: str, decision: str, reviewer: str,
                   reason: str | None = None, note: str | None = None, new_entry: str | None = None, *,
                   classifier_id: str | None = None, expected_version: int | None = None,
                   blind: bool = False) -> int | None:
        """Append an analyst's decision and apply it to every classifier's evidence row for the link.

        With ``expected_version`` the decision is optimistic: if the link's evidence row (``classifier_id``'s,
        else the newest) has moved on, nothing is written and None is returned, so two analysts deciding the
        same item never overwrite each other. ``reassign`` rejects the link and confirms ``new_entry`` for the
        passage; ``undo`` restores the status from before the latest decision not yet undone (a reassign's
        confirmation included); a ``note`` or a ``blind`` second review leaves the evidence as it is.
        """
        if decision not in REVIEW_DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; use one of {REVIEW_DECISIONS}")
        if decision == "reassign" and (not new_entry or new_entry == entry):
            raise ValueError("a reassign needs a new_entry other than the entry")
        link = (passage, taxonomy, entry)
        with self.write_transaction():
            status, version = self._link_state(link, classifier_id)
            if expected_version is not None and version != expected_version:
                return None
            target = self.decision_to_undo(link) if decision == "undo" and not blind else None
            if decision == "undo" and not blind and target is None:
                raise ValueError(f"nothing to undo for {passage} {entry}")
            review_id = self._insert_review(link, decision, reviewer, reason=reason, note=note,
                                            new_entry=new_entry, classifier_id=classifier_id,
                                            previous_status=status, blind=blind)
            if blind or decision == "note":
                return review_id
            if target is not None:
                self._set_link_status(link, target["previous_status"], reviewer)
                if target["decision"] == "reassign":
                    self._undo_reassigned(link, target["new_entry"], reviewer, classifier_id)
            else:
                self._set_link_status(link, "confirmed" if decision == "confirm" else "rejected", reviewer)
            if decision == "reassign":
                self._confirm_reassigned(link, str(new_entry), reviewer, classifier_id)
            return review_id

    def stored_passages(self, sha256: str) -> list[StoredPassage]:
        """A document's passages that are classified (not boilerplate), in order, with their context."""
        return [StoredPassage(*row) for row in self.db.execute(
            "select p.id, p.text, p.heading, d.kind, d.title from passages p join documents d on d.id = p.document "
            "where p.document = ? and p.boilerplate = 0 order by p.ordinal", [sha256])]

    def record_failure(self, source: DocumentSource, sha256: str, reason: str, message: str,
                       extractor_version: str | None = None) -> None:
        with self.transaction():
            self._delete_document_rows(sha256)
            self.db["documents"].upsert(
                {**self._document_row(source, sha256, None), "status": "failed", "error_reason": reason,
                 "error": message, "extractor_version": extractor_version},
                pk="id",
            )

    def failure(self, sha256: str) -> tuple[str | None, str | None]:
        """(reason, message) recorded for a failed document."""
        row = self.db.execute("select error_reason, error from documents where id = ?", [sha256]).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def touch(self, sha256: str) -> None:
        """Note that a stored document was seen again."""
        with self.transaction():
            self.db["documents"].update(sha256, {"last_seen": now()})

    def _previous_version(self, source: DocumentSource, sha256: str) -> str | None:
        """The current version of the same path or URL with other bytes, if any."""
        where, value = ("url = ?", source.url) if source.url else ("path = ?", str(source.path))
        row = self.db.execute(
            f"select id from documents where {where} and id != ? and status = 'ok' and superseded_by is null "
            "order by updated_at desc limit 1", [value, sha256]).fetchone()
        return row[0] if row else None

    def _document_row(self, source: DocumentSource, sha256: str, metadata: DocumentMetadata | None
                      ) -> dict[str, object]:
        existing = self.db["documents"].count_where("id = ?", [sha256])
        stamp = now()
        row: dict[str, object] = {
            "id": sha256, "authority": source.authority, "path": str(source.path), "url": source.url,
            "size": source.size, "updated_at": stamp, "last_seen": stamp,
            "title": source.title, "kind": source.kind, "date": source.date,
            "title_confidence": 1.0 if source.title else None, "kind_confidence": 1.0 if source.kind else None,
            "date_confidence": 1.0 if source.date else None,
            "metadata_source": "manifest" if (source.kind or source.date or source.title) else None,
        }
        if metadata is not None:
            for field_name in ("title", "kind", "date"):
                guess = getattr(metadata, field_name)
                if row[field_name] is None and guess.value is not None:
                    row[field_name], row[f"{field_name}_confidence"] = guess.value, guess.confidence
                    row["metadata_source"] = "manifest+guess" if row["metadata_source"] else "guess"
        if not existing:
            row["added_at"] = row["first_seen"] = stamp
        return row

    def _delete_document_rows(self, sha256: str) -> None:
        self.db.execute(
            "delete from evidence where passage in (select id from passages where document = ?)", [sha256]
        )
        self.db.execute("delete from classifications where document = ?", [sha256])
        self.db.execute("delete from passages where document = ? and id not in (select passage from reviews)",
                        [sha256])

    # -- embedding cache -----------------------------------------------------------------------------

    def cached_vectors(self, model_id: str, texts: list[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for these texts by this model, keyed by ``vector_key``."""
        keys = sorted({vector_key(model_id, t) for t in texts})
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(f"select key, vector from embeddings where key in ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _put_vectors(self, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        if vectors:
            self.db["embeddings"].insert_all(
                [{"key": key, "model_id": model_id, "dim": int(v.shape[0]),
                  "vector": np.asarray(v, dtype=np.float32).tobytes()} for key, v in vectors.items()],
                pk="key", ignore=True)

    # -- fetches ---------------------------------------------------------------------------------------

    def fetch_record(self, url: str) -> dict | None:
        rows = list(self.db["fetches"].rows_where("url = ?", [url]))
        return rows[0] if rows else None

    def record_fetch(self, row: dict[str, object]) -> None:
        """Upsert what was fetched from a URL; first_seen is kept from the first sighting."""
        stamp = now()
        with self.transaction():
            existing = self.fetch_record(str(row["url"]))
            self.db["fetches"].upsert({**row, "first_seen": existing["first_seen"] if existing else stamp,
                                       "last_seen": stamp}, pk="url")

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
                ("authorities", "documents", "passages", "evidence", "taxonomy_entries", "runs", "classifications",
                 "embeddings", "reviews")}

    # -- review helpers --------------------------------------------------------------------------------

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

    def _link_state(self, link: tuple[str, str, str], classifier_id: str | None) -> tuple[str | None, int | None]:
        """(status, version) of the link's evidence row for the classifier, else its newest row."""
        sql = "select status, version from evidence where passage = ? and taxonomy = ? and entry = ?"
        params = list(link)
        if classifier_id:
            sql, params = sql + " and classifier_id = ?", [*params, classifier_id]
        row = self.db.execute(sql + " order by version desc limit 1", params).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def _insert_review(self, link: tuple[str, str, str], decision: str, reviewer: str, **fields: object) -> int:
        table = self.db["reviews"]
        passage, taxonomy, entry = link
        table.insert({"passage": passage, "taxonomy": taxonomy, "entry": entry, "decision": decision,
                      "reviewer": reviewer, "created_at": now(),
                      **{k: int(v) if isinstance(v, bool) else v for k, v in fields.items()}})
        return int(table.last_pk)

    def decision_to_undo(self, link: tuple[str, str, str]) -> dict | None:
        """The latest confirm, reject or reassign on the link that no later undo has taken back."""
        stack: list[dict] = []
        for row in self.db.execute(
                "select id, decision, previous_status, reason, new_entry from reviews where passage = ? and "
                "taxonomy = ? and entry = ? and blind = 0 and decision in ('confirm', 'reject', 'reassign', 'undo') "
                "order by id", list(link)):
            record = dict(zip(("id", "decision", "previous_status", "reason", "new_entry"), row, strict=True))
            if record["decision"] != "undo":
                stack.append(record)
            elif stack:
                stack.pop()
        return stack[-1] if stack else None

    def _set_link_status(self, link: tuple[str, str, str], status: str | None, reviewer: str) -> None:
        """Set every classifier's row for the link, bumping its version. No status (the link had no evidence
        before an analyst created it) removes the analyst's rows and leaves the model's as suggestions."""
        where = "passage = ? and taxonomy = ? and entry = ?"
        if status is None:
            self.db.execute(f"delete from evidence where {where} and reason = 'analyst'", list(link))
            status = "suggested"
        self.db.execute(f"update evidence set status = ?, version = version + 1, reviewed_by = ?, reviewed_at = ? "
                        f"where {where}", [status, reviewer, now(), *link])

    def _confirm_reassigned(self, link: tuple[str, str, str], new_entry: str, reviewer: str,
                            classifier_id: str | None) -> None:
        """Confirm the passage for the entry it was reassigned to, creating the evidence row if the classifier
        never suggested it, and record that as its own confirmation (so re-classification keeps it)."""
        passage, taxonomy, entry = link
        new_link = (passage, taxonomy, new_entry)
        status, _ = self._link_state(new_link, None)
        self._insert_review(new_link, "confirm", reviewer, reason="reassigned", note=f"reassigned from {entry}",
                            classifier_id=classifier_id, previous_status=status)
        current = classifier_id or self.db.execute(
            "select d.classifier_id from passages p join documents d on d.id = p.document where p.id = ?",
            [passage]).fetchone()[0]
        kind = self.db.execute("select kind from taxonomy_entries where taxonomy = ? and id = ?",
                               [taxonomy, new_entry]).fetchone()
        self.db["evidence"].insert(
            {"passage": passage, "taxonomy": taxonomy, "entry": new_entry, "classifier_id": current,
             "status": "confirmed", "rank": None, "flagged": int(bool(kind) and kind[0] == "failure_indicator"),
             "reason": "analyst", "created_at": now()},
            pk=("passage", "taxonomy", "entry", "classifier_id"), ignore=True)
        self._set_link_status(new_link, "confirmed", reviewer)

    def _undo_reassigned(self, link: tuple[str, str, str], new_entry: str, reviewer: str,
                         classifier_id: str | None) -> None:
        """Take back the confirmation a reassign gave the new entry, if nothing has been decided there since."""
        passage, taxonomy, entry = link
        new_link = (passage, taxonomy, new_entry)
        paired = self.decision_to_undo(new_link)
        if paired is None or paired["reason"] != "reassigned":
            return
        status, _ = self._link_state(new_link, None)
        self._insert_review(new_link, "undo", reviewer, note=f"undo of the reassign from {entry}",
                            classifier_id=classifier_id, previous_status=status)
        self._set_link_status(new_link, paired["previous_status"], reviewer)
