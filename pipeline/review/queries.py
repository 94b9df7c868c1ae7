"""What the review pages read: the queue of current evidence, one item with its context, entry search.

Current evidence is evidence from the classifier that last classified a stored, not superseded
document; older classifiers' rows stay in the store but are not reviewed. Every query is
parameterised; filter values never reach the SQL text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from math import ceil
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

from pipeline.domain import EvidenceKey
from pipeline.store import Store
from pipeline.store.base import now

STATUSES = ("suggested", "confirmed", "rejected", "any")
ORDERS = ("probability", "uncertainty", "shuffle")
SCOPES = ("mine", "all")  # mine: nothing assigned or leased to someone else
PAGE_SIZE = 25
Key = tuple[str, str, str]  # (passage, taxonomy, entry)
T = TypeVar("T")
D = TypeVar("D")

FROM = ("from evidence e join passages p on p.id = e.passage join documents d on d.id = p.document "
        "join taxonomy_entries t on t.taxonomy = e.taxonomy and t.id = e.entry")
CURRENT = "d.status = 'ok' and d.superseded_by is null and e.classifier_id = d.classifier_id"
_COLUMNS = ("e.passage, e.taxonomy, e.entry, e.classifier_id, e.probability, e.rank, e.flagged, e.status, e.reason, "
            "e.version, e.reviewed_by, e.reviewed_at, p.text, p.heading, p.page, p.ordinal, p.block_type, "
            "d.id as document, "
            "d.title, d.kind, d.date, d.url, d.format, d.authority, t.theme, t.kind as entry_kind, "
            "t.text as entry_text")
HELD_BY_OTHERS = ("exists (select 1 from assignments a where a.passage = e.passage and a.taxonomy = e.taxonomy "
                  "and a.entry = e.entry and a.reviewer != ? and (a.kind = 'assigned' or a.expires_at > ?))")
_ORDER_BY = {
    "probability": "coalesce(e.probability, -1) desc",
    "uncertainty": "abs(coalesce(e.probability, 0) - 0.5)",
    "shuffle": "review_shuffle(?, e.passage || '|' || e.entry)",
}


def _parse(value: str, kind: Callable[[str], T], default: D) -> T | D:
    try:
        return kind(value) if value else default
    except ValueError:
        return default


def _day(value: str) -> str:
    """An ISO date, or nothing if the value is not one."""
    return _parse(value, lambda v: date.fromisoformat(v).isoformat(), "")


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters, order and page, read leniently from a query string (bad values are dropped)."""

    authority: str = ""
    theme: str = ""
    entry: str = ""
    kind: str = ""
    status: str = "suggested"
    date_from: str = ""
    date_to: str = ""
    min_probability: float | None = None
    order: str = "probability"
    seed: int = 0
    page: int = 1
    scope: str = "mine"
    reviewer: str = field(default="", metadata={"query": False})  # whose queue "mine" is; never in a URL

    @classmethod
    def from_params(cls, params: Mapping[str, object], reviewer: str = "") -> QueueFilters:
        def text(name: str) -> str:
            return str(params.get(name) or "").strip()[:80]

        status, order, low = text("status"), text("order"), _parse(text("min_probability"), float, None)
        return cls(text("authority"), text("theme"), text("entry").upper(), text("kind"),
                   status if status in STATUSES else "suggested", _day(text("date_from")), _day(text("date_to")),
                   low if low is not None and 0 <= low <= 1 else None, order if order in ORDERS else "probability",
                   max(0, _parse(text("seed"), int, 0)), max(1, _parse(text("page"), int, 1)),
                   text("scope") if text("scope") in SCOPES else "mine", reviewer)

    def query(self, **changes: object) -> str:
        """The query string for these filters (with changes), leaving out defaults."""
        values = asdict(replace(self, **changes))
        defaults = {f.name: f.default for f in fields(self) if f.metadata.get("query", True)}
        return urlencode({k: v for k, v in values.items() if k in defaults and v != defaults[k] and v is not None})

    def where(self, status: str | None = None) -> tuple[str, list[object]]:
        """SQL conditions and parameters for current evidence matching the filters (and a status, if given); in
        the reviewer's own scope, nothing assigned or leased to someone else."""
        status = status or self.status
        clauses, params = [CURRENT], []
        for clause, value in (("d.authority = ?", self.authority), ("t.theme = ?", self.theme),
                              ("e.entry = ?", self.entry), ("d.kind = ?", self.kind),
                              ("e.status = ?", "" if status == "any" else status),
                              ("d.date >= ?", self.date_from), ("d.date <= ?", self.date_to),
                              ("e.probability >= ?", self.min_probability)):
            if value not in ("", None):
                clauses.append(clause)
                params.append(value)
        if self.scope == "mine" and self.reviewer:
            clauses.append(f"not {HELD_BY_OTHERS}")
            params += [self.reviewer, now()]
        return " and ".join(clauses), params


@dataclass
class QueuePage:
    items: list[dict]
    total: int  # matching the filters
    left: int  # matching the filters and still suggested
    page: int
    pages: int


def _shuffle_key(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}|{key}".encode()).digest()[:7], "big")


def _ordered(store: Store, filters: QueueFilters, columns: str, offset: int, limit: int) -> list[dict]:
    where, params = filters.where()
    order = _ORDER_BY[filters.order]
    if filters.order == "shuffle":
        store.db.conn.create_function("review_shuffle", 2, _shuffle_key, deterministic=True)
        params = [*params, filters.seed]
    return list(store.db.query(f"select {columns} {FROM} where {where} order by {order}, e.passage, e.entry "
                               "limit ? offset ?", [*params, limit, offset]))


