"""Collect a source's documents: discover, fetch politely, store the bytes content-addressed,
then record the fetch. A crash between the two leaves an unreferenced blob, never a row
pointing at nothing; a document seen before (same bytes) is linked, not stored again.

A remote site's faults never stop a source: each page, answer or document that fails is
recorded (``scrape_failures``, and ``failing_urls`` for the back-off) and the rest is collected.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.collect.blobs import BlobStore
from pipeline.collect.corpus import discover
from pipeline.collect.http import FetchResult, HostRateLimiter, PoliteClient
from pipeline.collect.listing import ListingScraper
from pipeline.collect.moderngov.scraper import ModernGovScraper
from pipeline.collect.refs import SITE_LEVELS, DocumentRef, Failure, backoff_key
from pipeline.collect.sources import Source
from pipeline.domain import Authority, DocumentSource
from pipeline.errors import NotADocument, ScrapeError
from pipeline.extract.metadata import guess_kind
from pipeline.settings import CONTACT_ENV
from pipeline.store import Store

COUNTS = ("new", "changed", "unchanged", "failed")  # always shown; "skipped", "deferred", "local" when non-zero
_DOCUMENT_PATH = re.compile(r"\.(pdf|docx?|odt|rtf|xlsx?|pptx?)$", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>([^<]{0,120})", re.IGNORECASE)


@dataclass
class CollectResult:
    source: str
    counts: Counter[str] = field(default_factory=Counter)  # new, changed, unchanged, skipped, failed, deferred
    documents: list[DocumentSource] = field(default_factory=list)  # new and changed, for the ingest flow
    failures: list[Failure] = field(default_factory=list)
    authorities: list[Authority] = field(default_factory=list)  # local folders: from their manifests
    reachable: bool = True  # False when nothing of the site could be listed (unreachable, no committee list)


def contact_warning(contact: str | None, sources: list[Source], allow_private_hosts: bool) -> str | None:
    """The one warning a run gives when it would crawl public sites without saying who runs it."""
    remote = any(s.kind != "local" and not s.allow_private_hosts for s in sources)
    if contact or allow_private_hosts or not remote:
        return None
    return (f"no contact is configured for the User-Agent: set {CONTACT_ENV} or 'contact:' in the source "
            "register, so site owners can reach whoever runs this scraper")


def make_client(allowed: list[str], contact: str | None = None, allow_private_hosts: bool = False,
                limiter: HostRateLimiter | None = None) -> PoliteClient:
    return PoliteClient(allowed, contact=contact, limiter=limiter, allow_private_hosts=allow_private_hosts)


def discover_refs(source: Source, client: PoliteClient, since: date | None, until: date | None,
                  store: Store | None = None) -> Iterator[DocumentRef | Failure]:
    """The source's documents and listing failures; with ``store``, URLs backing off are not asked for."""
    if source.kind == "moderngov":
        today = date.today()
        yield from ModernGovScraper(
            client, str(source.base_url), committees_include=source.committees_include or None,
            committees_exclude=source.committees_exclude or None,
            since=since or today - timedelta(days=source.back_days),
            until=until or today + timedelta(days=source.forward_days),
            include_expired=source.include_expired_committees, skip=store.backing_off if store else None,
            answered=store.clear_failure if store else None,
        ).discover()
    elif source.kind == "listing":
        yield from ListingScraper(client, str(source.base_url), list(source.patterns)).discover()


