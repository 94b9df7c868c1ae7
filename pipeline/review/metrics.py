"""Figures computed from analysts' decisions: the per-authority heat map and progress, the model's
precision per entry and theme, and agreement between reviewers (Cohen's kappa).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from pipeline.agreement import cohen_kappa, raw_agreement
from pipeline.domain import ReviewDecision, ReviewRecord, standing_decisions
from pipeline.report.summary import authority_summaries
from pipeline.review.queries import CURRENT, FROM, Key
from pipeline.store import Store
from pipeline.taxonomy import Taxonomy

HEAT_LEVELS = 5
_FULL_STRENGTH = 3.0  # as in pipeline/report/heatmap.py: confirmed links count 2, suggestions their score


@dataclass
class HeatCell:
    entry: str
    text: str
    failure: bool
    confirmed: int
    suggested: int
    level: int  # 0 (no evidence) to HEAT_LEVELS


@dataclass
class HeatRow:
    theme: str
    name: str
    description: str
    cells: list[HeatCell] = field(default_factory=list)


@dataclass
class Agreement:
    first: str
    second: str
    items: int
    observed: float
    kappa: float | None


def _scope(authority: str) -> tuple[str, list[str]]:
    """SQL for one authority, or every authority when ``authority`` is empty."""
    return (" and d.authority = ?", [authority]) if authority else ("", [])


def heatmap(store: Store, authority: str, taxonomy: Taxonomy) -> list[HeatRow]:
    """Themes by entries for one authority (or all of them, their strengths added), shaded by the summary's
    evidence strength."""
    strength: dict[str, float] = defaultdict(float)
    for summary in authority_summaries(store, authority or None):
        for entry, value in summary.entries.items():
            strength[entry] += value
    where, params = _scope(authority)
    counts: dict[tuple[str, str], int] = {
        (entry, status): n for entry, status, n in store.db.execute(
            f"select e.entry, e.status, count(*) {FROM} where {CURRENT}{where} and e.taxonomy = ? "
            "group by e.entry, e.status", [*params, taxonomy.id])}
    rows = []
    for theme in taxonomy.themes:
        row = HeatRow(theme.id, theme.name, theme.description)
        for entry in (e for e in taxonomy.entries if e.theme == theme.id):
            value = strength.get(entry.id, 0.0)
            level = 0 if value <= 0 else min(HEAT_LEVELS, 1 + int(value / _FULL_STRENGTH * (HEAT_LEVELS - 1)))
            row.cells.append(HeatCell(entry.id, entry.text, entry.is_failure, counts.get((entry.id, "confirmed"), 0),
                                      counts.get((entry.id, "suggested"), 0), level))
        rows.append(row)
    return rows


def newest_flagged(store: Store, authority: str, limit: int = 10) -> list[dict]:
    """The newest documents' flagged, not rejected, links (one row per passage and entry)."""
    where, params = _scope(authority)
    return list(store.db.query(
        f"select e.passage, e.taxonomy, e.entry, e.probability, e.status, p.text, p.page, p.block_type, d.title, "
        f"d.date, d.authority {FROM} where {CURRENT}{where} and e.flagged = 1 and e.status != 'rejected' "
        "order by d.date desc nulls last, coalesce(e.probability, 0) desc limit ?", [*params, limit]))


def status_counts(store: Store, authority: str) -> dict[str, int]:
    """Current links (passage and entry pairs) by status."""
    where, params = _scope(authority)
    return {status: n for status, n in store.db.execute(
        f"select e.status, count(*) {FROM} where {CURRENT}{where} group by e.status", params)}


def progress(store: Store, authority: str) -> list[dict]:
    """Decisions per reviewer on the authority's passages (or every authority's), by kind, with the latest."""
    where, params = _scope(authority)
    table: dict[str, dict] = {}
    for reviewer, decision, blind, n, last in store.db.execute(
            "select r.reviewer, r.decision, r.blind, count(*), max(r.created_at) from reviews r join passages p on "
            f"p.id = r.passage join documents d on d.id = p.document where 1 = 1{where} "
            "group by r.reviewer, r.decision, r.blind", params):
        row = table.setdefault(reviewer, {"reviewer": reviewer, "total": 0, "last": last})
        kind = "second" if blind else decision
        row[kind] = row.get(kind, 0) + n
        row["total"] += n
        row["last"] = max(row["last"], last)
    return sorted(table.values(), key=lambda r: -r["total"])


