"""``triage explore``: read-only exploration of the database in Datasette, beside the review app.

Facets on the columns analysts filter by, full-text search on passages (the FTS5 index the
store keeps) and canned queries for the questions asked most. Arbitrary SQL is off, and the
tables that hold credentials (reviewers, sessions, API tokens, login attempts) are denied to
everyone: Datasette has no login of its own, so it listens on loopback by default.

A small plugin makes it readable: a passage id in the evidence and reviews tables shows the
passage's opening words and a link to the item in the review app, and a refused request (a
denied table, ``_where=``, a bad parameter) is one log line, not a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pluggy
from markupsafe import Markup, escape

from pipeline.errors import TriageError

hookimpl = pluggy.HookimplMarker("datasette")  # Datasette's marker, without importing Datasette yet
log = logging.getLogger("pipeline.explore")


class _Stderr(logging.Handler):
    """One line per record on stderr as it is when the record comes: a handler holding the stream it was made
    with (as uvicorn's and Prefect's do) fails once that stream is replaced, and prints a traceback instead."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


if not log.handlers:
    log.addHandler(_Stderr())
    log.propagate = False
REVIEW_URL = "http://127.0.0.1:8000"
PASSAGE_PREVIEW = 160
PLUGIN_NAME = "bv-triage-explore"

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
        "description": "Counts links (passage and entry pairs), not passages; current classifier only.",
        "sql": """select d.authority, t.theme, e.status, count(*) as links
from evidence e
  join passages p on p.id = e.passage
  join documents d on d.id = p.document
  join taxonomy_entries t on t.taxonomy = e.taxonomy and t.id = e.entry
where e.flagged = 1
  and e.classifier_id = d.classifier_id
  and d.superseded_by is null
group by d.authority, t.theme, e.status
order by d.authority, links desc""",
    },
    "strongest_flags": {
        "title": "Strongest suggested failure evidence",
        "sql": """select d.authority, e.probability, e.entry, t.text as indicator, p.text as passage,
  d.title, d.date, p.page, e.passage as passage_id
from evidence e
  join passages p on p.id = e.passage
  join documents d on d.id = p.document
  join taxonomy_entries t on t.taxonomy = e.taxonomy and t.id = e.entry
where (:authority = '' or d.authority = :authority)
  and e.flagged = 1
  and e.status = 'suggested'
  and e.classifier_id = d.classifier_id
  and d.superseded_by is null
order by e.probability desc
limit 100""",
    },
    "failed_documents": {
        "title": "Documents that could not be read, and why",
        "sql": """select authority, path, error_reason, error, last_seen
from documents
where status = 'failed'
order by authority, error_reason""",
    },
    "decisions_per_reviewer": {
        "title": "Decisions per reviewer and kind",
        "sql": """select reviewer, decision, count(*) as decisions, max(created_at) as latest
from reviews
group by reviewer, decision
order by reviewer, decisions desc""",
    },
}


class ReadablePlugin:
    """Datasette hooks: passage ids with their text and review link, and refusals as one log line."""

    def __init__(self, review_url: str) -> None:
        self.review_url = review_url.rstrip("/")
        self.__name__ = PLUGIN_NAME  # Datasette names its plugins by their module's name

    @hookimpl
    def render_cell(self, row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
        passage = value.get("value") if isinstance(value, dict) else value  # a foreign key comes expanded
        if table not in ("evidence", "reviews") or column != "passage" or not isinstance(passage, str):
            return None
        href = f"{self.review_url}/items/" + "/".join(quote(str(part), safe="") for part in (passage, row["taxonomy"],
                                                                                                row["entry"]))

        async def cell() -> Markup:
            rows = await datasette.get_database(database).execute(
                "select substr(text, 1, ?) from passages where id = ?", [PASSAGE_PREVIEW + 1, passage])
            text = rows.first()[0] if rows.first() else ""
            more = "…" if len(text) > PASSAGE_PREVIEW else ""
            return Markup(f'<a href="{escape(href)}" title="open in the review app">{escape(passage)}</a>'
                          f'<br><span class="passage-preview">{escape(text[:PASSAGE_PREVIEW])}{more}</span>')

        return cell

    @hookimpl
    def handle_exception(self, datasette: Any, request: Any, exception: Exception) -> Any:
        """Every error page (Datasette's own handler is blocked, as it prints a traceback with its locals for a
        mere refusal): a refusal or bad parameter is one log line, a real fault logs its traceback once."""
        from datasette import Response
        from datasette.utils.asgi import Base400
        from datasette.views.base import DatasetteError

        if isinstance(exception, Base400):
            status, message = exception.status, str(exception.args[0] if exception.args else exception)
        elif isinstance(exception, DatasetteError):
            status, message = exception.status, str(exception.message)
        else:
            status, message = 500, "something went wrong (see the server's log)"
        if status < 500:
            log.warning("explore refused %s %r: %d %s", request.method, request.path, status, message)
        else:
            log.error("explore failed on %s %r", request.method, request.path, exc_info=exception)

        async def page() -> Any:
            info = {"ok": False, "error": message, "status": status, "title": None}
            if request.path.endswith(".json"):
                return Response.json(info, status=status)
            template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
            return Response.html(await template.render_async(
                {**info, "urls": datasette.urls, "app_css_hash": datasette.app_css_hash(),
                 "menu_links": lambda: []}), status=status)

        return page


def _authorities(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            return [row[0] for row in conn.execute("select slug from authorities order by slug")]
        except sqlite3.DatabaseError:
            return []


def metadata(db: Path, authorities: list[str] | None = None) -> dict[str, Any]:
    """Datasette metadata for the database at ``db`` (named by its file stem, as Datasette does)."""
    tables: dict[str, Any] = {name: {"facets": columns} for name, columns in FACETS.items()}
    tables |= {name: {"allow": False, "hidden": True} for name in CREDENTIAL_TABLES}
    tables["embeddings"] = {"hidden": True}
    slugs = ", ".join(authorities or []) or "none stored yet"
    queries = {name: dict(query) for name, query in QUERIES.items()}
    queries["strongest_flags"]["description"] = (
        f"authority: an authority's slug ({slugs}), or leave it empty for every authority. "
        "Up to 100 flagged links still waiting for review, the most probable first.")
    return {
        "title": "bv-triage evidence store",
        "description": "Read-only. Decisions are made in the review app (triage review).",
        "databases": {db.stem: {"allow_sql": False, "tables": tables, "queries": queries}},
    }


def create_app(db: Path, review_url: str = REVIEW_URL) -> Any:
    """The Datasette instance for ``db``, read-only (no arbitrary SQL, credential tables denied), with passage
    ids linked to ``review_url``'s item pages."""
    if not db.is_file():
        raise TriageError(f"no database at {db}; run `triage run` first")
    from datasette.app import Datasette
    from datasette.plugins import pm

    if pm.has_plugin(PLUGIN_NAME):  # Datasette's plugin manager is global: one review link per process
        pm.unregister(name=PLUGIN_NAME)
    pm.register(ReadablePlugin(review_url), name=PLUGIN_NAME)
    pm.set_blocked("datasette.handle_exception")
    return Datasette([str(db)], metadata=metadata(db, _authorities(db)),
                     settings={"default_page_size": 50, "sql_time_limit_ms": 3000})


def serve(db: Path, host: str, port: int, review_url: str = REVIEW_URL) -> None:
    import uvicorn

    uvicorn.run(create_app(db, review_url).app(), host=host, port=port, log_level="warning")
