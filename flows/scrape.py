"""The scrape flow: collect each source's new and changed documents, then ingest them.

Deployments with cron schedules come from the source register (``triage flows serve``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.settings import configure_environment

configure_environment()

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from flows.ingest import default_task_runner, ingest_documents  # noqa: E402
from pipeline.collect.blobs import BlobStore  # noqa: E402
from pipeline.collect.collector import CollectResult, collect, make_client  # noqa: E402
from pipeline.collect.corpus import load_register as load_authorities  # noqa: E402
from pipeline.collect.sources import DEFAULT_REGISTER, Source, load_register, parse_source  # noqa: E402
from pipeline.domain import Authority, DocumentSource  # noqa: E402
from pipeline.ingest import RunSummary  # noqa: E402
from pipeline.paths import DEMO_CORPUS  # noqa: E402
from pipeline.progress import Progress  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.taxonomy import DEFAULT_TAXONOMY  # noqa: E402


@dataclass
class ScrapeSummary:
    counts: dict[str, int]  # new, changed, unchanged, skipped, failed, local
    failures: list[tuple[str, str]] = field(default_factory=list)
    ingest: RunSummary | None = None


@task(retries=1, retry_delay_seconds=30, cache_policy=NO_CACHE, task_run_name="collect {source.id}")
def collect_source(source: Source, db: str, blobs_root: str, client_settings: dict, since: date | None,
                   until: date | None, progress: bool) -> CollectResult:
    client = make_client(**client_settings) if source.kind != "local" else None
    try:
        with Store(db) as store, Progress(f"Collecting {source.id}", 0, enabled=progress) as bar:
            store.upsert_authorities([_authority(source.authority)])
            return collect(source, store, BlobStore(Path(blobs_root)), client, since, until, bar.advance)
    finally:
        if client is not None:
            client.close()


@flow(name="scrape", validate_parameters=False, task_runner=default_task_runner())
def scrape_flow(sources: list[str], db: str, register: str = str(DEFAULT_REGISTER), since: str | None = None,
                until: str | None = None, adhoc: dict | None = None, allow_private_hosts: bool = False,
                taxonomy: str = DEFAULT_TAXONOMY, progress: bool = False) -> ScrapeSummary:
    """Collect the named sources (ids or authority slugs) or one ad-hoc source, then ingest."""
    known = load_register(Path(register))
    chosen = [parse_source(adhoc, "command line")] if adhoc else [s for key in sources for s in known.get(key)]
    allowed = known.allowed_bases + [s.base_url for s in chosen if s.base_url]
    settings = {"allowed": allowed, "allow_private_hosts": allow_private_hosts or any(
        s.allow_private_hosts for s in chosen)}
    blobs_root = str(Path(db).parent / "blobs")
    counts: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    documents: list[DocumentSource] = []
    for source in chosen:
        result = collect_source(source, db, blobs_root, settings, _date(since), _date(until), progress)
        counts.update(result.counts)
        failures += result.failures
        documents += result.documents
    authorities = [_authority(slug) for slug in sorted({s.authority for s in chosen})]
    ingest = ingest_documents(documents, authorities, db, taxonomy, progress, "scrape",
                              {"sources": [s.id for s in chosen], "since": since, "until": until}) \
        if documents else None
    return ScrapeSummary(dict(counts), failures, ingest)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _authority(slug: str) -> Authority:
    register = load_authorities(DEMO_CORPUS / "authorities.yaml")
    return register.get(slug) or Authority(slug, slug.replace("-", " ").title())
