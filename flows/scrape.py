"""The scrape flow: collect each source's new and changed documents, then ingest them.

Sources are collected concurrently by a bounded pool of threads that share one polite client, so
authorities on one host share its rate limit; a source that fails, whatever the reason, is
recorded and the others go on. Nothing is retried at the source level: the client retries single
requests that failed transiently. Deployments with cron schedules come from the source register
(``triage flows serve``).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.settings import configure_environment, scraper_contact

configure_environment()

from prefect import flow, task, unmapped  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from flows.ingest import ingest_documents  # noqa: E402
from pipeline import __version__  # noqa: E402
from pipeline.collect.blobs import BlobStore  # noqa: E402
from pipeline.collect.collector import CollectResult, collect, contact_warning, make_client  # noqa: E402
from pipeline.collect.councils import DEFAULT_COUNCILS, load_councils  # noqa: E402
from pipeline.collect.http import PoliteClient  # noqa: E402
from pipeline.collect.refs import SITE_LEVELS, Failure  # noqa: E402
from pipeline.collect.sources import Register, Source, load_register, parse_source, scrape_day  # noqa: E402
from pipeline.domain import Authority, DocumentSource  # noqa: E402
from pipeline.ingest import RunSummary  # noqa: E402
from pipeline.progress import Progress  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.taxonomy import DEFAULT_TAXONOMY  # noqa: E402

log = logging.getLogger(__name__)
DEFAULT_WORKERS = 4


@dataclass
class ScrapeSummary:
    run_id: int
    counts: dict[str, int]  # new, changed, unchanged, failed; skipped, deferred, local when non-zero
    failures: list[tuple[str, Failure]] = field(default_factory=list)  # (source id, failure)
    unreachable: list[str] = field(default_factory=list)  # sources of which nothing could be listed
    sources: int = 0
    warnings: list[str] = field(default_factory=list)
    ingest: RunSummary | None = None

    @property
    def usable(self) -> bool:
        """False when every source's site was out of reach: the run collected nothing it could."""
        return self.sources == 0 or len(self.unreachable) < self.sources

    @property
    def why_unusable(self) -> str:
        """What the unreachable sources' sites answered, for the one-line error of a run that read nothing."""
        return "; ".join(f"{source}: {failure.message}" for source, failure in self.failures
                         if failure.level in SITE_LEVELS) or "the site is unreachable or lists nothing"


def scrape(keys: list[str], db: Path, register: Path, since: str | None, until: str | None, adhoc: dict | None = None,
           allow_private_hosts: bool = False, workers: int = DEFAULT_WORKERS) -> ScrapeSummary:
    """``triage scrape``: the request checked before Prefect starts (a bad date or an unknown source fails at
    once, with nothing started), then the scrape flow, with progress."""
    for day in (since, until):
        scrape_day(day)
    _chosen(load_register(register), keys, adhoc)
    return scrape_flow(keys, str(db), str(register), since, until, adhoc, allow_private_hosts, progress=True,
                       workers=workers)


def _chosen(register: Register, keys: list[str], adhoc: dict | None) -> list[Source]:
    return [parse_source(adhoc, "command line")] if adhoc else register.select(keys)


@task(cache_policy=NO_CACHE, task_run_name="collect {source.id}")
def collect_source(source: Source, db: str, blobs_root: str, client: PoliteClient | None,
                   since: date | None, until: date | None, run: int, progress: bool) -> CollectResult:
    with Store(db) as store, Progress(f"Collecting {source.id}", 0, enabled=progress) as bar:
        return collect(source, store, BlobStore(Path(blobs_root)), client if source.kind != "local" else None,
                       since, until, bar.advance, run)


