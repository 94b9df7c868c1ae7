"""The ingest flow: every document end to end, one task run per document.

A document that cannot be read is stored as failed with its reason and the run goes
on; a transient error (a locked database, an I/O hiccup) is retried. Work already done
is skipped through the database (document hash, extractor version, classifier id).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pipeline.settings import configure_environment

configure_environment()

from prefect import flow, get_run_logger, task, unmapped  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import PrefectFuture  # noqa: E402
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner  # noqa: E402

from pipeline.collect.corpus import discover  # noqa: E402
from pipeline.domain import Authority, DocumentSource  # noqa: E402
from pipeline.ids import sha256_bytes  # noqa: E402
from pipeline.ingest import (  # noqa: E402
    DocumentResult,
    Ingestor,
    Prepared,
    RunSummary,
    ingest_sources,
    prepare,
    process_encoder,
    store_here,
)
from pipeline.taxonomy import DEFAULT_TAXONOMY  # noqa: E402

PREPARE_WORKERS = 1


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
    return store_here(ingestor, batch, batch_number)


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
    """The body of every flow that ingests: documents are prepared by the flow's task runner (worker
    processes, or a Dask cluster whose workers also embed with ``embed_in_workers``) and stored by a
    task in this process; the run is published as an artifact. On two cores the default splits the
    work: one process prepares while this one embeds."""
    logger = get_run_logger()

    def prepare_many(new: list[DocumentSource]) -> Iterator[Prepared]:
        futures = prepare_document.map(new, embed=unmapped(embed_in_workers))
        return (_prepared(future, source, logger) for future, source in zip(futures, new, strict=True))

    summary = ingest_sources(sources, authorities, db, taxonomy, flow_name=flow_name, parameters=parameters,
                             prepare_many=prepare_many, store_batch=store_batch, progress=progress)
    create_markdown_artifact(summary.markdown(), key="ingest-summary", description="bv-triage ingest run")
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
