"""Push flag events to the risk engine: JSONL files in an outbox folder, and optionally a webhook.

Delivery is at least once: a destination's cursor moves only after its batch is fully written
(atomic rename) or acknowledged (2xx); event ids let the receiver drop repeats.

A webhook's credentials never travel in its URL: the URL is stored (as the destination's name),
shown by `triage explore`, printed and kept by Prefect as a flow parameter, so a URL carrying a
user name, password or a secret-looking query parameter is refused, and the receiver's token comes
from the environment (sent as ``Authorization: Bearer``). Query values are masked wherever the
URL is named all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

from pipeline.feed.events import read_events, render, sync_events, write_atomically
from pipeline.store import Store
from pipeline.store.base import now

SIGNATURE_HEADER = "X-BV-Triage-Signature"
BATCH = 500
_SECRET_NAME = re.compile(r"token|key|secret|pass|pwd|sig|auth|cred|session|code", re.I)


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


def check_webhook_url(url: str) -> None:
    """FeedError unless ``url`` is an http(s) address with no credentials in it."""
    from pipeline.errors import FeedError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(f"the webhook must be an http or https address, not {webhook_name(url)!r}")
    if parts.username or parts.password:
        raise FeedError("the webhook URL carries a user name or password: put the receiver's token in "
                        "BV_TRIAGE_WEBHOOK_TOKEN (sent as Authorization: Bearer) instead")
    secret = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if _SECRET_NAME.search(name)]
    if secret:
        raise FeedError(f"the webhook URL carries {secret[0]!r} in its query: put the receiver's token in "
                        "BV_TRIAGE_WEBHOOK_TOKEN (sent as Authorization: Bearer) instead")


def webhook_name(url: str) -> str:
    """The URL as it may be stored and shown: no user name or password, every query value masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = host + (f":{parts.port}" if parts.port else "")
    query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def push_webhook(store: Store, url: str, secret: str, token: str | None = None, attempts: int = 5,
                 backoff: float = 1.0, timeout: float = 30.0) -> PushResult:
    """POST undelivered events in batches, signed with HMAC-SHA256 (and with the receiver's bearer token, if
    given), retrying with backoff."""
    check_webhook_url(url)
    sync_events(store)
    destination = f"webhook:{webhook_name(url)}"
    cursor = delivered_cursor(store, destination)
    total = 0
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        while batch := list(read_events(store, cursor, BATCH)):
            body = render(batch, "jsonl").encode()
            headers = {"Content-Type": "application/x-ndjson", SIGNATURE_HEADER: sign(secret, body),
                       "X-BV-Triage-Cursor": f"{batch[0]['cursor']}-{batch[-1]['cursor']}"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            _post(client, url, body, headers, attempts, backoff)
            cursor = batch[-1]["cursor"]
            _advance(store, destination, cursor)
            total += len(batch)
    return PushResult(destination, total, [], cursor)


def _post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str], attempts: int,
          backoff: float) -> None:
    from pipeline.errors import FeedError

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
            last = type(e).__name__  # its message can quote the URL
        if attempt + 1 < attempts:
            time.sleep(backoff * 2**attempt)
    raise FeedError(f"webhook {webhook_name(url)} did not accept the batch ({last})")
