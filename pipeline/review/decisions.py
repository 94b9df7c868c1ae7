"""Analysts' decisions on evidence: validated, optimistic (versioned) and append-only.

Every decision is a row in ``reviews`` written by ``Store.add_review``; a decision made on an
item that has changed since the analyst loaded it is refused, not merged, so nobody's work is
silently overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.domain import REVIEW_DECISIONS
from pipeline.errors import DecisionError
from pipeline.review.queries import FROM, Key, QueueFilters
from pipeline.store import Store
from pipeline.store.base import now

REASONS = {
    "wrong_entry": "wrong entry",
    "wrong_polarity": "wrong polarity (good practice read as failure, or the reverse)",
    "boilerplate": "boilerplate or template text",
    "historical": "historical, no longer current",
    "not_this_authority": "about another authority",
    "other": "other (say why in a note)",
}
MAX_NOTE = 2000
MAX_SAMPLE = 200
MAX_BULK = 500  # rows a bulk decision may name
LOW_CONFIDENCE = 0.5  # below this probability a link is more likely wrong than right: no bulk decision by default


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str | None = None
    note: str | None = None
    new_entry: str | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, object]) -> Decision:
        def text(name: str) -> str | None:
            value = str(form.get(name) or "").strip()
            return value or None

        new_entry = text("new_entry")
        return cls(text("decision") or "", text("reason"), text("note"), new_entry.upper() if new_entry else None)


def key_of(item: Mapping[str, object]) -> Key:
    return str(item["passage"]), str(item["taxonomy"]), str(item["entry"])


def check(store: Store, item: Mapping[str, object], decision: Decision) -> None:
    """Raise DecisionError unless the decision is complete and possible for the item."""
    if decision.decision not in REVIEW_DECISIONS:
        raise DecisionError(f"unknown decision {decision.decision!r}")
    if decision.note and len(decision.note) > MAX_NOTE:
        raise DecisionError(f"the note is too long: keep it under {MAX_NOTE} characters")
    if decision.decision == "reject" and decision.reason not in REASONS:
        raise DecisionError("say why the link is wrong: choose a reason")
    if decision.decision == "note" and not decision.note:
        raise DecisionError("the note is empty")
    if decision.decision == "reassign":
        if not decision.new_entry or decision.new_entry == item["entry"]:
            raise DecisionError("choose the entry the passage is evidence for instead")
        if not store.db.execute("select 1 from taxonomy_entries where taxonomy = ? and id = ?",
                                [item["taxonomy"], decision.new_entry]).fetchone():
            raise DecisionError(f"no entry {decision.new_entry!r} in taxonomy {item['taxonomy']}")
    if decision.decision == "undo" and store.decision_to_undo(key_of(item)) is None:
        raise DecisionError("there is no decision on this item to undo")


def apply(store: Store, item: Mapping[str, object], decision: Decision, reviewer: str,
          version: int | None) -> int | None:
    """Check and record the decision; None if the item changed since ``version`` (nothing is written)."""
    check(store, item, decision)
    reason = "wrong_entry" if decision.decision == "reassign" else decision.reason
    return store.add_review(*key_of(item), decision=decision.decision, reviewer=reviewer,
                            reason=reason if decision.decision in ("reject", "reassign") else None,
                            note=decision.note, new_entry=decision.new_entry,
                            classifier_id=str(item["classifier_id"]),
                            expected_version=None if decision.decision == "note" else version)


@dataclass(frozen=True)
class BulkSet:
    """What a bulk decision is to touch: the filtered set, or the rows selected in it, and whether the
    risky links (tripwires and low-confidence ones) are let in."""

    filters: QueueFilters
    keys: tuple[Key, ...] = ()
    include_risky: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, object], filters: QueueFilters) -> BulkSet:
        getlist = getattr(params, "getlist", lambda name: [])
        keys = tuple(key for key in (_key(str(v)) for v in getlist("key")[:MAX_BULK]) if key)
        return cls(filters, keys, str(params.get("include_risky") or "") == "1")


def _key(value: str) -> Key | None:
    parts = value.split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None


def key_param(key: Key) -> str:
    return "|".join(key)


def risky(row: Mapping[str, object]) -> str | None:
    """Why a link is kept out of a bulk decision unless asked for: a tripwire rule's verdict, or low confidence."""
    if str(row.get("reason") or "").startswith("tripwire"):
        return "tripwire"
    probability = row.get("probability")
    if probability is None or float(probability) < LOW_CONFIDENCE:  # type: ignore[arg-type]
        return "low confidence"
    return None


