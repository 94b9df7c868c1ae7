"""Per-authority summaries read back from the store, so what is printed is what is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.store import Store


@dataclass
class AuthoritySummary:
    slug: str
    name: str
    documents: int = 0
    failed: int = 0
    passages: int = 0
    boilerplate: int = 0
    evidence: int = 0
    flagged_passages: int = 0
    themes: dict[str, int] = field(default_factory=dict)  # evidence links per theme
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def authority_summaries(store: Store, authority: str | None = None) -> list[AuthoritySummary]:
    db = store.db
    where, params = ("where a.slug = ?", [authority]) if authority else ("", [])
    summaries: dict[str, AuthoritySummary] = {}
    for slug, name in db.execute(f"select a.slug, a.name from authorities a {where} order by a.slug", params):
        summaries[slug] = AuthoritySummary(slug, name)
    for slug, status, count in db.execute(
        "select authority, status, count(*) from documents group by authority, status"
    ):
        if slug in summaries:
            summaries[slug].documents += count
            if status != "ok":
                summaries[slug].failed += count
    for slug, passages, boilerplate in db.execute(
        "select d.authority, count(*), sum(p.boilerplate) from passages p join documents d on d.id = p.document "
        "group by d.authority"
    ):
        if slug in summaries:
            summaries[slug].passages, summaries[slug].boilerplate = passages, boilerplate or 0
    for slug, theme, count in db.execute(
        "select d.authority, t.theme, count(*) from evidence e join passages p on p.id = e.passage "
        "join documents d on d.id = p.document join taxonomy_entries t on t.taxonomy = e.taxonomy "
        "and t.id = e.entry group by d.authority, t.theme"
    ):
        if slug in summaries:
            summaries[slug].themes[theme] = count
            summaries[slug].evidence += count
    for slug, count in db.execute(
        "select d.authority, count(distinct e.passage) from evidence e join passages p on p.id = e.passage "
        "join documents d on d.id = p.document where e.flagged = 1 group by d.authority"
    ):
        if slug in summaries:
            summaries[slug].flagged_passages = count
    for slug, path, reason in db.execute(
        "select authority, path, error_reason from documents where status != 'ok' order by path"
    ):
        if slug in summaries:
            summaries[slug].failures.append((path, reason))
    return list(summaries.values())
