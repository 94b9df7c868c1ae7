"""The ingest flow: wiring of ``pipeline.ingest`` with the run's document workers or a Dask cluster.

A document that cannot be read is stored as failed with its reason and the run goes on;
a transient error writing it (a locked database, an I/O hiccup) is retried. Work already
done is skipped through the database (document hash, extractor version, classifier id).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pipeline.settings import configure_environment

configure_environment()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import PrefectFuture  # noqa: E402
from prefect.task_runners import TaskRunner  # noqa: E402

from pipeline.collect.corpus import discover  # noqa: E402
from pipeline.domain import Authority, DocumentSource  # noqa: E402
from pipeline.embed.onnx import THREADS_VARIABLE  # noqa: E402
from pipeline.errors import FailureReason  # noqa: E402
from pipeline.extract.limits import limits_from_environment  # noqa: E402
from pipeline.ingest import (  # noqa: E402
    DocumentResult,
    Ingestor,
    Prepared,
    RunSummary,
    ingest_sources,
    process_encoder,
    store_here,
)
from pipeline.runtime import WORKERS, WorkerPool, offered_pool, prepare_safely, source_key  # noqa: E402
from pipeline.taxonomy import DEFAULT_TAXONOMY  # noqa: E402


def _transient(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Retry only errors that may pass: a busy database or a flaky file system."""
    try:
        state.result()
    except (sqlite3.OperationalError, OSError):
        return True
    except Exception:
        return False
    return False


@task(cache_policy=NO_CACHE, task_run_name="prepare {source.path.name}")
def prepare_document(source: DocumentSource) -> Prepared:
    """Read, extract, segment and embed one document on a cluster's worker; failures come back as data."""
    return prepare_safely(source, limits_from_environment(), process_encoder())


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient, cache_policy=NO_CACHE,
      task_run_name="store {batch_number}")
def store_batch(ingestor: Ingestor, batch: list[Prepared], batch_number: int) -> list[DocumentResult]:
    """Classification and writing: in the flow's process, the single writer."""
    return store_here(ingestor, batch, batch_number)


def dask_task_runner(address: str | None = None, workers: int = 2) -> TaskRunner:
    """Fan document preparation and embedding out over a Dask cluster (run the flow with
    ``on_cluster``): an existing scheduler at ``address``, or a ``LocalCluster`` of ``workers``
    processes. Results come back to this process, the single writer."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    # one encoder thread per worker process, as the run's own workers: sessions that each spread over
    # every core fight for them
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None, "env": {THREADS_VARIABLE: "1"}})


@flow(name="ingest", validate_parameters=False)
def ingest_flow(paths: list[str], db: str, authority: str | None = None, taxonomy: str = DEFAULT_TAXONOMY,
                progress: bool = False, on_cluster: bool = False) -> RunSummary:
    authorities, sources = discover([Path(p) for p in paths], authority)
    return ingest_documents(sources, authorities, db, taxonomy, progress, "ingest",
                            {"paths": paths, "authority": authority, "taxonomy": taxonomy}, on_cluster)


def ingest_documents(sources: list[DocumentSource], authorities: list[Authority], db: str, taxonomy: str,
                     progress: bool, flow_name: str, parameters: dict[str, object],
                     on_cluster: bool = False) -> RunSummary:
    """The body of every flow that ingests. Documents are prepared and embedded by the run's own
    worker processes (``pipeline.runtime``), or with ``on_cluster`` by the flow's task runner (a Dask
    cluster), and stored by a task in this process; the run is published as an artifact. The
    workers are the ones ``triage run`` started before the flow when it offers them."""
    logger = get_run_logger()

    def on_the_cluster(new: list[DocumentSource]) -> Iterator[Prepared]:
        futures = prepare_document.map(new)
        return (_prepared(future, source, logger) for future, source in zip(futures, new, strict=True))

    early = offered_pool()  # started by `triage run` before Prefect; else started here
    with contextlib.nullcontext(early) if early else WorkerPool(WORKERS, limits_from_environment()) as pool:
        summary = ingest_sources(sources, authorities, db, taxonomy, flow_name=flow_name, parameters=parameters,
                                 prepare_many=on_the_cluster if on_cluster else pool.prepare,
                                 store_batch=store_batch, progress=progress)
    create_markdown_artifact(summary.markdown(), key="ingest-summary", description="bv-triage ingest run")
    return summary


def _prepared(future: PrefectFuture, source: DocumentSource, logger: logging.Logger) -> Prepared:
    """The task's result, or the document failed as ``crashed`` (its cluster worker died); the run goes on."""
    future.wait()
    if future.state.is_completed():
        return future.result()
    error = future.state.result(raise_on_failure=False)
    logger.error("%s failed: %s", source.path, error)
    return Prepared(source, source_key(source), error_reason=FailureReason.CRASHED,
                    error=f"the process preparing it died ({type(error).__name__}: {error})")
