"""Scraping wired to the store and the flows: the CLI against a local imitation of a ModernGov site."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from scrape_site import FakeSite, error_page, malformed_xml, pdf_bytes, redirect, send, sign_in_page
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.collect.sources import load_register, parse_source, scrape_day
from pipeline.errors import CorpusError
from pipeline.store import Store

pytestmark = pytest.mark.slow  # the scrape flow runs on Prefect

WINDOW = ["--since", "2026-02-15", "--until", "2026-03-31"]


def _scrape(site: FakeSite, db: Path, register: Path, *extra: str):
    return CliRunner().invoke(app, ["scrape", "moderngov", site.base(), "--authority", "brackenmoor", *WINDOW,
                                    "--db", str(db), "--register", str(register), *extra], env={"COLUMNS": "200"})


def _counts(output: str) -> dict[str, int]:
    line = next(ln for ln in output.splitlines() if ln.startswith("scrape:"))
    return {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", line)}


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


@pytest.mark.slow
def test_a_scrape_with_faults_collects_the_rest_records_each_and_exits_0(tmp_path):
    db, register = tmp_path / "t.db", tmp_path / "sources.yaml"
    with FakeSite() as site:
        site.routes["/brackenmoor/mgWebService.asmx/GetMeetings?lCommitteeId=131"] = malformed_xml
        site.routes["/brackenmoor/mgConvert2PDF.aspx?ID=81010"] = sign_in_page
        site.routes["/brackenmoor/mgConvert2PDF.aspx?ID=81011"] = error_page(403)
        site.routes["/brackenmoor/mgConvert2PDF.aspx?ID=81101"] = redirect(site.other_host("/elsewhere.pdf"))
        result = _scrape(site, db, register, "--allow-private-hosts")
    output = result.stdout + result.stderr
    assert result.exit_code == 0, output
    assert "Traceback" not in output
    assert _counts(result.stdout) == {"new": 2, "changed": 0, "unchanged": 0, "failed": 4}
    failed = sorted(line.rsplit(": http", 1)[0] for line in result.stdout.splitlines() if line.startswith("failed:"))
    assert failed == ["failed: brackenmoor-adhoc document forbidden (HTTP 403)",
                      "failed: brackenmoor-adhoc document forbidden_host",
                      "failed: brackenmoor-adhoc document not_a_document",
                      "failed: brackenmoor-adhoc meetings malformed"]
    assert re.search(r"ingest run \d+: 2 documents \(2 stored\)", result.stdout)
    with Store(db) as store:
        assert store.db["documents"].count == 2  # the sign-in page was never ingested as a paper
        assert {row["reason"] for row in store.db["scrape_failures"].rows} == {
            "forbidden", "forbidden_host", "not_a_document", "malformed"}
    report = CliRunner().invoke(app, ["scrape", "--report", "--db", str(db)], env={"COLUMNS": "200"})
    assert report.exit_code == 0 and "4 failures" in report.stdout
    assert "not_a_document" in report.stdout and "failing now: 4 URLs" in report.stdout


@pytest.mark.slow
def test_an_unreachable_site_exits_1_with_one_line(tmp_path):
    with FakeSite() as site:
        base = site.base()
    result = CliRunner().invoke(app, ["scrape", "moderngov", base, "--authority", "brackenmoor", *WINDOW,
                                      "--db", str(tmp_path / "t.db"), "--register", str(tmp_path / "s.yaml"),
                                      "--allow-private-hosts"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "failed: brackenmoor-adhoc committees connect_error" in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: nothing could be read from brackenmoor-adhoc (brackenmoor-adhoc: ")
    assert "ConnectError" in last
    assert "Traceback" not in result.stdout + result.stderr


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


def test_a_scrape_names_sources_by_id_authority_or_all_each_once():
    register = load_register()
    assert [s.id for s in register.select(["brackenmoor"])] == ["brackenmoor-papers", "brackenmoor-moderngov"]
    everything = register.select(["ferncastle-audit-page", "all", "brackenmoor"])
    assert sorted(s.id for s in everything) == sorted(s.id for s in register.sources)
    with pytest.raises(CorpusError, match="no source or authority 'atlantis'"):
        register.select(["brackenmoor", "atlantis"])
    assert scrape_day("2026-02-15") == date(2026, 2, 15) and scrape_day(None) is None
    with pytest.raises(CorpusError, match="bad date"):
        scrape_day("2026-02-30")


@pytest.mark.parametrize(("args", "message"), [
    (["source", "brackenmoor", "atlantis"], "error: no source or authority 'atlantis' in "),
    (["source", "all", "--until", "31/03/2026"], "error: bad date: "),
    (["moderngov", "https://democracy.x.example.gov.uk", "--authority", "x", "--since", "2026-02-30"],
     "error: bad date: "),
])
def test_a_bad_scrape_request_fails_in_one_line_before_anything_starts(tmp_path, args, message):
    db = tmp_path / "t.db"
    result = CliRunner().invoke(app, ["scrape", *args, "--db", str(db)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message)
    assert not db.exists()  # no flow ran: it would have made the database


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


@pytest.mark.slow
def test_many_sources_are_collected_together_and_one_unreachable_site_does_not_stop_the_others(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/"  # nothing listens there once the probe closes
    db, register = tmp_path / "t.db", tmp_path / "sources.yaml"
    with FakeSite() as site:
        register.write_text(yaml.safe_dump({"contact": "tests@example.org", "sources": [
            {"id": f"{name}-mg", "authority": name, "kind": "moderngov", "base_url": base,
             "allow_private_hosts": True} for name, base in
            (("north", site.base("north")), ("south", site.base("south")), ("gone", closed))]}))
        result = CliRunner().invoke(app, ["scrape", "source", "all", *WINDOW, "--workers", "2", "--db", str(db),
                                          "--register", str(register)], env={"COLUMNS": "200"})
    output = result.stdout + result.stderr
    assert result.exit_code == 0, output
    assert "Traceback" not in output and "warning" not in output  # the register names a contact
    assert _counts(result.stdout)["failed"] == 1
    assert "failed: gone-mg committees connect_error" in result.stdout
    with Store(db) as store:  # the two sites serve the same bytes, so their documents are stored once
        fetched = dict(store.db.execute("select source, count(*) from fetches where status = 'ok' group by source"))
    assert fetched["north-mg"] == fetched["south-mg"] > 0 and "gone-mg" not in fetched
    assert {h.path.split("/")[1] for h in site.hits if h.path != "/robots.txt"} == {"north", "south"}