def collect(source: Source, store: Store, blobs: BlobStore, client: PoliteClient | None = None,
            since: date | None = None, until: date | None = None,
            on_document: Callable[[str], None] | None = None, run: int | None = None) -> CollectResult:
    """Everything the source offers in the window, each fault recorded; never raises for a site's fault."""
    result = CollectResult(source.id)
    if source.kind == "local":
        result.authorities, documents = discover([Path(source.path or "")], source.authority)
        result.documents = documents
        result.counts["local"] = len(documents)
        return result
    assert client is not None, "remote sources need a client"
    collected: dict[int, bool] = {}  # meeting id -> every separate document of it collected so far
    try:
        for item in discover_refs(source, client, since, until, store):
            if isinstance(item, Failure):
                result.counts[_failed(item, source, store, result, run)] += 1
                continue
            if item.pack and collected.get(item.meeting_id or -1):
                result.counts["skipped"] += 1  # its reports are all stored separately: not twice
                continue
            kind = guess_kind(item.title, item.agenda_item or "")
            if source.document_kinds and kind.value not in source.document_kinds:
                result.counts["skipped"] += 1
                continue
            outcome = _collect_one(item, source, store, blobs, client, result, run)
            result.counts[outcome] += 1
            if item.meeting_id is not None and not item.pack:
                collected[item.meeting_id] = collected.get(item.meeting_id, True) and outcome in COUNTS[:3]
            if on_document:
                on_document(item.title)
    except ScrapeError as e:  # the source's own settings (base URL off the register, a bad pattern)
        result.counts[_failed(Failure.of(str(source.base_url), "listing", e), source, store, result, run)] += 1
    return result


def _failed(failure: Failure, source: Source, store: Store, result: CollectResult, run: int | None) -> str:
    """Record a failure (a URL backing off is only deferred); returns the count it goes under."""
    if failure.level in SITE_LEVELS:
        result.reachable = False
    if failure.reason == "backing_off":
        return "deferred"
    store.record_scrape_failure(run, source.id, failure.url, backoff_key(failure.url), failure.level,
                                failure.reason, failure.status, failure.message)
    result.failures.append(failure)
    return "failed"


def _collect_one(ref: DocumentRef, source: Source, store: Store, blobs: BlobStore, client: PoliteClient,
                 result: CollectResult, run: int | None) -> str:
    if store.backing_off(backoff_key(ref.url)):
        return "deferred"
    previous = store.fetch_record(ref.url)
    context = {"url": ref.url, "source": source.id, "authority": source.authority, "title": ref.title,
               "committee": ref.committee, "agenda_item": ref.agenda_item,
               "meeting_date": ref.meeting_date.isoformat() if ref.meeting_date else None,
               "attachment_id": str(ref.attachment_id) if ref.attachment_id is not None else None}
    try:
        fetched = client.get(ref.url, etag=previous.etag if previous else None,
                             last_modified=previous.last_modified if previous else None)
        check_document(fetched)
    except ScrapeError as e:
        store.record_fetch({**context, "status": "failed", "error_reason": e.reason, "error": str(e)})
        return _failed(Failure.of(ref.url, "document", e), source, store, result, run)
    store.clear_failure(backoff_key(ref.url))
    if fetched.not_modified and previous and previous.sha256:
        store.record_fetch({**context, "status": "unchanged", "error_reason": None, "error": None})
        return "unchanged"
    sha = blobs.put(fetched.content or b"")  # the bytes first, then the row that points at them
    store.record_fetch({**context, "sha256": sha, "etag": fetched.etag, "last_modified": fetched.last_modified,
                        "content_type": fetched.content_type, "status": "ok", "error_reason": None, "error": None})
    if previous and previous.sha256 == sha:
        return "unchanged"
    result.documents.append(DocumentSource(blobs.path(sha), source.authority, date=context["meeting_date"],
                                           title=ref.title, url=ref.url))
    return "changed" if previous and previous.sha256 else "new"


def check_document(fetched: FetchResult) -> None:
    """NotADocument when a URL that promises a file (``.pdf``, ``mgConvert2PDF.aspx`` ...) answered with a
    web page: a sign-in form or an error page served with 200 is not a council paper."""
    path = urlsplit(fetched.url).path.lower()
    if fetched.content is None or not (_DOCUMENT_PATH.search(path) or path.endswith("/mgconvert2pdf.aspx")):
        return
    head = fetched.content[:1024].lstrip().lower()
    media = (fetched.content_type or "").split(";")[0].strip().lower()
    if head.startswith(b"%pdf") or not (media in ("text/html", "application/xhtml+xml")
                                        or head.startswith((b"<!doctype html", b"<html"))):
        return
    title = _TITLE.search(fetched.content[:4096])
    page = f" ({' '.join(title.group(1).decode('utf-8', 'replace').split())!r})" if title else ""
    raise NotADocument(f"{fetched.url}: answered with a web page{page} where a document was promised")