def bulk_targets(store: Store, chosen: BulkSet) -> tuple[list[dict], list[dict]]:
    """(targets, left out): the still-suggested items of the set (bulk decisions never override an analyst's),
    and the risky ones left out of it."""
    where, params = chosen.filters.where("suggested")
    rows = list(store.db.query(
        f"select e.passage, e.taxonomy, e.entry, e.classifier_id, e.version, e.probability, e.reason, "
        f"substr(p.text, 1, 160) as text, t.text as entry_text {FROM} where {where} order by e.passage, e.entry",
        params))
    if chosen.keys:
        wanted = set(chosen.keys)
        rows = [r for r in rows if (r["passage"], r["taxonomy"], r["entry"]) in wanted]
    for row in rows:
        row["risk"] = risky(row)
    if chosen.include_risky:
        return rows, []
    return [r for r in rows if not r["risk"]], [r for r in rows if r["risk"]]


def bulk_decide(store: Store, chosen: BulkSet, decision: Decision, reviewer: str) -> tuple[int, int]:
    """Apply one confirm or reject, with its reason, to every target: a batch row, and each item its own review
    row tied to it, in one transaction. Returns (batch id, how many were decided; items changed meanwhile
    are left alone)."""
    if decision.decision not in ("confirm", "reject"):
        raise DecisionError("bulk decisions are confirm or reject")
    if decision.decision == "reject" and decision.reason not in REASONS:
        raise DecisionError("say why the links are wrong: choose a reason")
    if not decision.note:
        raise DecisionError("say why these items get the same decision: a bulk decision needs a note")
    with store.write_transaction():
        targets, _ = bulk_targets(store, chosen)
        batches = store.db["batches"]
        batches.insert({"reviewer": reviewer, "decision": decision.decision, "reason": decision.reason,
                        "note": decision.note, "items": 0, "created_at": now()})
        batch = int(batches.last_pk)
        done = 0
        for target in targets:
            done += store.add_review(
                target["passage"], target["taxonomy"], target["entry"], decision.decision, reviewer,
                reason=decision.reason if decision.decision == "reject" else None, note=decision.note,
                classifier_id=target["classifier_id"], expected_version=target["version"], batch=batch) is not None
        store.db.execute("update batches set items = ? where id = ?", [done, batch])
    return batch, done


def undo_batch(store: Store, batch: int, reviewer: str) -> int:
    """Undo a bulk decision as one: every item whose standing decision is still the batch's; an item decided
    again since is left as it is. Returns how many were undone."""
    with store.write_transaction():
        row = store.db.execute("select undone_at from batches where id = ?", [batch]).fetchone()
        if row is None:
            raise DecisionError("no such bulk decision")
        if row[0]:
            raise DecisionError("this bulk decision is already undone")
        undone = 0
        for review_id, passage, taxonomy, entry in store.db.execute(
                "select id, passage, taxonomy, entry from reviews where batch = ? and decision != 'undo'",
                [batch]).fetchall():
            standing = store.decision_to_undo((passage, taxonomy, entry))
            if standing and standing.id == review_id:
                store.add_review(passage, taxonomy, entry, "undo", reviewer, note=f"undo of bulk decision {batch}",
                                 batch=batch)
                undone += 1
        store.db.execute("update batches set undone_at = ?, undone_by = ? where id = ?", [now(), reviewer, batch])
    return undone


def undo_review(store: Store, review_id: int, reviewer: str) -> Key:
    """Undo one of the reviewer's own decisions, if it still stands (the banner's undo, and ``u`` on the next
    item). Returns the link it was on."""
    row = store.db.execute("select passage, taxonomy, entry, reviewer from reviews where id = ? and blind = 0",
                           [review_id]).fetchone()
    if row is None or row[3] != reviewer:
        raise DecisionError("no such decision of yours")
    key: Key = (row[0], row[1], row[2])
    standing = store.decision_to_undo(key)
    if standing is None or standing.id != review_id:
        raise DecisionError("that decision no longer stands: it was undone or decided again since")
    store.add_review(*key, "undo", reviewer)
    return key


