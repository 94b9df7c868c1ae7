"""Dividing the work: a lead assigns a filtered set of items to a reviewer, and an item anyone opens is
leased to them for a few minutes, so two analysts never work the same item.

An item held by someone else (assigned to them, or leased and not yet expired) is left out of
everyone else's queue ("mine", the default view); opening it anyway shows who holds it and offers no
decision. Deciding an item releases it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.errors import DecisionError
from pipeline.review.queries import FROM, Key, QueueFilters
from pipeline.store import Store
from pipeline.store.base import now

LEASE = timedelta(minutes=10)


def _expiry() -> str:
    return (datetime.now(UTC) + LEASE).isoformat(timespec="seconds")


def holder(store: Store, key: Key, reviewer: str) -> dict | None:
    """Who else holds the item (their name, how, until when), if anyone."""
    row = store.db.execute(
        "select reviewer, kind, expires_at from assignments where passage = ? and taxonomy = ? and entry = ? "
        "and reviewer != ? and (kind = 'assigned' or expires_at > ?)", [*key, reviewer, now()]).fetchone()
    return dict(zip(("reviewer", "kind", "expires_at"), row, strict=True)) if row else None


def claim(store: Store, key: Key, reviewer: str) -> dict | None:
    """Lease the item to ``reviewer`` (or keep their assignment) unless someone else holds it; returns that
    someone, else None. One write transaction, so two analysts opening it at once cannot both get it."""
    with store.write_transaction():
        other = holder(store, key, reviewer)
        if other is None:
            store.db.execute(
                "insert into assignments (passage, taxonomy, entry, reviewer, kind, assigned_by, created_at, "
                "expires_at) values (?, ?, ?, ?, 'lease', ?, ?, ?) on conflict (passage, taxonomy, entry) do update "
                "set reviewer = excluded.reviewer, kind = case when assignments.reviewer = excluded.reviewer then "
                "assignments.kind else 'lease' end, expires_at = case when assignments.kind = 'assigned' and "
                "assignments.reviewer = excluded.reviewer then null else excluded.expires_at end",
                [*key, reviewer, reviewer, now(), _expiry()])
    return other


def release(store: Store, key: Key) -> None:
    """The item is decided: nobody holds it any more."""
    with store.transaction():
        store.db.execute("delete from assignments where passage = ? and taxonomy = ? and entry = ?", list(key))


def assign(store: Store, filters: QueueFilters, reviewer: str, lead: str) -> int:
    """Assign the still-suggested items matching the filters, that nobody else holds, to ``reviewer``."""
    if not store.db.execute("select 1 from reviewers where name = ? and coalesce(disabled, 0) = 0",
                            [reviewer]).fetchone():
        raise DecisionError(f"no active reviewer {reviewer!r}")
    where, params = replace(filters, status="suggested", scope="mine", reviewer=reviewer).where()
    keys = store.db.execute(f"select e.passage, e.taxonomy, e.entry {FROM} where {where}", params).fetchall()
    with store.write_transaction():
        store.db["assignments"].upsert_all(
            [{"passage": p, "taxonomy": t, "entry": e, "reviewer": reviewer, "kind": "assigned", "assigned_by": lead,
              "created_at": now(), "expires_at": None} for p, t, e in keys],
            pk=("passage", "taxonomy", "entry"))
    return len(keys)
