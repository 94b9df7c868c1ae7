"""Per-authority views read back from the store, so what is printed is what is stored.

Only current evidence counts: documents that are stored, not superseded by a newer version,
and evidence from the classifier that last classified each document.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.store import Store

CURRENT = ("d.status = 'ok' and d.superseded_by is null and e.classifier_id = d.classifier_id "
           "and e.status != 'rejected'")
_EVIDENCE = ("from evidence e join passages p on p.id = e.passage join documents d on d.id = p.document "
             "join taxonomy_entries t on t.taxonomy = e.taxonomy and t.id = e.entry")


@dataclass
class FlaggedPassage:
    document: str
    title: str | None
    page: int | None
    entry: str
    score: float | None
    status: str
    text: str


@dataclass
class AuthoritySummary:
    slug: str
    name: str
    documents: int = 0
    failed: int = 0
    ocr: int = 0
    passages: int = 0
    boilerplate: int = 0
    evidence: int = 0
    flagged_passages: int = 0
    themes: dict[str, int] = field(default_factory=dict)  # evidence links per theme
    by_theme: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # theme -> (polarity, status)
    entries: dict[str, float] = field(default_factory=dict)  # entry id -> evidence strength
    strongest: list[FlaggedPassage] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def authority_summaries(store: Store, authority: str | None = None, top: int = 5) -> list[AuthoritySummary]:
    db = store.db
    where, params = ("where slug = ?", [authority]) if authority else ("", [])
    summaries = {slug: AuthoritySummary(slug, name)
                 for slug, name in db.execute(f"select slug, name from authorities {where} order by slug", params)}

    def rows(sql: str, args: list | None = None):  # type: ignore[no-untyped-def]
        for row in db.execute(sql, args or []):
            if row[0] in summaries:
                yield summaries[row[0]], row[1:]

    for s, (status, ocr, count) in rows(
        "select authority, status, ocr_pages is not null, count(*) from documents where superseded_by is null "
        "group by authority, status, ocr_pages is not null"
    ):
        s.documents += count
        s.failed += count if status != "ok" else 0
        s.ocr += count if ocr else 0
    for s, (passages, boilerplate) in rows(
        "select d.authority, count(*), sum(p.boilerplate) from passages p join documents d on d.id = p.document "
        "where d.status = 'ok' and d.superseded_by is null group by d.authority"
    ):
        s.passages, s.boilerplate = passages, boilerplate or 0
    for s, (theme, kind, status, count) in rows(
        f"select d.authority, t.theme, t.kind, e.status, count(*) {_EVIDENCE} where {CURRENT} "
        "group by d.authority, t.theme, t.kind, e.status"
    ):
        polarity = "failure" if kind == "failure_indicator" else "positive"
        s.by_theme.setdefault(theme, {})[(polarity, status)] = count
        s.themes[theme] = s.themes.get(theme, 0) + count
        s.evidence += count
    for s, (entry, strength) in rows(
        f"select d.authority, e.entry, sum(case e.status when 'confirmed' then 2.0 else coalesce(e.score, 0.5) end) "
        f"{_EVIDENCE} where {CURRENT} group by d.authority, e.entry"
    ):
        s.entries[entry] = round(strength, 3)
    for s, (count,) in rows(
        f"select d.authority, count(distinct e.passage) {_EVIDENCE} where {CURRENT} and e.flagged = 1 "
        "group by d.authority"
    ):
        s.flagged_passages = count
    for s in summaries.values():
        s.strongest = [FlaggedPassage(*r) for r in db.execute(
            f"select d.id, d.title, p.page, e.entry, e.score, e.status, p.text {_EVIDENCE} where {CURRENT} "
            "and e.flagged = 1 and d.authority = ? order by e.status = 'confirmed' desc, e.score desc limit ?",
            [s.slug, top])]
    for s, (path, reason) in rows(
        "select authority, path, error_reason from documents where status != 'ok' and superseded_by is null "
        "order by path"
    ):
        s.failures.append((path, reason))
    return list(summaries.values())
