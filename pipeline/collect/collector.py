"""Collect a source's documents: discover, fetch politely, store the bytes content-addressed,
then record the fetch. A crash between the two leaves an unreferenced blob, never a row
pointing at nothing; a document seen before (same bytes) is linked, not stored again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from pipeline.collect.blobs import BlobStore
from pipeline.collect.corpus import discover
from pipeline.collect.http import HostRateLimiter, PoliteClient
from pipeline.collect.listing import ListingScraper
from pipeline.collect.moderngov.scraper import ModernGovScraper
from pipeline.collect.refs import DocumentRef
from pipeline.collect.sources import Source
from pipeline.domain import DocumentSource
from pipeline.errors import ScrapeError
from pipeline.extract.metadata import guess_kind
from pipeline.store import Store

CONTACT = "https://github.com/bv-triage/bv-triage (bv-triage maintainers)"


@dataclass
class CollectResult:
    source: str
    counts: Counter[str] = field(default_factory=Counter)  # new, changed, unchanged, skipped, failed
    documents: list[DocumentSource] = field(default_factory=list)  # new and changed, for the ingest flow
    failures: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)


def make_client(allowed: list[str], allow_private_hosts: bool = False,
                limiter: HostRateLimiter | None = None) -> PoliteClient:
    return PoliteClient(allowed, contact=CONTACT, limiter=limiter, allow_private_hosts=allow_private_hosts)


def discover_refs(source: Source, client: PoliteClient, since: date | None, until: date | None
                  ) -> Iterator[DocumentRef]:
    if source.kind == "moderngov":
        today = date.today()
        yield from ModernGovScraper(
            client, str(source.base_url), committees_include=source.committees_include or None,
            committees_exclude=source.committees_exclude or None,
            since=since or today - timedelta(days=source.back_days),
            until=until or today + timedelta(days=source.forward_days), include_expired=since is not None,
        ).discover()
    elif source.kind == "listing":
        yield from ListingScraper(client, str(source.base_url), list(source.patterns)).discover()


def collect(source: Source, store: Store, blobs: BlobStore, client: PoliteClient | None = None,
            since: date | None = None, until: date | None = None,
            on_document: Callable[[str], None] | None = None) -> CollectResult:
    result = CollectResult(source.id)
    if source.kind == "local":
        _, documents = discover([Path(source.path or "")], source.authority)
        result.documents = documents
        result.counts["local"] = len(documents)
        return result
    assert client is not None, "remote sources need a client"
    for ref in discover_refs(source, client, since, until):
        kind = guess_kind(ref.title, ref.agenda_item or "")
        if source.document_kinds and kind.value not in source.document_kinds:
            result.counts["skipped"] += 1
            continue
        outcome = _fetch(ref, source, store, blobs, client, result)
        result.counts[outcome] += 1
        if on_document:
            on_document(ref.title)
    return result


def _fetch(ref: DocumentRef, source: Source, store: Store, blobs: BlobStore, client: PoliteClient,
           result: CollectResult) -> str:
    previous = store.fetch_record(ref.url)
    context = {"url": ref.url, "source": source.id, "authority": source.authority, "title": ref.title,
               "committee": ref.committee, "agenda_item": ref.agenda_item,
               "meeting_date": ref.meeting_date.isoformat() if ref.meeting_date else None,
               "attachment_id": str(ref.attachment_id) if ref.attachment_id is not None else None}
    try:
        fetched = client.get(ref.url, etag=previous["etag"] if previous else None,
                             last_modified=previous["last_modified"] if previous else None)
    except ScrapeError as e:
        reason = type(e).__name__
        store.record_fetch({**context, "status": "failed", "error_reason": reason, "error": str(e)})
        result.failures.append((ref.url, f"{reason}: {e}"))
        return "failed"
    if fetched.not_modified and previous and previous["sha256"]:
        store.record_fetch({**context, "status": "unchanged", "error_reason": None, "error": None})
        return "unchanged"
    sha = blobs.put(fetched.content or b"")  # the bytes first, then the row that points at them
    store.record_fetch({**context, "sha256": sha, "etag": fetched.etag, "last_modified": fetched.last_modified,
                        "content_type": fetched.content_type, "status": "ok", "error_reason": None, "error": None})
    if previous and previous["sha256"] == sha:
        return "unchanged"
    result.documents.append(DocumentSource(blobs.path(sha), source.authority, None,
                                           context["meeting_date"], ref.title, ref.url))
    return "changed" if previous and previous["sha256"] else "new"

