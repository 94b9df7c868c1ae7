"""The export flow: push new flag events to the outbox folder and, when configured, a webhook."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.settings import configure_environment

configure_environment()

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from pipeline.errors import FeedError  # noqa: E402
from pipeline.feed.push import PushResult, check_webhook_url, push_outbox, push_webhook  # noqa: E402
from pipeline.store import Store  # noqa: E402


@task(cache_policy=NO_CACHE, task_run_name="outbox")
def to_outbox(db: str, outbox: str) -> PushResult:
    with Store(db) as store:
        return push_outbox(store, Path(outbox))


@task(retries=3, retry_delay_seconds=[10, 60, 300], cache_policy=NO_CACHE, task_run_name="webhook")
def to_webhook(db: str, url: str) -> PushResult:
    """The signing secret and the receiver's token are read here, from the environment, so neither becomes a
    task or flow parameter that Prefect would store."""
    with Store(db) as store:
        return push_webhook(store, url, os.environ["BV_TRIAGE_WEBHOOK_SECRET"],
                            os.environ.get("BV_TRIAGE_WEBHOOK_TOKEN") or None)


@flow(name="export", validate_parameters=False)
def export_flow(db: str, outbox: str, webhook_url: str | None = None) -> list[PushResult]:
    """The webhook secret comes from BV_TRIAGE_WEBHOOK_SECRET (and the receiver's token, if it wants one, from
    BV_TRIAGE_WEBHOOK_TOKEN), never from flow parameters; a URL with credentials in it is refused."""
    results = [to_outbox(db, outbox)]
    if webhook_url:
        check_webhook_url(webhook_url)
        if not os.environ.get("BV_TRIAGE_WEBHOOK_SECRET"):
            raise FeedError("set BV_TRIAGE_WEBHOOK_SECRET to sign webhook deliveries")
        results.append(to_webhook(db, webhook_url))
    return results
