"""A remote site's faults never stop a scrape: each is recorded at its level with its reason and the
healthy documents are collected. Against the local imitation of a ModernGov site, with a real store."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from scrape_site import FakeSite, error_page, local_client, malformed_xml, redirect, sign_in_page, slow

from pipeline.collect.blobs import BlobStore
from pipeline.collect.collector import CollectResult, collect, contact_warning
from pipeline.collect.refs import backoff_key
from pipeline.collect.sources import parse_source
from pipeline.store import Store

WINDOW = {"since": date(2026, 2, 15), "until": date(2026, 3, 31)}
SERVICE = "/brackenmoor/mgWebService.asmx/"
PAGES = "/brackenmoor/"
# documents of the healthy committees in the window: Audit (118, meeting 7301) and Cabinet (102, meeting 7355)
AUDIT = {"81001", "81010", "81011"}
CABINET = {"81100", "81101"}
CORPORATE = {"81200"}  # Corporate Overview and Scrutiny (131, meeting 7390; web service only)


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as fake:
        yield fake


def run(site: FakeSite, tmp_path: Path, **options: object) -> tuple[CollectResult, Store]:
    source = parse_source({"id": "brackenmoor-mg", "authority": "brackenmoor", "kind": "moderngov",
                           "base_url": site.base(), "allow_private_hosts": True, **options})
    store = Store(tmp_path / "t.db")
    store.db["authorities"].insert({"slug": "brackenmoor", "name": "Brackenmoor"}, ignore=True)
    with local_client(site, read_timeout=0.3, max_retries=1) as client:
        result = collect(source, store, BlobStore(tmp_path / "blobs"), client, run=None, **WINDOW)
    return result, store


def collected(result: CollectResult) -> set[str]:
    """Attachment ids of the documents collected (from ``…?ID=81010`` or ``documents/s81010/…``)."""
    found = set()
    for document in result.documents:
        url = str(document.url)
        if "ID=" in url:
            found.add(url.rsplit("ID=", 1)[1])
        elif "/documents/s" in url:  # not the meeting-level documents/gNNN/ files
            found.add(url.split("/documents/s", 1)[1].split("/")[0])
    return found


def pages_only(site: FakeSite) -> None:
    site.service_status = 404  # the web service is off: the HTML pages are read


@pytest.mark.parametrize(("mode", "target", "route", "level", "reason", "status", "healthy"), [
    ("service", SERVICE + "GetMeetings?lCommitteeId=131", error_page(404), "meetings", "not_found", 404,
     AUDIT | CABINET),
    ("service", SERVICE + "GetMeetings?lCommitteeId=131", error_page(500), "meetings", "server_error", 500,
     AUDIT | CABINET),
    ("service", SERVICE + "GetMeetings?lCommitteeId=102", malformed_xml, "meetings", "malformed", None,
     AUDIT | CORPORATE),
    ("service", SERVICE + "GetMeeting?lMeetingId=7355", error_page(500), "meeting", "server_error", 500,
     AUDIT | CORPORATE),
    ("pages", PAGES + "ieListMeetings.aspx?CommitteeId=118", error_page(404), "meetings", "not_found", 404,
     CABINET),
    ("pages", PAGES + "ieListMeetings.aspx?CommitteeId=102", error_page(500), "meetings", "server_error", 500,
     AUDIT),
    ("pages", PAGES + "ieListDocuments.aspx?MId=7355", error_page(403), "meeting", "forbidden", 403, AUDIT),
    ("service", PAGES + "mgConvert2PDF.aspx?ID=81010", sign_in_page, "document", "not_a_document", None,
     AUDIT - {"81010"} | CABINET | CORPORATE),
    ("service", PAGES + "mgConvert2PDF.aspx?ID=81011", error_page(403), "document", "forbidden", 403,
     AUDIT - {"81011"} | CABINET | CORPORATE),
    ("pages", PAGES + "documents/s81100/Budget Monitoring Q3 report.pdf", slow(1.5), "document", "timeout", None,
     AUDIT | CABINET - {"81100"}),
    ("service", PAGES + "mgConvert2PDF.aspx?ID=81200", "elsewhere", "document", "forbidden_host", None,
     AUDIT | CABINET),
])
def test_a_fault_is_recorded_and_the_rest_collected(site, tmp_path, mode, target, route, level, reason, status,
                                                      healthy):
    if mode == "pages":
        pages_only(site)
    site.routes[target] = redirect(site.other_host("/elsewhere.pdf")) if route == "elsewhere" else route
    result, store = run(site, tmp_path)
    assert collected(result) >= healthy
    assert result.reachable
    [failure] = result.failures
    assert (failure.level, failure.reason, failure.status) == (level, reason, status)
    assert result.counts["failed"] == 1
    [logged] = list(store.db["scrape_failures"].rows)
    assert (logged["level"], logged["reason"], logged["http_status"], logged["source"]) == (
        level, reason, status, "brackenmoor-mg")
    assert logged["url"] == failure.url and logged["at"] and logged["message"]
    if level == "document":  # the failed fetch is stored as such, and no bytes are ingested for it
        fetch = store.fetch_record(failure.url)
        assert fetch.status == "failed" and fetch.error_reason == reason and fetch.sha256 is None
    assert "/elsewhere.pdf" not in site.paths()


def test_transient_faults_are_retried_per_request_and_parse_errors_are_not(site, tmp_path):
    site.routes[SERVICE + "GetMeetings?lCommitteeId=131"] = error_page(503)
    site.routes[SERVICE + "GetMeetings?lCommitteeId=102"] = malformed_xml
    run(site, tmp_path)
    asked = [h.query["lCommitteeId"] for h in site.hits_for(SERVICE + "GetMeetings")]
    assert asked.count("131") == 2  # local_client(max_retries=1): the 503 is asked twice
    assert asked.count("102") == 1 and asked.count("118") == 1
    assert len(site.hits_for(SERVICE + "GetCommittees")) == 1  # the source itself is never re-run


def test_service_off_falls_back_to_pages_without_a_failure(site, tmp_path):
    site.routes[SERVICE + "GetCommittees"] = error_page(500)
    result, _ = run(site, tmp_path)
    assert collected(result) == AUDIT | CABINET and not result.failures


def test_no_committee_list_anywhere_makes_the_site_unusable(site, tmp_path):
    pages_only(site)
    site.missing |= {"mgListCommittees.aspx", "mgCommitteeStructure.aspx"}
    result, _ = run(site, tmp_path)
    assert not result.reachable and not result.documents
    assert [(f.level, f.reason) for f in result.failures] == [("committees", "not_found")]


def test_an_unreachable_site_is_one_failure(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there

    class Closed:
        def base(self) -> str:
            return f"http://127.0.0.1:{port}/brackenmoor/"

        url = f"http://127.0.0.1:{port}"

    result, _ = run(Closed(), tmp_path)  # type: ignore[arg-type]
    assert not result.reachable
    assert [(f.level, f.reason) for f in result.failures] == [("committees", "connect_error")]


def test_a_url_failing_repeatedly_backs_off_and_a_success_clears_it(site, tmp_path):
    target = PAGES + "mgConvert2PDF.aspx?ID=81010"
    site.routes[target] = error_page(500)
    for _ in range(2):
        first, store = run(site, tmp_path)
        store.close()
    assert first.counts["failed"] == 1
    third, store = run(site, tmp_path)
    assert third.counts["deferred"] == 1 and third.counts["failed"] == 0  # not asked: backing off
    asked = [h for h in site.hits_for("/brackenmoor/mgConvert2PDF.aspx") if h.query.get("ID") == "81010"]
    assert len(asked) == 2 * 2  # two runs, each a first try and one retry; none in the third
    [failing] = store.failing_urls()
    assert failing.failures == 2 and failing.retry_at > failing.last_failed
    store.db["failing_urls"].update(failing.url, {"retry_at": "2000-01-01T00:00:00+00:00"})
    del site.routes[target]
    fourth, store = run(site, tmp_path)
    assert "81010" in collected(fourth) and store.failing_urls() == []


def test_a_meeting_list_keeps_its_failure_streak_from_one_window_to_the_next(site, tmp_path):
    assert backoff_key("https://x.gov.uk/mgWebService.asmx/GetMeetings?lCommitteeId=131&sFromDate=2026-02-15"
                       "&sToDate=2026-03-31") == "https://x.gov.uk/mgWebService.asmx/GetMeetings?lCommitteeId=131"
    site.routes[SERVICE + "GetMeetings?lCommitteeId=131"] = error_page(404)
    run(site, tmp_path)
    store = run(site, tmp_path)[1]
    [failing] = store.failing_urls()
    assert failing.failures == 2 and failing.url.endswith("GetMeetings?lCommitteeId=131")
    store.close()
    third = run(site, tmp_path)[0]
    assert third.counts["deferred"] == 1 and not third.failures
    assert [h.query["lCommitteeId"] for h in site.hits_for(SERVICE + "GetMeetings")].count("131") == 2


def test_expired_and_deleted_committees_are_read_only_when_the_source_asks(site, tmp_path):
    run(site, tmp_path)
    assert {h.query["lCommitteeId"] for h in site.hits_for(SERVICE + "GetMeetings")} == {"118", "102", "131"}
    site.hits.clear()
    run(site, tmp_path / "again", include_expired_committees=True)
    assert {h.query["lCommitteeId"] for h in site.hits_for(SERVICE + "GetMeetings")} == {
        "118", "102", "131", "97", "99"}


def test_the_reports_pack_is_skipped_when_its_parts_are_collected_and_kept_when_not(site, tmp_path):
    pages_only(site)
    result, _ = run(site, tmp_path)
    packs = [d for d in result.documents if "T=10" in str(d.url)]
    assert packs == [] and result.counts["skipped"] == 2  # 7301's and 7355's packs
    site.routes[PAGES + "documents/s81101/Appendix 1 - Directorate forecasts.pdf"] = error_page(500)
    result, _ = run(site, tmp_path / "again")
    assert [d.title for d in result.documents if "T=10" in str(d.url)] == ["Agenda reports pack"]
    assert result.counts["skipped"] == 1


def test_contact_warning_only_for_remote_hosts_without_a_contact():
    remote = parse_source({"id": "a", "authority": "a", "kind": "moderngov", "base_url": "https://x.gov.uk"})
    local = parse_source({"id": "b", "authority": "b", "kind": "local", "path": "x"})
    assert "TRIAGE_CONTACT" in (contact_warning(None, [remote, remote], False) or "")
    assert contact_warning("ops@watch.example", [remote], False) is None
    assert contact_warning(None, [local], False) is None
    assert contact_warning(None, [remote], True) is None  # a test or intranet run on private hosts


def test_a_skipped_pack_is_never_asked_for(site: FakeSite, tmp_path: Path) -> None:
    pages_only(site)
    run(site, tmp_path)
    assert not [path for path in site.paths() if "Public reports pack" in path]
