"""``triage explore``: read-only exploration of the database in Datasette, beside the review app.

Facets on the columns analysts filter by, full-text search on passages (the FTS5 index the
store keeps) and canned queries for the questions asked most. Arbitrary SQL is off, and the
tables that hold credentials (reviewers, sessions, API tokens, login attempts) are denied to
everyone: Datasette has no login of its own, so it listens on loopback by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import TriageError

CREDENTIAL_TABLES = ("reviewers", "sessions", "api_tokens", "login_attempts")
FACETS = {
    "documents": ["authority", "kind", "status", "error_reason"],
    "evidence": ["status", "flagged", "entry", "classifier_id", "reason"],
    "passages": ["boilerplate", "block_type", "ocr"],
    "reviews": ["decision", "reason", "reviewer"],
    "taxonomy_entries": ["taxonomy", "theme", "kind"],
}
QUERIES = {
    "flagged_by_authority": {
        "title": "Flagged evidence per authority and theme",
        "sql": "select d.authority, t.theme, e.status, count(*) as links from evidence e "
               "join passages p on p.id = e.passage join documents d on d.id = p.document "
               "join taxonomy_entries t on t.taxonomy = e.taxonomy and t.id = e.entry "
               "where e.flagged = 1 and e.classifier_id = d.classifier_id and d.superseded_by is null "
               "group by d.authority, t.theme, e.status order by d.authority, links desc",
    },
    "strongest_flags": {
        "title": "Strongest suggested failure evidence for an authority",
        "sql": "select e.probability, e.entry, t.text as indicator, p.text as passage, d.title, d.date, p.page "
               "from evidence e join passages p on p.id = e.passage join documents d on d.id = p.document "
               "join taxonomy_entries t on t.taxonomy = e.taxonomy and t.id = e.entry "
               "where d.authority = :authority and e.flagged = 1 and e.status = 'suggested' "
               "and e.classifier_id = d.classifier_id and d.superseded_by is null "
               "order by e.probability desc limit 100",
    },
    "failed_documents": {
        "title": "Documents that could not be read, and why",
        "sql": "select authority, path, error_reason, error, last_seen from documents where status = 'failed' "
               "order by authority, error_reason",
    },
    "decisions_per_reviewer": {
        "title": "Decisions per reviewer and kind",
        "sql": "select reviewer, decision, count(*) as decisions, max(created_at) as latest from reviews "
               "group by reviewer, decision order by reviewer, decisions desc",
    },
}


def metadata(db: Path) -> dict[str, Any]:
    """Datasette metadata for the database at ``db`` (named by its file stem, as Datasette does)."""
    tables: dict[str, Any] = {name: {"facets": columns} for name, columns in FACETS.items()}
    tables |= {name: {"allow": False, "hidden": True} for name in CREDENTIAL_TABLES}
    tables["embeddings"] = {"hidden": True}
    return {
        "title": "bv-triage evidence store",
        "description": "Read-only. Decisions are made in the review app (triage review).",
        "databases": {db.stem: {"allow_sql": False, "tables": tables, "queries": QUERIES}},
    }


def create_app(db: Path) -> Any:
    """The Datasette instance for ``db``, read-only (no arbitrary SQL, credential tables denied)."""
    if not db.is_file():
        raise TriageError(f"no database at {db}; run `triage run` first")
    from datasette.app import Datasette

    return Datasette([str(db)], metadata=metadata(db), settings={"default_page_size": 50, "sql_time_limit_ms": 3000})


def serve(db: Path, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(db).app(), host=host, port=port, log_level="warning")
