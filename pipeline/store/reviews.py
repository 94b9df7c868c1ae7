"""Analysts' decisions: an append-only log applied to every classifier's evidence row for a link, with undo."""

from __future__ import annotations

from pipeline.domain import (
    REVIEW_DECISIONS,
    EvidenceKey,
    ReviewDecision,
    ReviewRecord,
    StandingDecision,
    standing_decisions,
)
from pipeline.store.base import StoreBase, now


class ReviewsMixin(StoreBase):
    def add_review(self, passage: str, taxonomy: str, entry: str, decision: str, reviewer: str,
                   reason: str | None = None, note: str | None = None, new_entry: str | None = None, *,
                   classifier_id: str | None = None, expected_version: int | None = None,
                   blind: bool = False, batch: int | None = None, settles: bool = False) -> int | None:
        """Append an analyst's decision and apply it to every classifier's evidence row for the link.

        With ``expected_version`` the decision is optimistic: if the link's evidence row (``classifier_id``'s,
        else the newest) has moved on, nothing is written and None is returned, so two analysts deciding the
        same item never overwrite each other. ``reassign`` rejects the link and confirms ``new_entry`` for the
        passage; ``undo`` restores the status from before the latest decision not yet undone (a reassign's
        confirmation included); a ``note`` or a ``blind`` second review leaves the evidence as it is. Undoing
        the confirmation a reassign gave its new entry undoes the reassign itself, so one undo from either
        page restores the original link and removes the new one. ``batch`` ties a bulk decision's rows
        together; ``settles`` marks a lead's settlement of a disagreement.
        """
        if decision not in REVIEW_DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; use one of {REVIEW_DECISIONS}")
        if decision == "reassign" and (not new_entry or new_entry == entry):
            raise ValueError("a reassign needs a new_entry other than the entry")
        link = (passage, taxonomy, entry)
        with self.write_transaction():
            status, version = self._link_state(link, classifier_id)
            if expected_version is not None and version != expected_version:
                return None
            target = self.decision_to_undo(link) if decision == "undo" and not blind else None
            if decision == "undo" and not blind and target is None:
                raise ValueError(f"nothing to undo for {passage} {entry}")
            origin = self._reassigned_from(link, target) if target else None
            if origin is not None:
                return self.add_review(*origin, "undo", reviewer, note=note, classifier_id=classifier_id, batch=batch)
            review_id = self._insert_review(link, decision, reviewer, reason=reason, note=note,
                                            new_entry=new_entry, classifier_id=classifier_id,
                                            previous_status=status, blind=blind, batch=batch, settles=settles)
            if blind or decision == "note":
                return review_id
            if target is not None:
                self._set_link_status(link, target.previous_status, reviewer)
                if target.decision is ReviewDecision.REASSIGN:
                    self._undo_reassigned(link, str(target.new_entry), reviewer, classifier_id)
            else:
                self._set_link_status(link, "confirmed" if decision == "confirm" else "rejected", reviewer)
            if decision == "reassign":
                self._confirm_reassigned(link, str(new_entry), reviewer, classifier_id)
            return review_id

    def _link_state(self, link: tuple[str, str, str], classifier_id: str | None) -> tuple[str | None, int | None]:
        """(status, version) of the link's evidence row for the classifier, else its newest row."""
        sql = "select status, version from evidence where passage = ? and taxonomy = ? and entry = ?"
        params = list(link)
        if classifier_id:
            sql, params = sql + " and classifier_id = ?", [*params, classifier_id]
        row = self.db.execute(sql + " order by version desc limit 1", params).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def _insert_review(self, link: tuple[str, str, str], decision: str, reviewer: str, **fields: object) -> int:
        table = self.db["reviews"]
        passage, taxonomy, entry = link
        table.insert({"passage": passage, "taxonomy": taxonomy, "entry": entry, "decision": decision,
                      "reviewer": reviewer, "created_at": now(),
                      **{k: int(v) if isinstance(v, bool) else v for k, v in fields.items()}})
        return int(table.last_pk)

    def entry_is_failure(self, taxonomy: str, entry: str) -> bool:
        """Whether the entry is an indicator of potential failure, by its kind (the one answer to that question)."""
        row = self.db.execute("select kind from taxonomy_entries where taxonomy = ? and id = ?", [taxonomy, entry]
                              ).fetchone()
        return bool(row) and row[0] == "failure_indicator"

    def has_entry(self, taxonomy: str, entry: str) -> bool:
        return self.db.execute("select 1 from taxonomy_entries where taxonomy = ? and id = ?",
                               [taxonomy, entry]).fetchone() is not None

    def review_log(self, link: tuple[str, str, str] | None = None, taxonomy: str | None = None) -> list[ReviewRecord]:
        """The review log in order: of one link, of one taxonomy's links, or of every link."""
        if link:
            return self._review_records(" where passage = ? and taxonomy = ? and entry = ?", list(link))
        return self._review_records(" where taxonomy = ?", [taxonomy]) if taxonomy else self._review_records("", [])

    def review(self, review_id: int) -> ReviewRecord | None:
        """One decision of the log (blind second reviews are not an analyst's own decisions to act on)."""
        records = self._review_records(" where id = ? and blind = 0", [review_id])
        return records[0] if records else None

    def review_history(self, link: tuple[str, str, str]) -> list[ReviewRecord]:
        """Decisions on a link, newest first, as the item page shows them: blind second reviews kept out of sight."""
        return self._review_records(" where passage = ? and taxonomy = ? and entry = ? and blind = 0", list(link))[::-1]

    def _review_records(self, where: str, params: list[object]) -> list[ReviewRecord]:
        sql = ("select id, passage, taxonomy, entry, decision, reviewer, reason, new_entry, previous_status, blind, "
               "settles, note, batch, created_at from reviews")
        return [ReviewRecord(row[0], EvidenceKey(*row[1:4]), ReviewDecision(row[4]), *row[5:9], bool(row[9]),
                             bool(row[10]), note=row[11], batch=row[12], created_at=row[13])
                for row in self.db.execute(sql + where + " order by id", params)]

    def standing(self, taxonomy: str) -> dict[EvidenceKey, StandingDecision]:
        """What stands on each of the taxonomy's links (``standing_decisions`` over its log)."""
        return standing_decisions(self.review_log(taxonomy=taxonomy))

    def decision_to_undo(self, link: tuple[str, str, str]) -> ReviewRecord | None:
        """The latest confirm, reject or reassign on the link that no later undo has taken back."""
        standing = standing_decisions(self.review_log(link)).get(EvidenceKey(*link))
        return standing.latest if standing else None

    def _reassigned_from(self, link: tuple[str, str, str], target: ReviewRecord) -> tuple[str, str, str] | None:
        """The link a standing reassign moved the passage from, when ``target`` is the confirmation it gave."""
        if target.decision is not ReviewDecision.CONFIRM or target.reason != "reassigned":
            return None
        passage, taxonomy, entry = link
        row = self.db.execute("select id, entry from reviews where passage = ? and taxonomy = ? and decision = "
                              "'reassign' and new_entry = ? and blind = 0 order by id desc limit 1",
                              [passage, taxonomy, entry]).fetchone()
        if row is None:
            return None
        origin = (passage, taxonomy, row[1])
        standing = self.decision_to_undo(origin)
        return origin if standing and standing.id == row[0] else None

    def _set_link_status(self, link: tuple[str, str, str], status: str | None, reviewer: str) -> None:
        """Set every classifier's row for the link, bumping its version. No status (the link had no evidence
        before an analyst created it) removes the analyst's rows and leaves the model's as suggestions."""
        where = "passage = ? and taxonomy = ? and entry = ?"
        if status is None:
            self.db.execute(f"delete from evidence where {where} and reason = 'analyst'", list(link))
            status = "suggested"
        self.db.execute(f"update evidence set status = ?, version = version + 1, reviewed_by = ?, reviewed_at = ? "
                        f"where {where}", [status, reviewer, now(), *link])

    def _confirm_reassigned(self, link: tuple[str, str, str], new_entry: str, reviewer: str,
                            classifier_id: str | None) -> None:
        """Confirm the passage for the entry it was reassigned to, creating the evidence row if the classifier
        never suggested it, and record that as its own confirmation (so re-classification keeps it)."""
        passage, taxonomy, entry = link
        new_link = (passage, taxonomy, new_entry)
        status, _ = self._link_state(new_link, None)
        self._insert_review(new_link, "confirm", reviewer, reason="reassigned", note=f"reassigned from {entry}",
                            classifier_id=classifier_id, previous_status=status)
        current = classifier_id or self.db.execute(
            "select d.classifier_id from passages p join documents d on d.id = p.document where p.id = ?",
            [passage]).fetchone()[0]
        self.db["evidence"].insert(
            {"passage": passage, "taxonomy": taxonomy, "entry": new_entry, "classifier_id": current,
             "status": "confirmed", "rank": None, "flagged": int(self.entry_is_failure(taxonomy, new_entry)),
             "reason": "analyst", "created_at": now()},
            pk=("passage", "taxonomy", "entry", "classifier_id"), ignore=True)
        self._set_link_status(new_link, "confirmed", reviewer)

    def _undo_reassigned(self, link: tuple[str, str, str], new_entry: str, reviewer: str,
                         classifier_id: str | None) -> None:
        """Take back the confirmation a reassign gave the new entry, if nothing has been decided there since."""
        passage, taxonomy, entry = link
        new_link = (passage, taxonomy, new_entry)
        paired = self.decision_to_undo(new_link)
        if paired is None or paired.reason != "reassigned":
            return
        status, _ = self._link_state(new_link, None)
        self._insert_review(new_link, "undo", reviewer, note=f"undo of the reassign from {entry}",
                            classifier_id=classifier_id, previous_status=status)
        self._set_link_status(new_link, paired.previous_status, reviewer)
