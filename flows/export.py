"""The export flow: push new flag events to the outbox folder and, when configured, a webhook."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.settings import configure_environment

configure_environment()

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from pipeline.push import PushResult, push_outbox, push_webhook  # noqa: E402
from pipeline.store import Store  # noqa: E402


@task(cache_policy=NO_CACHE, task_run_name="outbox")
def to_outbox(db: str, outbox: str) -> PushResult:
    with Store(db) as store:
        return push_outbox(store, Path(outbox))


@task(retries=3, retry_delay_seconds=[10, 60, 300], cache_policy=NO_CACHE, task_run_name="webhook")
def to_webhook(db: str, url: str, secret: str) -> PushResult:
    with Store(db) as store:
        return push_webhook(store, url, secret)


@flow(name="export", validate_parameters=False)
def export_flow(db: str, outbox: str, webhook_url: str | None = None) -> list[PushResult]:
    """The webhook secret comes from BV_TRIAGE_WEBHOOK_SECRET, never from flow parameters."""
    results = [to_outbox(db, outbox)]
    if webhook_url:
        secret = os.environ.get("BV_TRIAGE_WEBHOOK_SECRET", "")
        if not secret:
            raise ValueError("set BV_TRIAGE_WEBHOOK_SECRET to sign webhook deliveries")
        results.append(to_webhook(db, webhook_url, secret))
    return results
