"""A per-authority, per-theme evidence signal the risk engine can use without re-reading passages.

    signal(authority, theme) = sum over distinct evidence of  source_weight x status_weight x decay

- each piece of evidence counts once: links whose passage text recurs (the same paragraph in an
  agenda pack and in the report) are one piece, keeping the strongest;
- source_weight: independent sources (external auditor, ombudsman, inspectorate, peer challenge)
  2.0; the authority's own papers 1.0;
- status_weight: confirmed 1.0; suggested = its probability (or score) x 0.5; rejected 0;
- decay: 0.5 ** (age in days / 365), from the document's date (or when it was stored).
Failure indicators and characteristics are reported separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pipeline.domain import EvidenceKey
from pipeline.store import Store

INDEPENDENT_KINDS = {"audit_report": 2.0, "ombudsman_decision": 2.0, "inspection_report": 2.0,
                     "peer_challenge": 2.0}
HALF_LIFE_DAYS = 365.0
SUGGESTED_WEIGHT = 0.5


@dataclass
class ThemeSignal:
    authority: str
    theme: str
    polarity: str  # failure | positive
    score: float = 0.0
    evidence: list[str] = field(default_factory=list)  # contributing evidence ids, strongest first

    def as_record(self) -> dict[str, object]:
        return {"authority": self.authority, "theme": self.theme, "polarity": self.polarity,
                "score": round(self.score, 4), "evidence": self.evidence}


def weight(kind: str | None, status: str, probability: float | None, score: float | None, when: str | None,
           today: date) -> float:
    if status == "rejected":
        return 0.0
    status_weight = 1.0 if status == "confirmed" else SUGGESTED_WEIGHT * float(
        probability if probability is not None else (score or 0.0))
    try:
        age = max((today - date.fromisoformat((when or "")[:10])).days, 0)
    except ValueError:
        age = 0
    return INDEPENDENT_KINDS.get(kind or "", 1.0) * status_weight * 0.5 ** (age / HALF_LIFE_DAYS)


def authority_signals(store: Store, today: date | None = None, authority: str | None = None) -> list[ThemeSignal]:
    today = today or date.today()
    sql = (
        "select d.authority, t.theme, t.kind, e.passage, e.taxonomy, e.entry, e.status, e.probability, e.score, "
        "d.kind, coalesce(d.date, d.added_at), p.text_hash from evidence e join passages p on p.id = e.passage "
        "join documents d on d.id = p.document join taxonomy_entries t on t.taxonomy = e.taxonomy "
        "and t.id = e.entry where d.status = 'ok' and d.superseded_by is null and e.classifier_id = d.classifier_id "
        "and e.status != 'rejected'" + (" and d.authority = ?" if authority else ""))
    best: dict[tuple[str, str, str, str, str], tuple[float, str]] = {}
    for slug, theme, kind, passage, taxonomy, entry, status, probability, score, doc_kind, when, text_hash in \
            store.db.execute(sql, [authority] if authority else []):
        polarity = "failure" if kind == "failure_indicator" else "positive"
        value = weight(doc_kind, status, probability, score, when, today)
        key = (slug, theme, polarity, entry, text_hash or passage)  # the same text counts once per entry
        if value > best.get(key, (-1.0, ""))[0]:
            best[key] = (value, EvidenceKey(passage, taxonomy, entry).id)
    signals: dict[tuple[str, str, str], ThemeSignal] = {}
    for (slug, theme, polarity, _, _), (value, evidence_id) in sorted(best.items(), key=lambda kv: -kv[1][0]):
        signal = signals.setdefault((slug, theme, polarity), ThemeSignal(slug, theme, polarity))
        signal.score += value
        signal.evidence.append(evidence_id)
    return sorted(signals.values(), key=lambda s: (s.authority, s.theme, s.polarity))
