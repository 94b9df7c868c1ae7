"""Analysts' decisions on evidence: validated, optimistic (versioned) and append-only.

Every decision is a row in ``reviews`` written by ``Store.add_review``; a decision made on an
item that has changed since the analyst loaded it is refused, not merged, so nobody's work is
silently overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.domain import REVIEW_DECISIONS, SecondReview
from pipeline.errors import DecisionError
from pipeline.review import queries
from pipeline.review.queries import Key, QueueFilters
from pipeline.store import Store

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
        if not store.has_entry(str(item["taxonomy"]), decision.new_entry):
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
    rows = queries.suggested_links(store, chosen.filters)
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
        batch = store.start_batch(reviewer, decision.decision, decision.reason, decision.note)
        done = 0
        for target in targets:
            done += store.add_review(
                target["passage"], target["taxonomy"], target["entry"], decision.decision, reviewer,
                reason=decision.reason if decision.decision == "reject" else None, note=decision.note,
                classifier_id=target["classifier_id"], expected_version=target["version"], batch=batch) is not None
        store.finish_batch(batch, done)
    return batch, done


def undo_batch(store: Store, batch: int, reviewer: str) -> int:
    """Undo a bulk decision as one: every item whose standing decision is still the batch's; an item decided
    again since is left as it is. Returns how many were undone."""
    with store.write_transaction():
        found = store.batch(batch)
        if found is None:
            raise DecisionError("no such bulk decision")
        if found.undone_at:
            raise DecisionError("this bulk decision is already undone")
        undone = 0
        for record in store.batch_decisions(batch):
            standing = store.decision_to_undo(record.key.as_tuple())
            if standing and standing.id == record.id:
                store.add_review(*record.key.as_tuple(), "undo", reviewer, note=f"undo of bulk decision {batch}",
                                 batch=batch)
                undone += 1
        store.mark_batch_undone(batch, reviewer)
    return undone


def undo_review(store: Store, review_id: int, reviewer: str) -> Key:
    """Undo one of the reviewer's own decisions, if it still stands (the banner's undo, and ``u`` on the next
    item). Returns the link it was on."""
    record = store.review(review_id)
    if record is None or record.reviewer != reviewer:
        raise DecisionError("no such decision of yours")
    key = record.key.as_tuple()
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
    if not store.reviewer_active(assignee):
        raise DecisionError(f"no active reviewer {assignee!r}")
    if not 1 <= size <= MAX_SAMPLE:
        raise DecisionError(f"choose a sample of 1 to {MAX_SAMPLE} items")
    keys = queries.second_review_sample(store, QueueFilters(authority=authority, status="any"), assignee, size)
    store.add_second_reviews(keys, lead, assignee)
    return len(keys)


def record_second_review(store: Store, request: SecondReview, decision: Decision, reviewer: str,
                         classifier_id: str) -> int | None:
    """Record the blind decision (evidence status is left to the first review) and close the request."""
    if decision.decision not in ("confirm", "reject"):
        raise DecisionError("a second review is confirm or reject")
    if decision.decision == "reject" and decision.reason not in REASONS:
        raise DecisionError("say why the link is wrong: choose a reason")
    with store.write_transaction():
        current = store.second_review(request.id)
        if current is None or current.done_at:
            raise DecisionError("this second review is already done")
        review_id = store.add_review(
            request.passage, request.taxonomy, request.entry, decision.decision, reviewer,
            reason=decision.reason if decision.decision == "reject" else None, note=decision.note,
            classifier_id=classifier_id, blind=True)
        store.close_second_review(request.id)
    return review_id

