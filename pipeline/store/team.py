"""Team review: bulk decisions as batches (undone as one) and blind second reviews a lead requests."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.domain import Batch, EvidenceKey, ReviewRecord, SecondReview
from pipeline.store.base import now
from pipeline.store.reviews import ReviewsMixin


class TeamMixin(ReviewsMixin):
    def reviewer_active(self, name: str) -> bool:
        return self.db.execute("select 1 from reviewers where name = ? and coalesce(disabled, 0) = 0",
                               [name]).fetchone() is not None

    # -- bulk decisions ------------------------------------------------------------------------------

    def start_batch(self, reviewer: str, decision: str, reason: str | None, note: str | None) -> int:
        """A new bulk decision with no items yet; its review rows name it, ``finish_batch`` counts them."""
        batches = self.db["batches"]
        batches.insert({"reviewer": reviewer, "decision": decision, "reason": reason, "note": note, "items": 0,
                        "created_at": now()})
        return int(batches.last_pk)

    def finish_batch(self, batch: int, items: int) -> None:
        self.db.execute("update batches set items = ? where id = ?", [items, batch])

    def batch(self, batch: int) -> Batch | None:
        rows = list(self.db["batches"].rows_where("id = ?", [batch]))
        return Batch(**rows[0]) if rows else None

    def batch_decisions(self, batch: int) -> list[ReviewRecord]:
        """The batch's own decisions (not the undos of it), in order."""
        return self._review_records(" where batch = ? and decision != 'undo'", [batch])

    def mark_batch_undone(self, batch: int, reviewer: str) -> None:
        self.db.execute("update batches set undone_at = ?, undone_by = ? where id = ?", [now(), reviewer, batch])

    # -- blind second reviews ------------------------------------------------------------------------

    def add_second_reviews(self, keys: Iterable[EvidenceKey], lead: str, assignee: str) -> None:
        with self.transaction():
            self.db["second_reviews"].insert_all(
                [{"passage": k.passage, "taxonomy": k.taxonomy, "entry": k.entry, "requested_by": lead,
                  "assigned_to": assignee, "created_at": now()} for k in keys])

    def open_second_reviews(self, reviewer: str | None) -> list[SecondReview]:
        """Second reviews not yet done, for one reviewer or (None) for everyone, oldest first."""
        where, params = ("and s.assigned_to = ?", [reviewer]) if reviewer else ("", [])
        return [SecondReview(**row) for row in self.db.query(
            "select s.*, t.text as entry_text from second_reviews s join taxonomy_entries t on "
            f"t.taxonomy = s.taxonomy and t.id = s.entry where s.done_at is null {where} order by s.id", params)]

    def second_review(self, review_id: int) -> SecondReview | None:
        rows = list(self.db["second_reviews"].rows_where("id = ?", [review_id]))
        return SecondReview(**rows[0]) if rows else None

    def close_second_review(self, review_id: int) -> None:
        self.db.execute("update second_reviews set done_at = ? where id = ?", [now(), review_id])