def count(store: Store, filters: QueueFilters, status: str | None = None) -> int:
    where, params = filters.where(status)
    return int(store.db.execute(f"select count(*) {FROM} where {where}", params).fetchone()[0])


def queue_page(store: Store, filters: QueueFilters) -> QueuePage:
    total = count(store, filters)
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(filters.page, pages)
    items = _ordered(store, filters, _COLUMNS, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    for offset, item in enumerate(items):
        item["position"] = (page - 1) * PAGE_SIZE + offset
    return QueuePage(items, total, count(store, filters, "suggested"), page, pages)


def keys_at(store: Store, filters: QueueFilters, offset: int, limit: int) -> list[Key]:
    """The queue's keys from ``offset``, for next and previous links."""
    rows = _ordered(store, filters, "e.passage, e.taxonomy, e.entry", max(0, offset), limit)
    return [(r["passage"], r["taxonomy"], r["entry"]) for r in rows]


def neighbours(store: Store, filters: QueueFilters, position: int, key: Key
               ) -> tuple[tuple[Key, int] | None, tuple[Key, int] | None]:
    """(previous, next) items with their positions around an item shown at ``position``; if it has left the
    queue (it was decided), the item now at its position is next."""
    start = max(0, position - 1)
    window = keys_at(store, filters, start, 3)
    if key in window:
        at = window.index(key)
        previous_at, next_at = at - 1, at + 1
    else:  # decided and gone from the queue: the items after it moved up one place
        previous_at, next_at = position - start - 1, position - start

    def pick(index: int) -> tuple[Key, int] | None:
        return (window[index], start + index) if 0 <= index < len(window) else None

    return pick(previous_at), pick(next_at)


def suggested_links(store: Store, filters: QueueFilters) -> list[dict]:
    """The still-suggested links of the filtered set, with what a bulk decision's preview shows of them."""
    where, params = filters.where("suggested")
    return list(store.db.query(
        f"select e.passage, e.taxonomy, e.entry, e.classifier_id, e.version, e.probability, e.reason, "
        f"substr(p.text, 1, 160) as text, t.text as entry_text {FROM} where {where} order by e.passage, e.entry",
        params))


def second_review_sample(store: Store, filters: QueueFilters, assignee: str, size: int) -> list[EvidenceKey]:
    """A random sample of the filtered set's decided links that ``assignee`` neither decided nor has open or
    done as a second review already."""
    where, params = filters.where()
    return [EvidenceKey(*row) for row in store.db.execute(
        f"select e.passage, e.taxonomy, e.entry {FROM} where {where} and e.status in ('confirmed', 'rejected') "
        "and coalesce(e.reviewed_by, '') != ? and not exists (select 1 from second_reviews s where s.passage = "
        "e.passage and s.taxonomy = e.taxonomy and s.entry = e.entry and (s.done_at is null or s.assigned_to = ?)) "
        "order by random() limit ?", [*params, assignee, assignee, size])]


def load_item(store: Store, key: Key) -> dict | None:
    """The current evidence row for a link, with its passage, document and entry."""
    rows = list(store.db.query(
        f"select {_COLUMNS}, a.name as authority_name {FROM} join authorities a on a.slug = d.authority "
        f"where {CURRENT} and e.passage = ? and e.taxonomy = ? and e.entry = ?", list(key)))
    return rows[0] if rows else None


def candidates(store: Store, item: dict) -> list[dict]:
    """The passage's other current evidence, most probable first."""
    return list(store.db.query(
        f"select e.entry, e.taxonomy, e.probability, e.status, e.flagged, t.text as entry_text {FROM} "
        f"where {CURRENT} and e.passage = ? and e.entry != ? order by coalesce(e.probability, -1) desc",
        [item["passage"], item["entry"]]))


def search_entries(store: Store, taxonomy: str, words: str, limit: int = 20) -> list[dict]:
    """Entries whose id or text contains every word, an exact id first."""
    terms = words.split()[:8]
    clauses, params = ["taxonomy = ?"], [taxonomy]
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(id like ? escape '\\' or text like ? escape '\\')")
        params += [pattern, pattern]
    exact = words.strip().upper()
    return list(store.db.query(
        f"select id, theme, kind, text from taxonomy_entries where {' and '.join(clauses)} "
        "order by id = ? desc, id limit ?", [*params, exact, limit])) if terms else []


def filter_options(store: Store) -> dict[str, list]:
    """Choices for the queue's filter form."""
    return {"authorities": store.authorities(), "themes": store.taxonomy_themes(), "kinds": store.document_kinds()}


def source_href(item: dict) -> str:
    """Where to read the passage in its source: the document's web address if it has an http(s) one, else the
    stored copy served by id, at the passage's page."""
    url = item.get("url") or ""
    href = url if urlsplit(url).scheme in ("http", "https") else f"/documents/{item['document']}"
    page = item.get("page")
    return f"{href}#page={int(page)}" if page and "#" not in href else href


def recent_decisions(store: Store, reviewer: str, limit: int = 20) -> list[dict]:
    """The reviewer's latest decisions (not notes, undos or the confirmations a reassign makes), newest first,
    each saying whether it still stands (and so can be undone)."""
    rows = list(store.db.query(
        "select r.id, r.passage, r.taxonomy, r.entry, r.decision, r.reason, r.new_entry, r.batch, r.created_at, "
        "substr(p.text, 1, 120) as text from reviews r join passages p on p.id = r.passage where r.reviewer = ? "
        "and r.blind = 0 and r.decision in ('confirm', 'reject', 'reassign') and coalesce(r.reason, '') != "
        "'reassigned' order by r.id desc limit ?", [reviewer, limit]))
    for row in rows:
        standing = store.decision_to_undo((row["passage"], row["taxonomy"], row["entry"]))
        row["standing"] = bool(standing) and standing.id == row["id"]
    return rows

