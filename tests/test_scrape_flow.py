"""Scraping wired to the store and the flows: the CLI against a local imitation of a ModernGov site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from scrape_site import FakeSite, pdf_bytes, send
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.collect.sources import load_register, parse_source
from pipeline.errors import CorpusError
from pipeline.store import Store

WINDOW = ["--since", "2026-02-15", "--until", "2026-03-31"]


def _scrape(site: FakeSite, db: Path, register: Path, *extra: str):
    return CliRunner().invoke(app, ["scrape", "moderngov", site.base(), "--authority", "brackenmoor", *WINDOW,
                                    "--db", str(db), "--register", str(register), *extra], env={"COLUMNS": "200"})


def _counts(output: str) -> dict[str, int]:
    line = next(ln for ln in output.splitlines() if ln.startswith("scrape:"))
    return {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", line)}


@pytest.mark.slow
def test_scrape_stores_once_then_sends_conditional_requests_then_versions_changes(tmp_path):
    db, register = tmp_path / "t.db", tmp_path / "sources.yaml"
    with FakeSite() as site:
        first = _scrape(site, db, register, "--allow-private-hosts")
        assert first.exit_code == 0, first.output
        counts = _counts(first.stdout)
        assert counts["new"] > 0 and counts["failed"] == 0
        with Store(db) as store:
            fetched = list(store.db["fetches"].rows)
            documents = list(store.db["documents"].rows)
            assert len(fetched) == counts["new"]
            assert {d["url"] for d in documents} == {f["url"] for f in fetched}
            assert all(f["first_seen"] and f["etag"] for f in fetched)
            assert all(Path(d["path"]).is_file() for d in documents)  # bytes stored before the row
        blobs = sorted(p for p in (tmp_path / "blobs").rglob("*") if p.is_file())
        assert len(blobs) == len({f["sha256"] for f in fetched})

        site.hits.clear()
        second = _scrape(site, db, register, "--allow-private-hosts")
        assert second.exit_code == 0, second.output
        assert _counts(second.stdout) == {"new": 0, "changed": 0, "unchanged": counts["new"], "failed": 0}
        document_hits = [h for h in site.hits if h.path.endswith(("mgConvert2PDF.aspx", ".pdf"))]
        assert document_hits and all("if-none-match" in h.headers for h in document_hits)
        with Store(db) as store:
            assert store.db["documents"].count == len(documents)

        site.routes["/brackenmoor/mgConvert2PDF.aspx"] = lambda handler: send(
            handler, 200, pdf_bytes(f"Revised paper {handler.path}: the Council has overspent by 9 million pounds."),
            "application/pdf", {"ETag": f'"v2-{handler.path}"'})
        third = _scrape(site, db, register, "--allow-private-hosts")
        assert third.exit_code == 0, third.output
        changed = _counts(third.stdout)["changed"]
        assert changed > 0
        with Store(db) as store:
            versions = store.db.execute(
                "select count(*) from documents where previous_version is not null").fetchone()[0]
            assert versions == changed
            assert store.db.execute("select count(*) from documents where superseded_by is not null"
                                    ).fetchone()[0] == changed


def test_loopback_is_refused_without_the_flag(tmp_path):
    with FakeSite() as site:
        result = _scrape(site, tmp_path / "t.db", tmp_path / "sources.yaml")
    assert result.exit_code != 0 or "failed" in result.stdout
    assert "private" in (result.stdout + result.stderr + str(result.exception)).lower()


def test_flows_serve_dry_run_lists_one_deployment_per_source_and_weekly_learning(tmp_path):
    from flows.serve import build_deployments

    register = load_register()
    *scrapes, learn = build_deployments(register, str(tmp_path / "t.db"))
    assert [d.name for d in scrapes] == [f"scrape-{s.id}" for s in register.sources]
    assert learn.name == "learn-weekly" and learn.parameters == {"db": str(tmp_path / "t.db")}
    assert [s.schedule.cron for s in learn.schedules] == ["0 4 * * 1"]
    for deployment, source in zip(scrapes, register.sources, strict=True):
        assert [s.schedule.cron for s in deployment.schedules] == [source.schedule]
        assert deployment.parameters["sources"] == [source.id]
    result = CliRunner().invoke(app, ["flows", "serve", "--dry-run", "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 0, result.output
    assert "scrape-brackenmoor-moderngov" in result.stdout and "30 1 * * *" in result.stdout


def test_sources_add_validates_and_check_reports(tmp_path):
    register = tmp_path / "sources.yaml"
    runner = CliRunner()
    ok = runner.invoke(app, ["sources", "add", "x-site", "--authority", "x-council", "--kind", "moderngov",
                             "--base-url", "https://democracy.x.example.gov.uk", "--register", str(register)])
    assert ok.exit_code == 0, ok.output
    assert yaml.safe_load(register.read_text())["sources"][0]["base_url"] == "https://democracy.x.example.gov.uk"
    duplicate = runner.invoke(app, ["sources", "add", "x-site", "--authority", "x-council", "--kind", "moderngov",
                                    "--base-url", "https://democracy.x.example.gov.uk", "--register", str(register)])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.stderr
    bad = runner.invoke(app, ["sources", "add", "y", "--authority", "y", "--kind", "listing", "--base-url",
                              "ftp://y", "--register", str(register)])
    assert bad.exit_code == 1 and "needs an http(s) base_url" in bad.stderr
    checked = runner.invoke(app, ["sources", "check", "--register", str(register)])
    assert checked.exit_code == 0 and "1 sources OK" in checked.stdout


@pytest.mark.parametrize(("raw", "message"), [
    ({"id": "a", "authority": "a", "kind": "ftp"}, "kind 'ftp'"),
    ({"id": "a", "authority": "a", "kind": "local"}, "needs a path"),
    ({"id": "a", "authority": "a", "kind": "listing", "base_url": "https://x.example"}, "link pattern"),
    ({"id": "a", "authority": "a", "kind": "local", "path": "x", "schedule": "nightly"}, "cron"),
    ({"id": "a", "authority": "a", "kind": "local", "path": "x", "colour": "red"}, "unknown keys"),
    ({"id": "a", "authority": "a", "kind": "local", "path": "x", "document_kinds": ["memo"]}, "unknown document"),
])
def test_source_validation_messages(raw, message):
    with pytest.raises(CorpusError, match=message):
        parse_source(raw)
