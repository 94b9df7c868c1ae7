"""Push flag events to the risk engine: JSONL files in an outbox folder, and optionally a webhook.

Delivery is at least once: a destination's cursor moves only after its batch is fully written
(atomic rename) or acknowledged (2xx); event ids let the receiver drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.feed import read_events, render, sync_events, write_atomically
from pipeline.store import Store, now

SIGNATURE_HEADER = "X-BV-Triage-Signature"
BATCH = 500


@dataclass
class PushResult:
    destination: str
    events: int
    files: list[Path]
    cursor: int


def delivered_cursor(store: Store, destination: str) -> int:
    row = store.db.execute("select cursor from deliveries where destination = ?", [destination]).fetchone()
    return int(row[0]) if row else 0


def _advance(store: Store, destination: str, cursor: int) -> None:
    with store.transaction():
        store.db["deliveries"].upsert({"destination": destination, "cursor": cursor, "updated_at": now()},
                                      pk="destination")


def push_outbox(store: Store, outbox: Path) -> PushResult:
    """Write the events not yet in the outbox as ``flags-<first>-<last>.jsonl`` files."""
    sync_events(store)
    destination = f"outbox:{outbox.resolve()}"
    cursor = delivered_cursor(store, destination)
    files, total = [], 0
    while batch := list(read_events(store, cursor, BATCH)):
        path = outbox / f"flags-{batch[0]['cursor']:012d}-{batch[-1]['cursor']:012d}.jsonl"
        write_atomically(path, render(batch, "jsonl"))
        cursor = batch[-1]["cursor"]
        _advance(store, destination, cursor)
        files.append(path)
        total += len(batch)
    return PushResult(destination, total, files, cursor)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_webhook(store: Store, url: str, secret: str, attempts: int = 5, backoff: float = 1.0,
                 timeout: float = 30.0) -> PushResult:
    """POST undelivered events in batches, signed with HMAC-SHA256, retrying with backoff."""
    sync_events(store)
    destination = f"webhook:{url}"
    cursor = delivered_cursor(store, destination)
    total = 0
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        while batch := list(read_events(store, cursor, BATCH)):
            body = render(batch, "jsonl").encode()
            headers = {"Content-Type": "application/x-ndjson", SIGNATURE_HEADER: sign(secret, body),
                       "X-BV-Triage-Cursor": f"{batch[0]['cursor']}-{batch[-1]['cursor']}"}
            _post(client, url, body, headers, attempts, backoff)
            cursor = batch[-1]["cursor"]
            _advance(store, destination, cursor)
            total += len(batch)
    return PushResult(destination, total, [], cursor)


def _post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str], attempts: int,
          backoff: float) -> None:
    from pipeline.feed import FeedError

    last = "no attempt made"
    for attempt in range(attempts):
        try:
            response = client.post(url, content=body, headers=headers)
            if response.is_success:
                return
            last = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break  # the receiver refuses this batch: retrying will not help
        except httpx.HTTPError as e:
            last = f"{type(e).__name__}: {e}"
        if attempt + 1 < attempts:
            time.sleep(backoff * 2**attempt)
    raise FeedError(f"webhook {url} did not accept the batch ({last})")