@flow(name="collect", validate_parameters=False)
def collect_sources(sources: list[Source], db: str, client: PoliteClient,
                    since: date | None, until: date | None, run: int, progress: bool) -> list[CollectResult]:
    """Every source through the flow's thread pool; a source whose task fails is a failure of that source."""
    futures = collect_source.map(sources, unmapped(db),
                                 unmapped(str(Path(db).parent / "blobs")), unmapped(client), unmapped(since),
                                 unmapped(until), unmapped(run), unmapped(progress and len(sources) == 1))
    results = []
    for source, future in zip(sources, futures, strict=True):
        outcome = future.result(raise_on_failure=False)
        if not isinstance(outcome, CollectResult):
            failure = Failure(str(source.base_url or source.path), "listing", "crashed",
                              f"{type(outcome).__name__}: {outcome}")
            with Store(db) as store:
                store.record_scrape_failure(run, source.id, failure.url, failure.url, failure.level,
                                            failure.reason, None, failure.message)
            outcome = CollectResult(source.id, Counter(failed=1), failures=[failure], reachable=False)
        results.append(outcome)
    return results


@flow(name="scrape", validate_parameters=False)
def scrape_flow(sources: list[str], db: str, register: str | None = None, since: str | None = None,
                until: str | None = None, adhoc: dict | None = None, allow_private_hosts: bool = False,
                taxonomy: str = DEFAULT_TAXONOMY, progress: bool = False, workers: int = DEFAULT_WORKERS,
                councils: str = str(DEFAULT_COUNCILS)) -> ScrapeSummary:
    """Collect the named sources (ids or authority slugs; ``all`` for every source) or one ad-hoc source,
    at most ``workers`` at a time, then ingest what is new or changed."""
    known = load_register(Path(register) if register else None)
    chosen = _chosen(known, sources, adhoc)
    allowed = known.allowed_bases + [s.base_url for s in chosen if s.base_url]
    contact = scraper_contact(known.contact)
    warning = contact_warning(contact, chosen, allow_private_hosts)
    warnings = [warning] if warning else []
    if warning:
        log.warning(warning)
    authorities = source_authorities(chosen, db, Path(councils))
    client = make_client(allowed, contact, allow_private_hosts or any(s.allow_private_hosts for s in chosen))
    with Store(db) as store:  # before the threads: one writer sets up what they all share
        store.upsert_authorities(authorities.values())
        run = store.start_run("collect", {"sources": [s.id for s in chosen], "since": since, "until": until},
                              __version__, None, None)
    try:
        results = collect_sources.with_options(task_runner=ThreadPoolTaskRunner(max_workers=max(1, workers)))(
            chosen, db, client, scrape_day(since), scrape_day(until), run, progress)
    finally:
        client.close()
    counts: Counter[str] = Counter()
    failures: list[tuple[str, Failure]] = []
    documents: list[DocumentSource] = []
    for result in results:
        authorities.update({a.slug: a for a in result.authorities})
        counts.update(result.counts)
        failures += [(result.source, failure) for failure in result.failures]
        documents += result.documents
    summary = ScrapeSummary(run, dict(counts), failures, [r.source for r in results if not r.reachable],
                            len(chosen), warnings)
    with Store(db) as store:
        store.finish_run(run, "ok" if summary.usable else "unreachable", dict(counts))
    if documents:
        summary.ingest = ingest_documents(documents, list(authorities.values()), db, taxonomy, progress, "scrape",
                                          {"sources": [s.id for s in chosen], "since": since, "until": until})
    return summary


def source_authorities(sources: list[Source], db: str, councils: Path) -> dict[str, Authority]:
    """Each source's authority: the national register's entry for sources made from it, else the one
    already stored, else a new one named after its slug."""
    register = {c.code: c for c in load_councils(councils)} if any(s.council for s in sources) else {}
    with Store(db) as store:
        stored = {row["slug"]: row for row in store.db["authorities"].rows}
    found: dict[str, Authority] = {}
    for source in sources:
        if source.council in register:
            found[source.authority] = register[source.council].authority()
        elif source.authority in stored:
            row = stored[source.authority]
            found.setdefault(source.authority, Authority(row["slug"], row["name"], row["type"] or "other",
                                                         row["region"], row.get("nation"), row.get("gss")))
        else:
            found.setdefault(source.authority, Authority(source.authority, source.authority.replace("-", " ").title()))
    return found
