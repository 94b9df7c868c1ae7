"""Serve the scrape deployments on their cron schedules, and the weekly learn deployment.

Schedules need a Prefect server (an ephemeral one cannot schedule): ``serve`` connects to
``PREFECT_API_URL`` when it is set, and otherwise starts ``prefect server start`` on
loopback for as long as it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pipeline.settings import configure_environment

configure_environment()

from prefect.deployments.runner import RunnerDeployment  # noqa: E402

from flows.learn import WEEKLY, learn_flow  # noqa: E402
from flows.scrape import scrape_flow  # noqa: E402
from pipeline.collect.sources import Register  # noqa: E402
from pipeline.errors import TriageError  # noqa: E402

SERVER_START_TIMEOUT = 120


def build_deployments(register: Register, db: str) -> list[RunnerDeployment]:
    """One scheduled scrape deployment per source in the register, and one weekly learn deployment."""
    scrapes = [
        scrape_flow.to_deployment(
            name=f"scrape-{source.id}", cron=source.schedule, tags=[source.authority, source.kind],
            parameters={"sources": [source.id], "db": db, "register": str(register.path)},
            description=f"Collect and ingest {source.kind} source {source.id} of {source.authority}",
        )
        for source in register.sources
    ]
    learn = learn_flow.to_deployment(name="learn-weekly", cron=WEEKLY, parameters={"db": db},
                                     description="Refit the classifier from the week's review decisions")
    return [*scrapes, learn]


@contextmanager
def prefect_server(port: int = 4200) -> Iterator[tuple[str, str]]:
    """Yield ("connected" | "started", api_url); a started server stops when the block ends."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        yield "connected", url
        return
    url = f"http://127.0.0.1:{port}/api"
    log = Path(os.environ["PREFECT_HOME"]) / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise TriageError(f"prefect server exited with status {server.returncode}; see {log}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            raise TriageError(f"prefect server did not answer within {SERVER_START_TIMEOUT} s; see {log}")
        yield "started", url
    finally:
        server.terminate()
        server.wait(timeout=30)


def serve_deployments(deployments: list[RunnerDeployment], port: int = 4200, limit: int = 4) -> None:
    """Serve the deployments (``build_deployments``), at most ``limit`` flow runs at once (the schedules are
    spread, see ``pipeline.collect.councils.staggered_schedules``, so hosts shared by many councils are not hit
    together)."""
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with prefect_server(port) as (_, url), temporary_settings({PREFECT_API_URL: url}):
        serve(*deployments, limit=limit)
