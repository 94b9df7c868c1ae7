"""``triage run``: files and folders into the database, through the ingest flow when there is work.

Not a flow: it decides whether Prefect need start at all (a re-run of stored documents does not), and
starts the run's document workers and their first documents before Prefect, so that their work
overlaps Prefect's start-up; Prefect is imported only then, for the same reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pipeline.collect.corpus import discover
from pipeline.ingest import RunSummary, settled_run
from pipeline.settings import environment_kept
from pipeline.taxonomy import load_taxonomy
from pipeline.timing import PLANNING, PREFECT, Budget


def run_paths(paths: list[Path], db: Path, authority: str | None, taxonomy: str, budget: Budget,
              say: Callable[[str], None], dask_workers: int | None = None,
              dask_address: str | None = None) -> RunSummary:
    """Ingest ``paths`` into ``db``, telling ``say`` what starts, and adding the phases' time to ``budget``.
    A bad path or a document without an authority fails here, before anything starts."""
    parameters = {"paths": [str(p) for p in paths], "authority": authority, "taxonomy": taxonomy}
    with budget.phase(PLANNING):
        authorities, sources = discover(paths, authority)
        load_taxonomy(taxonomy)
        summary, to_prepare = settled_run(sources, authorities, db, taxonomy, parameters)
    if summary is not None:
        say("Nothing to do: every document is stored under the current extractor and classifier "
            "(Prefect not started)")
        return summary
    from pipeline.extract.limits import limits_from_environment
    from pipeline.runtime import WORKERS, Lifeline, WorkerPool, offered

    say(f"Ingesting {', '.join(str(p) for p in paths)} into {db} (Prefect, local ephemeral mode unless "
        "PREFECT_API_URL is set)")
    started = time.perf_counter()
    on_cluster = bool(dask_workers or dask_address)
    # If this process is killed, what it started (Prefect's server, workers) dies too.
    with Lifeline(), WorkerPool(WORKERS, limits_from_environment()) as pool, offered(pool):
        if to_prepare and not on_cluster:
            pool.begin(to_prepare)
        from flows.ingest import dask_task_runner, ingest_flow

        flow = (ingest_flow.with_options(task_runner=dask_task_runner(dask_address, dask_workers or 2))
                if on_cluster else ingest_flow)
        with environment_kept():  # a Dask cluster's nanny leaves its workers' variables behind
            summary = flow(parameters["paths"], str(db), authority, taxonomy, progress=True, on_cluster=on_cluster)
    budget.add(PREFECT, time.perf_counter() - started - sum(summary.timings.values()))
    budget.add_all(summary.timings)
    return summary
