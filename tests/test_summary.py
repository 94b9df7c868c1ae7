"""Per-authority summary, the HTML heat map and the database doctor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.collect.corpus import discover
from pipeline.ingest import Ingestor
from pipeline.report.heatmap import render_heatmap
from pipeline.report.summary import authority_summaries
from pipeline.store import Store
from pipeline.store.doctor import check
from pipeline.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow

HOSTILE = ('The Section 151 officer issued a section 114 notice. <script>alert(1)</script> '
           '"><img src=x onerror=alert(2)>')


@pytest.fixture
def filled_store(tmp_path, segmenter, classifier):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.html").write_text(
        "<html><body><h1>Budget report</h1>"
        "<p>The Council has relied on reserves to balance the budget for three years and overspent by £9m.</p>"
        f"<p>{HOSTILE.replace('<', '&lt;').replace('>', '&gt;')}</p>"
        "<p>The budget for 2024/25 is balanced without use of reserves and savings were delivered in full.</p>"
        "</body></html>")
    authorities, sources = discover([folder], authority="testshire")
    store = Store(tmp_path / "t.db")
    store.upsert_authorities(authorities)
    store.sync_taxonomy(load_taxonomy())
    Ingestor(store, segmenter, classifier).process(sources[0])
    yield store
    store.close()


def test_summary_counts_match_the_database(filled_store):
    [summary] = authority_summaries(filled_store)
    db = filled_store.db
    assert summary.documents == 1 and summary.failed == 0
    assert summary.passages == db["passages"].count
    assert summary.evidence == db["evidence"].count == sum(summary.themes.values())
    assert sum(sum(c.values()) for c in summary.by_theme.values()) == summary.evidence
    flagged = db.execute("select count(distinct passage) from evidence where flagged = 1").fetchone()[0]
    assert summary.flagged_passages == flagged > 0
    assert summary.strongest and summary.strongest[0].score == max(
        r[0] for r in db.execute("select score from evidence where flagged = 1"))


def test_rejected_evidence_drops_out_of_the_summary(filled_store):
    before = authority_summaries(filled_store)[0].evidence
    link = filled_store.db.execute("select passage, taxonomy, entry from evidence limit 1").fetchone()
    filled_store.add_review(*link, decision="reject", reviewer="ana", reason="wrong_entry")
    assert authority_summaries(filled_store)[0].evidence == before - 1


def test_heatmap_is_self_contained_and_escapes_document_text(filled_store):
    page = render_heatmap(authority_summaries(filled_store), load_taxonomy())
    assert page.startswith("<!doctype html>") and "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page or "section 114" not in page.lower()
    assert "R-F09" in page and "http" not in page.split("<body>")[1].split("rgb")[0]


def test_summary_command_writes_the_heat_map(filled_store, tmp_path):
    target = tmp_path / "map.html"
    result = CliRunner().invoke(app, ["summary", "--db", str(filled_store.path), "--html", str(target)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "testshire" in result.stdout and "failure suggested" in result.stdout
    assert target.read_text().count("<table>") == 1


def test_doctor_finds_and_repairs_orphans_and_stuck_runs(filled_store):
    db = filled_store.db
    assert all(f.ok for f in check(filled_store))
    db.execute("pragma foreign_keys = off")
    db.execute("insert into evidence (passage, taxonomy, entry, classifier_id, status) "
               "values ('ghost', 'bv-2023-draft', 'R-F09', 'clf-x', 'suggested')")
    db.conn.commit()
    db.execute("pragma foreign_keys = on")
    run_id = filled_store.start_run("ingest", {}, "0", None, None)
    later = datetime.now(UTC) + timedelta(hours=7)
    problems = {f.check: f.count for f in check(filled_store, now=later) if not f.ok}
    assert problems == {"evidence without a passage": 1, "foreign keys": 1, "runs stuck in a running state": 1}
    repaired = check(filled_store, repair=True, now=later)
    assert all(f.ok for f in repaired)
    assert all(f.ok and f.count == 0 for f in check(filled_store, now=later))
    assert db["runs"].get(run_id)["outcome"] == "interrupted"
