"""`triage explore`: Datasette over the store, read-only, with facets, search and canned queries, and no way to
the credential tables."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import TriageError
from pipeline.report.explore import CREDENTIAL_TABLES, QUERIES, create_app


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


def test_passage_ids_show_their_text_and_link_to_the_review_item(review):
    name = review.path.stem
    page = _get_all(review, f"/{name}/evidence?entry=R-F09")[f"/{name}/evidence?entry=R-F09"]
    assert page.status_code == 200
    assert 'href="http://127.0.0.1:8000/items/p-a-1/bv-2023-draft/R-F09"' in page.text
    assert "The Chief Finance Officer has issued a Section 114 notice" in page.text
    hostile = _get_all(review, f"/{name}/evidence?entry=R-F02")[f"/{name}/evidence?entry=R-F02"].text
    assert "<script>alert(1)</script>" not in hostile and "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile


def test_a_refusal_is_one_log_line_not_a_traceback(review, capsys):
    name = review.path.stem
    paths = [f"/{name}/evidence.json?_where=1=1", f"/{name}/reviewers", f"/{name}.json?sql=select+1"]
    responses = _get_all(review, *paths)
    assert [r.status_code for r in responses.values()] == [403, 403, 403]
    printed = capsys.readouterr()
    refusals = [line for line in printed.err.splitlines() if line.startswith("explore refused")]
    assert len(refusals) == 1 and "_where= is not allowed" in refusals[0]  # the other two Datasette refuses quietly
    assert "Traceback" not in printed.out + printed.err and len(printed.err.splitlines()) == 1


def test_canned_queries_read_well_and_say_what_they_need(review):
    for query in QUERIES.values():
        assert max(len(line) for line in query["sql"].splitlines()) <= 100, query["title"]
    name = review.path.stem
    everyone_path = f"/{name}/strongest_flags.json?authority=&_shape=objects"
    form, everyone = _get_all(review, f"/{name}/strongest_flags", everyone_path).values()
    assert "slug (brackenmoor, ferncastle), or leave it empty for every authority" in form.text
    assert {row["authority"] for row in everyone.json()["rows"]} == {"brackenmoor"}  # only brackenmoor has flags
