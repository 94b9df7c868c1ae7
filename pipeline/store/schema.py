"""The schema: ordered migrations applied on open (``PRAGMA user_version``)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import sqlite_utils


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


def _migration_6(db: sqlite_utils.Database) -> None:
    """Team review: bulk decisions as batches (undone as one), items assigned by a lead or leased to whoever
    opened them, settlements of disagreements marked on their review rows; webhook destinations named
    without their query values (an older version stored the whole URL)."""
    db["batches"].create({"id": int, "reviewer": str, "decision": str, "reason": str, "note": str,
                          "items": int, "created_at": str, "undone_at": str, "undone_by": str}, pk="id")
    reviews = db["reviews"]
    reviews.add_column("batch", int)
    reviews.add_column("settles", int, not_null_default=0)
    reviews.create_index(["reviewer", "id"])
    db["assignments"].create({"passage": str, "taxonomy": str, "entry": str, "reviewer": str, "kind": str,
                              "assigned_by": str, "created_at": str, "expires_at": str},
                             pk=("passage", "taxonomy", "entry"))
    db["assignments"].create_index(["reviewer"])
    for (destination,) in db.execute("select destination from deliveries where destination like 'webhook:%'"
                                     ).fetchall():
        parts = urlsplit(destination.removeprefix("webhook:"))  # as pipeline.feed.push.webhook_name, frozen here
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
        query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
        named = (f"webhook:{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
                 + (f"?{query}" if query else ""))
        if named != destination:
            db.execute("update or replace deliveries set destination = ? where destination = ?", [named, destination])


def _migration_7(db: sqlite_utils.Database) -> None:
    """Scrape faults: a log of every failure (per collect run, source, URL and level) and the URLs failing
    now, with their back-off; authorities' nation and GSS code (from the national register)."""
    db["scrape_failures"].create(
        {"id": int, "run": int, "source": str, "url": str, "level": str, "reason": str, "http_status": int,
         "message": str, "at": str},
        pk="id", foreign_keys=[("run", "runs", "id")], not_null={"source", "url", "level", "reason", "at"})
    db["scrape_failures"].create_index(["run"])
    db["failing_urls"].create(
        {"url": str, "source": str, "level": str, "reason": str, "http_status": int, "failures": int,
         "first_failed": str, "last_failed": str, "retry_at": str},
        pk="url", not_null={"source", "failures", "last_failed"})
    db["authorities"].add_column("nation", str)
    db["authorities"].add_column("gss", str)


def _migration_8(db: sqlite_utils.Database) -> None:
    """PDF pages skipped while the rest of the document was read (would not load, or absurdly costly), as JSON
    [{"page", "reason", "detail"}]."""
    db["documents"].add_column("skipped_pages", str)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1, _migration_2, _migration_3, _migration_4, _migration_5, _migration_6, _migration_7,
    _migration_8,
]

SCHEMA_VERSION = len(MIGRATIONS)