def settle(store: Store, key: Key, decision: Decision, lead: str, classifier_id: str) -> int | None:
    """A lead's settlement of a disagreement: the link's standing decision, marked as settling it (an audit row
    like any other, so the trail shows who settled what, when and why)."""
    if decision.decision not in ("confirm", "reject"):
        raise DecisionError("settle with confirm or reject")
    if decision.decision == "reject" and decision.reason not in REASONS:
        raise DecisionError("say why the link is wrong: choose a reason")
    return store.add_review(*key, decision.decision, lead, reason=decision.reason if decision.decision == "reject"
                            else None, note=decision.note, classifier_id=classifier_id, settles=True)


# -- blind second reviews ------------------------------------------------------------------------------

def request_second_reviews(store: Store, lead: str, assignee: str, size: int, authority: str = "") -> int:
    """Send a random sample of decided items, which the assignee did not decide, for a blind second review."""
    if not store.db.execute("select 1 from reviewers where name = ? and coalesce(disabled, 0) = 0",
                            [assignee]).fetchone():
        raise DecisionError(f"no active reviewer {assignee!r}")
    if not 1 <= size <= MAX_SAMPLE:
        raise DecisionError(f"choose a sample of 1 to {MAX_SAMPLE} items")
    where, params = QueueFilters(authority=authority, status="any").where()
    rows = store.db.execute(
        f"select e.passage, e.taxonomy, e.entry {FROM} where {where} and e.status in ('confirmed', 'rejected') "
        "and coalesce(e.reviewed_by, '') != ? and not exists (select 1 from second_reviews s where s.passage = "
        "e.passage and s.taxonomy = e.taxonomy and s.entry = e.entry and (s.done_at is null or s.assigned_to = ?)) "
        "order by random() limit ?", [*params, assignee, assignee, size]).fetchall()
    with store.transaction():
        store.db["second_reviews"].insert_all(
            [{"passage": p, "taxonomy": t, "entry": e, "requested_by": lead, "assigned_to": assignee,
              "created_at": now()} for p, t, e in rows])
    return len(rows)


def pending_second_reviews(store: Store, reviewer: str | None) -> list[dict]:
    """Open second reviews, for one reviewer or (None) for everyone."""
    where, params = ("and s.assigned_to = ?", [reviewer]) if reviewer else ("", [])
    return list(store.db.query(
        "select s.id, s.passage, s.taxonomy, s.entry, s.assigned_to, s.requested_by, s.created_at, t.text as "
        "entry_text from second_reviews s join taxonomy_entries t on t.taxonomy = s.taxonomy and t.id = s.entry "
        f"where s.done_at is null {where} order by s.id", params))


def second_review(store: Store, review_id: int) -> dict | None:
    rows = list(store.db.query("select * from second_reviews where id = ?", [review_id]))
    return rows[0] if rows else None


def record_second_review(store: Store, request: Mapping[str, object], decision: Decision, reviewer: str,
                         classifier_id: str) -> int | None:
    """Record the blind decision (evidence status is left to the first review) and close the request."""
    if decision.decision not in ("confirm", "reject"):
        raise DecisionError("a second review is confirm or reject")
    if decision.decision == "reject" and decision.reason not in REASONS:
        raise DecisionError("say why the link is wrong: choose a reason")
    with store.write_transaction():
        if store.db.execute("select done_at from second_reviews where id = ?", [request["id"]]).fetchone()[0]:
            raise DecisionError("this second review is already done")
        review_id = store.add_review(
            str(request["passage"]), str(request["taxonomy"]), str(request["entry"]), decision.decision, reviewer,
            reason=decision.reason if decision.decision == "reject" else None, note=decision.note,
            classifier_id=classifier_id, blind=True)
        store.db.execute("update second_reviews set done_at = ? where id = ?", [now(), request["id"]])
    return review_id