def precision(store: Store, authority: str = "") -> tuple[list[dict], list[dict]]:
    """Model precision, confirmed / (confirmed + rejected), per theme and per entry, over the current
    suggestions analysts have decided (links analysts added themselves do not count). It counts judgments:
    a settled link counts once, as settled; otherwise every reviewer's standing label counts, blind second
    reviews included, so a blind rejection of a confirmed link weighs against the model."""
    labels, settled = _labels(store)
    where, params = (" and d.authority = ?", [authority]) if authority else ("", [])
    entries: dict[str, dict] = {}
    for passage, taxonomy, entry, theme, text in store.db.execute(
            f"select e.passage, e.taxonomy, e.entry, t.theme, t.text {FROM} where {CURRENT} and e.rank is not null"
            f"{where} order by t.theme, e.entry", params):
        key = (passage, taxonomy, entry)
        votes = [settled[key]] if key in settled else list(labels.get(key, {}).values())
        if votes:
            row = entries.setdefault(entry, {"theme": theme, "entry": entry, "text": text, "confirmed": 0,
                                             "rejected": 0})
            row["confirmed"] += votes.count("confirm")
            row["rejected"] += votes.count("reject")
    themes: dict[str, dict] = {}
    for row in entries.values():
        theme = themes.setdefault(row["theme"], {"theme": row["theme"], "confirmed": 0, "rejected": 0})
        theme["confirmed"] += row["confirmed"]
        theme["rejected"] += row["rejected"]
    for row in [*entries.values(), *themes.values()]:
        row["precision"] = row["confirmed"] / (row["confirmed"] + row["rejected"])
    return list(themes.values()), list(entries.values())


def disagreements(store: Store) -> list[dict]:
    """Links two reviewers decided differently (blind second reviews included) that no lead has settled, with
    each reviewer's decision, oldest first."""
    labels, settled = _labels(store)
    found = []
    for key, by_reviewer in labels.items():
        if len(set(by_reviewer.values())) > 1 and key not in settled:
            row = store.db.execute(
                f"select p.text, t.text, e.classifier_id, p.block_type {FROM} where {CURRENT} and e.passage = ? "
                "and e.taxonomy = ? and e.entry = ?", list(key)).fetchone()
            if row:
                found.append({"key": key, "passage": key[0], "taxonomy": key[1], "entry": key[2], "text": row[0],
                              "entry_text": row[1], "classifier_id": row[2], "block_type": row[3],
                              "decisions": sorted(by_reviewer.items())})
    return sorted(found, key=lambda d: d["key"])


def _labels(store: Store) -> tuple[dict[Key, dict[str, str]], dict[Key, str]]:
    """Each reviewer's standing label (confirm or reject) per link, and each settled link's settlement: undone
    decisions drop out (``standing_decisions``), a reassign counts as a reject, a blind second review is its
    reviewer's label, and a lead's settlement is not a reviewer's label but the link's verdict."""
    log = store.review_log()
    labels: dict[Key, dict[str, str]] = defaultdict(dict)
    settled: dict[Key, str] = {}
    for key, standing in standing_decisions(log).items():
        link = key.as_tuple()
        labels[link] = {str(r.reviewer): _label(r) for r in standing.decisions if not r.settles}
        verdicts = [_label(r) for r in standing.decisions if r.settles]
        if verdicts:
            settled[link] = verdicts[-1]
    for record in log:
        if record.blind and record.decision is not ReviewDecision.NOTE:
            labels[record.key.as_tuple()][str(record.reviewer)] = _label(record)
    return dict(labels), settled


def _label(record: ReviewRecord) -> str:
    return "confirm" if record.decision is ReviewDecision.CONFIRM else "reject"


def agreement(store: Store) -> tuple[list[Agreement], Agreement | None]:
    """Kappa for each pair of reviewers over the items both decided, and pooled over all pairs."""
    pairs: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for by_reviewer in _labels(store)[0].values():
        for a, b in combinations(sorted(by_reviewer), 2):
            pairs[(a, b)][0].append(by_reviewer[a])
            pairs[(a, b)][1].append(by_reviewer[b])

    def summarise(first: str, second: str, a: list[str], b: list[str]) -> Agreement:
        return Agreement(first, second, len(a), raw_agreement(a, b), cohen_kappa(a, b))

    rows = [summarise(a, b, *labels) for (a, b), labels in sorted(pairs.items())]
    pooled_a = [label for labels in pairs.values() for label in labels[0]]
    pooled_b = [label for labels in pairs.values() for label in labels[1]]
    return rows, (summarise("all", "pairs", pooled_a, pooled_b) if pooled_a else None)
