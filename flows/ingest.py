"""The ingest flow: every document end to end, one task run per document.

A document that cannot be read is stored as failed with its reason and the run goes
on; a transient error (a locked database, an I/O hiccup) is retried. Work already done
is skipped through the database (document hash, extractor version, classifier id).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import asdict
from pathlib import Path

from pipeline.settings import configure_environment

configure_environment()

from prefect import flow, get_run_logger, task, unmapped  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import PrefectFuture  # noqa: E402
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner  # noqa: E402

from pipeline import __version__  # noqa: E402
from pipeline.corpus import Authority, DocumentSource, discover  # noqa: E402
from pipeline.feed import sync_events  # noqa: E402
from pipeline.ids import sha256_bytes  # noqa: E402
from pipeline.ingest import (  # noqa: E402
    DocumentResult,
    Ingestor,
    Prepared,
    RunSummary,
    prepare,
    process_encoder,
    summarise_run,
)
from pipeline.progress import Progress  # noqa: E402
from pipeline.registry import registry_for  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_crosswalk, load_taxonomy  # noqa: E402

PREPARE_WORKERS = 1
BATCH_PASSAGES = 256  # embed this many passages across documents in one call


def _transient(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Retry only errors that may pass: a busy database or a flaky file system."""
    try:
        state.result()
    except (sqlite3.OperationalError, OSError):
        return True
    except Exception:
        return False
    return False


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient, cache_policy=NO_CACHE,
      task_run_name="prepare {source.path.name}")
def prepare_document(source: DocumentSource, embed: bool = False) -> Prepared:
    """CPU work without the database (read, extract, OCR, segment, and with ``embed`` the passages'
    vectors): runs in worker processes."""
    return prepare(source, encoder=process_encoder() if embed else None)


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient, cache_policy=NO_CACHE,
      task_run_name="store {batch_number}")
def store_batch(ingestor: Ingestor, batch: list[Prepared], batch_number: int) -> list[DocumentResult]:
    """Embedding, classification and writing: in the flow's process, the single writer."""
    return ingestor.store_prepared(batch)


def default_task_runner() -> TaskRunner:
    """Extraction in a separate process while this one embeds (2 cores: one each)."""
    return ProcessPoolTaskRunner(max_workers=PREPARE_WORKERS)


def dask_task_runner(address: str | None = None, workers: int = 2) -> TaskRunner:
    """Fan document preparation and embedding out over a Dask cluster (run the flow with
    ``embed_in_workers``): an existing scheduler at ``address``, or a ``LocalCluster`` of
    ``workers`` processes. Results come back to this process, the single writer."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


@flow(name="ingest", validate_parameters=False, task_runner=default_task_runner())
def ingest_flow(paths: list[str], db: str, authority: str | None = None, taxonomy: str = DEFAULT_TAXONOMY,
                progress: bool = False, embed_in_workers: bool = False) -> RunSummary:
    authorities, sources = discover([Path(p) for p in paths], authority)
    return ingest_documents(sources, authorities, db, taxonomy, progress, "ingest",
                            {"paths": paths, "authority": authority, "taxonomy": taxonomy}, embed_in_workers)


def ingest_documents(sources: list[DocumentSource], authorities: list[Authority], db: str, taxonomy: str,
                     progress: bool, flow_name: str, parameters: dict[str, object],
                     embed_in_workers: bool = False) -> RunSummary:
    """The body of every flow that ingests: run inside a flow, it records a run and an artifact.

    Documents already done are skipped and extracted ones re-classified here; new ones are
    prepared by the flow's task runner (worker processes, or a Dask cluster, whose workers also
    embed with ``embed_in_workers``) and stored in batches of about ``BATCH_PASSAGES``
    passages, in the order given. On two cores the default splits the work instead: one process
    prepares while this one embeds.
    """
    from pipeline.classify import load_classifier
    from pipeline.embed import load_encoder

    logger = get_run_logger()
    tax = load_taxonomy(taxonomy)
    with Store(db) as store:
        store.upsert_authorities(authorities)
        store.sync_taxonomy(tax)
        classifier = load_classifier(load_encoder(), tax.id, registry=registry_for(db))  # weights load on first use
        ingestor = Ingestor(store, None, classifier, crosswalk=load_crosswalk(tax.id))  # prepared elsewhere
        run_id = store.start_run(flow_name, parameters, __version__, ingestor.model_id, ingestor.classifier_id)
        results: list[DocumentResult] = []
        outcome = "failed"
        try:
            with Progress("Ingesting", len(sources), enabled=progress) as bar:
                new: list[DocumentSource] = []
                for source in sources:
                    _, result = ingestor.plan(source)
                    if result is None:
                        new.append(source)
                    else:
                        results.append(result)
                        bar.advance(source.path.name)
                batch: list[Prepared] = []
                for number, future in enumerate(prepare_document.map(new, embed=unmapped(embed_in_workers))):
                    prepared = _prepared(future, new[number], logger)
                    batch.append(prepared)
                    if sum(len(p.passages) for p in batch) >= BATCH_PASSAGES or number == len(new) - 1:
                        results += store_batch(ingestor, batch, number)
                        for done in batch:
                            bar.advance(done.source.path.name)
                        batch = []
            outcome = "completed"
        finally:
            summary = summarise_run(run_id, results, store)
            store.finish_run(run_id, outcome, asdict(summary))
        sync_events(store)
    _publish(summary)
    return summary


def _prepared(future: PrefectFuture, source: DocumentSource, logger: logging.Logger) -> Prepared:
    """The task's result, or a failed document carrying the unexpected error (the run goes on)."""
    future.wait()
    if future.state.is_completed():
        return future.result()
    error = future.state.result(raise_on_failure=False)
    logger.error("%s failed: %s", source.path, error)
    return Prepared(source, sha256_bytes(str(source.path).encode()), error_reason="error",
                    error=f"{type(error).__name__}: {error}")


def _publish(summary: RunSummary) -> None:
    lines = [f"# Ingest run {summary.run_id}", "",
             f"{summary.documents} documents: " + ", ".join(f"{n} {k}" for k, n in sorted(summary.outcomes.items())),
             f"{summary.passages} passages, {summary.evidence} evidence links, {summary.embedded} texts embedded",
             ""]
    if summary.ocr:
        lines += ["Read by OCR: " + ", ".join(Path(p).name for p in summary.ocr), ""]
    if summary.failures:
        lines += ["| document | reason | message |", "|---|---|---|"]
        lines += [f"| {Path(f['path'] or '').name} | {f['reason']} | {f['message']} |" for f in summary.failures]
    create_markdown_artifact("\n".join(lines), key="ingest-summary", description="bv-triage ingest run")
