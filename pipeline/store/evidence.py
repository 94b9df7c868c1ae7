"""Evidence: one classifier's links for a document, with analysts' standing decisions carried over."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.domain import Prediction, ReviewDecision
from pipeline.store.base import now
from pipeline.store.cache import CacheMixin
from pipeline.store.reviews import ReviewsMixin
from pipeline.taxonomy import Crosswalk


@dataclass
class DocumentCounts:
    passages: int
    evidence: int
    flagged: int


class EvidenceMixin(ReviewsMixin, CacheMixin):
    """Writing a classification replays the review log (``ReviewsMixin``) and caches new vectors."""

    def save_classification(self, sha256: str, classifier_id: str, taxonomy_id: str,
                            predictions: dict[str, Prediction], model_id: str,
                            vectors: dict[str, np.ndarray],
                            crosswalk: Crosswalk | None = None) -> DocumentCounts:
        """Replace this classifier's evidence for one document; analysts' decisions carry over."""
        rows = []
        flagged = 0
        for passage_id, prediction in predictions.items():
            flagged += bool(prediction.flagged)
            for rank, match in enumerate(prediction.evidence, start=1):
                rows.append({
                    "passage": passage_id, "taxonomy": taxonomy_id, "entry": match.entry.id,
                    "classifier_id": classifier_id, "score": round(match.score, 6),
                    "probability": getattr(match, "probability", None), "rank": rank,
                    "flagged": int(match.entry.id in prediction.flagged), "status": "suggested",
                    "reason": getattr(match, "reason", None) or "similarity", "created_at": now(),
                })
        with self.transaction():
            self.db.execute(
                "delete from evidence where classifier_id = ? and passage in "
                "(select id from passages where document = ?)", [classifier_id, sha256])
            self.db["evidence"].insert_all(rows, pk=("passage", "taxonomy", "entry", "classifier_id"))
            self._apply_decisions(sha256, classifier_id, taxonomy_id, crosswalk or {})
            self._put_vectors(model_id, vectors)
            self.db["classifications"].upsert(
                {"document": sha256, "classifier_id": classifier_id, "taxonomy": taxonomy_id,
                 "passages": len(predictions), "evidence": len(rows), "classified_at": now()},
                pk=("document", "classifier_id"))
            self.db["documents"].update(sha256, {"classifier_id": classifier_id})
        return DocumentCounts(len(predictions), len(rows), flagged)

    def _apply_decisions(self, sha256: str, classifier_id: str, taxonomy_id: str, crosswalk: Crosswalk) -> None:
        """Give new evidence rows the status of the analysts' standing decision on the same passage and
        entry (undos replayed; a reassignment rejects the old entry), and keep confirmed links the new
        classifier no longer suggests. Decisions made under an older taxonomy version follow the
        crosswalk to the new entry ids."""
        links = self.db.execute(
            "select distinct r.passage, r.taxonomy, r.entry from reviews r join passages p on p.id = r.passage "
            "where p.document = ?", [sha256]).fetchall()
        for passage, taxonomy, entry in links:
            target = entry if taxonomy == taxonomy_id else crosswalk.get((taxonomy, entry))
            if target is None:
                continue
            decision = self.decision_to_undo((passage, taxonomy, entry))
            if decision is None:
                continue
            status = "confirmed" if decision.decision is ReviewDecision.CONFIRM else "rejected"
            key = [passage, taxonomy_id, target, classifier_id]
            if self.db["evidence"].count_where(
                    "passage = ? and taxonomy = ? and entry = ? and classifier_id = ?", key):
                self.db["evidence"].update(tuple(key), {"status": status})
            elif status == "confirmed":
                self.db["evidence"].insert({"passage": passage, "taxonomy": taxonomy_id, "entry": target,
                                            "classifier_id": classifier_id, "status": status, "rank": None,
                                            "flagged": int(self.entry_is_failure(taxonomy_id, target)),
                                            "reason": "analyst",
                                            "created_at": now()})
