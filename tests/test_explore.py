"""`triage explore`: Datasette over the store, read-only, with facets, search and canned queries, and no way to
the credential tables."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import TriageError
from pipeline.explore import CREDENTIAL_TABLES, create_app


def _get_all(review, *paths: str) -> dict[str, object]:
    datasette = create_app(review.path)

    async def fetch() -> dict[str, object]:
        return {path: await datasette.client.get(path) for path in paths}

    return asyncio.run(fetch())


def test_facets_search_and_canned_queries_work(review):
    name = review.path.stem
    responses = _get_all(
        review,
        f"/{name}/evidence.json?_facet=status&_shape=objects",
        f"/{name}/passages.json?_search=overspend&_shape=objects",
        f"/{name}/strongest_flags.json?authority=brackenmoor&_shape=objects",
        f"/{name}/flagged_by_authority.json?_shape=objects",
    )
    facets, search, strongest, flagged = responses.values()
    assert all(r.status_code == 200 for r in responses.values()), {k: r.status_code for k, r in responses.items()}
    assert {f["value"] for f in facets.json()["facet_results"]["status"]["results"]} == {"suggested"}
    assert [r["text"] for r in search.json()["rows"]] and all("overspend" in r["text"] for r in search.json()["rows"])
    rows = strongest.json()["rows"]
    assert rows and [r["probability"] for r in rows] == sorted((r["probability"] for r in rows), reverse=True)
    assert {r["authority"] for r in flagged.json()["rows"]} == {"brackenmoor"}


def test_credentials_and_arbitrary_sql_are_refused(review):
    name = review.path.stem
    paths = [f"/{name}/{table}.json" for table in CREDENTIAL_TABLES]
    paths += [f"/{name}.json?sql=select+*+from+reviewers", f"/{name}/evidence.json?_where=1=1"]
    responses = _get_all(review, *paths, f"/{name}.json")
    for path in paths:
        assert responses[path].status_code == 403, path
    listed = {t["name"] for t in responses[f"/{name}.json"].json()["tables"] if not t["hidden"]}
    assert listed and not listed & set(CREDENTIAL_TABLES)


def test_explore_needs_a_database(tmp_path):
    with pytest.raises(TriageError, match="no database"):
        create_app(tmp_path / "missing.db")
    result = CliRunner().invoke(app, ["explore", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 1 and "no database" in result.stderr
