"""ModernGov parsing (web-service XML, HTML pages) and discovery against a local imitation site."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from scrape_site import FIXTURES, FakeSite, local_client

from pipeline.collect.moderngov.pages import parse_committee_list, parse_meeting_list, parse_meeting_page
from pipeline.collect.moderngov.scraper import ModernGovScraper
from pipeline.collect.moderngov.service import Committee, parse_committees, parse_meeting, parse_meetings
from pipeline.collect.refs import DocumentRef
from pipeline.errors import ForbiddenHost, SourceFormatError

SITE = "https://democracy.brackenmoor.gov.uk/"
AUDIT = Committee(118, "Audit and Governance Committee")
SPRING = {"since": date(2026, 2, 15), "until": date(2026, 3, 31)}  # 7301, 7355, 7390 inside; 7240 before


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as fake:
        yield fake


def discover(site: FakeSite, **options: object) -> list[DocumentRef]:
    with local_client(site) as client:
        return list(ModernGovScraper(client, site.base(), **{**SPRING, **options}).discover())


def by_attachment(refs: list[DocumentRef]) -> dict[int | None, DocumentRef]:
    return {ref.attachment_id: ref for ref in refs}


# --- parsers ------------------------------------------------------------------------------


def test_parse_committees_reads_flags_and_empty_elements() -> None:
    committees = {c.id: c for c in parse_committees(fixture("committees.xml"))}
    assert set(committees) == {118, 102, 131, 99, 97}
    assert committees[118].title == "Audit and Governance Committee"
    assert committees[118].category == "Regulatory and Governance Committees"
    assert committees[131].category is None  # the "\n    " empty form
    assert committees[97].expired and not committees[118].expired
    assert [c.id for c in committees.values() if c.deleted] == [99]


def test_parse_meetings_reads_dd_mm_yyyy_dates_and_status() -> None:
    meetings = parse_meetings(fixture("getmeetings_118.xml"))
    assert [(m.id, m.date, m.cancelled) for m in meetings] == [
        (7240, date(2025, 12, 9), False),
        (7301, date(2026, 3, 3), False),
        (7302, date(2026, 3, 17), True),
    ]
    assert {m.committee for m in meetings} == {"Audit and Governance Committee"}


def test_parse_meeting_lists_attachments_and_skips_restricted_items() -> None:
    meeting = parse_meeting(fixture("getmeeting_7301.xml"))
    assert (meeting.id, meeting.date, meeting.cancelled) == (7301, date(2026, 3, 3), False)
    assert [item.title for item in meeting.items] == [
        "Apologies for Absence",
        "Minutes of the Previous Meeting",
        "Internal Audit Progress Report 2025/26",
    ]
    apologies, minutes, audit = meeting.items
    assert apologies.documents == () and apologies.number == "1."
    assert audit.text.startswith("To consider the report of the Head of Internal Audit & Risk")
    assert "<" not in audit.text and "four limited assurance opinions" in audit.text
    [doc] = minutes.documents
    assert doc.attachment_id == 81001
    assert doc.url == "http://democracy.brackenmoor.gov.uk/mgConvert2PDF.aspx?ID=81001"  # the http:// quirk
    assert doc.title == "Minutes Audit and Governance Committee 9 Dec 2025"
    assert (doc.committee, doc.meeting_date, doc.agenda_item) == (
        "Audit and Governance Committee",
        date(2026, 3, 3),
        "Minutes of the Previous Meeting",
    )
    assert [d.attachment_id for d in audit.documents] == [81010, 81011, 81012]


def test_parse_cancelled_meeting_has_no_items() -> None:
    meeting = parse_meeting(fixture("getmeeting_7302.xml"))
    assert meeting.cancelled and meeting.items == ()


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body>Web service disabled</body></html>",
        b'<?xml version="1.0" encoding="utf-8"?>\n<root><meetings/></root>',
        b"",
    ],
)
def test_parse_rejects_what_is_not_the_service_format(body: bytes) -> None:
    with pytest.raises(SourceFormatError):
        parse_committees(body)


def test_parse_rejects_a_bad_date() -> None:
    broken = fixture("getmeetings_102.xml").replace(b"11/03/2026", b"2026-03-11")
    with pytest.raises(SourceFormatError, match="dd/mm/yyyy"):
        parse_meetings(broken)


def test_parse_committee_list_decodes_entities_and_categories() -> None:
    parsed = parse_committee_list(fixture("committee_structure.html"), SITE + "mgListCommittees.aspx")
    committees = {c.id: c for c in parsed}
    assert set(committees) == {102, 118, 140, 131, 133, 150}
    assert committees[133].title == "Children's Services Scrutiny Panel"
    assert committees[150].title == "Joint Waste Committee (Brackenmoor & Ferncastle)"  # ieListMeetings link form
    assert committees[118].category == "Regulatory & Governance Committees"


def test_parse_meeting_list_reads_dates_status_and_paging() -> None:
    page = parse_meeting_list(fixture("list_meetings_118.html"), SITE + "ieListMeetings.aspx?CommitteeId=118", AUDIT)
    assert [(m.id, m.date, m.status, m.cancelled) for m in page.meetings] == [
        (7410, date(2026, 4, 21), None, False),
        (7302, date(2026, 3, 17), "CANCELLED", True),
        (7301, date(2026, 3, 3), "Agenda", False),
        (7240, date(2025, 12, 9), "Agenda, Decisions, Minutes", False),
    ]
    assert page.meetings[2].url == SITE + "ieListDocuments.aspx?CId=118&MId=7301&Ver=4"
    assert page.earlier_url == SITE + "ieListMeetings.aspx?Act=earlier&CId=118&D=202512091900&MD=ielistmeetings"


def test_parse_meeting_page_finds_packs_and_item_documents() -> None:
    page = parse_meeting_page(fixture("documents_7301.html"), SITE + "ieListDocuments.aspx?CId=118&MId=7301&Ver=4")
    assert not page.cancelled
    found = [(d.title, d.attachment_id, d.agenda_item) for d in page.documents]
    assert found == [
        ("Agenda frontsheet", None, None),
        ("Agenda reports pack", None, None),
        ("Minutes of the Previous Meeting", 81001, "Minutes of the Previous Meeting"),
        ("Internal Audit Progress Report 2025/26", 81010, "Internal Audit Progress Report 2025/26"),
        ("Appendix A - Limited Assurance Audits", 81011, "Internal Audit Progress Report 2025/26"),
        ("Appointing auditors guidance", 99, "Internal Audit Progress Report 2025/26"),
    ]
    urls = [d.url for d in page.documents]
    assert urls[0] == (
        SITE + "documents/g7318/Agenda%20frontsheet%20Tuesday%2003-Mar-2026%2019.00%20"
        "Audit%20and%20Governance%20Committee.pdf?T=0"
    )
    assert urls[4] == SITE + "documents/s81011/Appendix%20A%20-%20Limited%20Assurance%20Audits.pdf"
    assert urls[5].startswith("https://www.psaa.co.uk/")  # kept by the parser, dropped by the scraper


def test_parse_cancelled_meeting_page() -> None:
    page = parse_meeting_page(fixture("documents_7302.html"), SITE + "ieListDocuments.aspx?CId=118&MId=7302&Ver=4")
    assert page.cancelled and page.documents == ()


# --- discovery ----------------------------------------------------------------------------


def test_discovery_through_the_web_service(site: FakeSite) -> None:
    refs = discover(site)
    found = by_attachment(refs)
    assert set(found) == {81001, 81010, 81011, 81100, 81101, 81200}
    assert len(refs) == 6  # no psaa.co.uk link, no exempt item, no duplicates
    assert found[81001] == DocumentRef(
        url=site.base() + "mgConvert2PDF.aspx?ID=81001",
        title="Minutes Audit and Governance Committee 9 Dec 2025",
        committee_id=118,
        committee="Audit and Governance Committee",
        meeting_id=7301,
        meeting_date=date(2026, 3, 3),
        agenda_item="Minutes of the Previous Meeting",
        attachment_id=81001,
    )
    assert found[81100].committee == "Cabinet"
    assert found[81200].meeting_date == date(2026, 3, 24)
    assert found[81200].agenda_item == "Children's Services Improvement Plan"
    fetched = {(h.path, h.query.get("lMeetingId")) for h in site.hits}
    assert ("/brackenmoor/mgWebService.asmx/GetMeeting", "7240") not in fetched  # outside the window
    assert ("/brackenmoor/mgWebService.asmx/GetMeeting", "7302") not in fetched  # cancelled
    asked = {h.query["lCommitteeId"] for h in site.hits_for("/brackenmoor/mgWebService.asmx/GetMeetings")}
    assert asked == {"118", "102", "131"}  # not the expired working group
    assert not any("ieList" in path for path in site.paths())


def test_date_window_is_passed_to_the_service(site: FakeSite) -> None:
    discover(site, committees_include=["118"])
    [hit] = site.hits_for("/brackenmoor/mgWebService.asmx/GetMeetings")
    assert hit.query == {"lCommitteeId": "118", "sFromDate": "2026-02-15", "sToDate": "2026-03-31"}


def test_backfill_is_an_earlier_since(site: FakeSite) -> None:
    refs = discover(site, committees_include=["118"], since=date(2025, 12, 1))
    assert {r.meeting_id for r in refs} == {7240, 7301}
    assert by_attachment(refs)[80500].meeting_date == date(2025, 12, 9)


def test_default_window_is_28_days_back_and_7_forward(site: FakeSite) -> None:
    with local_client(site) as client:
        scraper = ModernGovScraper(client, site.base())
    assert scraper.since == date.today() - timedelta(days=28)
    assert scraper.until == date.today() + timedelta(days=7)


@pytest.mark.parametrize(
    ("options", "committees"),
    [
        ({"committees_include": ["118"]}, {118}),
        ({"committees_include": [102, "scrutiny"]}, {102, 131}),
        ({"committees_exclude": ["^cabinet$"]}, {118, 131}),
        ({"committees_include": ["committee"], "committees_exclude": ["audit"]}, {131}),
        ({"include_expired": True, "committees_include": ["working group"]}, {97}),
        ({"include_expired": True, "committees_include": ["housing"]}, {99}),  # deleted
        ({"committees_include": ["housing", "working group"]}, set()),
    ],
)
def test_committees_are_included_and_excluded(site: FakeSite, options: dict, committees: set[int]) -> None:
    refs = discover(site, **options)
    asked = {int(h.query["lCommitteeId"]) for h in site.hits_for("/brackenmoor/mgWebService.asmx/GetMeetings")}
    assert asked == committees
    assert {ref.committee_id for ref in refs} <= committees


@pytest.mark.parametrize("status", [404, 500, 200])
def test_falls_back_to_html_pages_when_the_service_is_off(site: FakeSite, status: int) -> None:
    site.service_status = status  # 200 answers an HTML page instead of XML
    with local_client(site, max_retries=1) as client:
        refs = list(ModernGovScraper(client, site.base(), committees_include=["audit"], **SPRING).discover())
    base = site.base()
    assert [(r.title, r.attachment_id, r.meeting_id, r.pack) for r in refs] == [
        ("Agenda frontsheet", None, 7301, False),
        ("Minutes of the Previous Meeting", 81001, 7301, False),
        ("Internal Audit Progress Report 2025/26", 81010, 7301, False),
        ("Appendix A - Limited Assurance Audits", 81011, 7301, False),
        ("Agenda reports pack", None, 7301, True),  # after its parts, so the collector knows if they all came
    ]
    assert refs[1].url == base + "documents/s81001/Minutes%209%20December%202025.pdf"
    assert {(r.committee_id, r.committee, r.meeting_date) for r in refs} == {
        (118, "Audit and Governance Committee", date(2026, 3, 3))
    }
    documents_pages = {h.query.get("MId") for h in site.hits_for("/brackenmoor/ieListDocuments.aspx")}
    assert documents_pages == {"7301"}  # not the cancelled 7302, not 7240 or 7410 outside the window


def test_fallback_uses_committee_structure_when_list_is_missing(site: FakeSite) -> None:
    site.service_status = 404
    site.missing.add("mgListCommittees.aspx")
    refs = discover(site, committees_include=["118"])
    assert {r.attachment_id for r in refs} == {None, 81001, 81010, 81011}
    assert "/brackenmoor/mgCommitteeStructure.aspx" in site.paths()


def test_fallback_follows_earlier_meetings_for_a_backfill(site: FakeSite) -> None:
    site.service_status = 404
    refs = discover(site, committees_include=["118"], since=date(2025, 10, 1), until=date(2026, 3, 31))
    assert {r.meeting_id for r in refs} == {7199, 7240, 7301}
    assert by_attachment(refs)[80201].meeting_date == date(2025, 10, 14)
    pages = [h.query.get("D") for h in site.hits_for("/brackenmoor/ieListMeetings.aspx")]
    assert pages == [None, "202512091900"]  # stopped once a page reached back past `since`


def test_the_web_service_disallowed_by_robots_means_html(site: FakeSite) -> None:
    site.robots = "User-agent: *\nDisallow: /brackenmoor/mgWebService.asmx\n"
    refs = discover(site, committees_include=["118"])
    assert {r.attachment_id for r in refs} == {None, 81001, 81010, 81011}
    assert not site.hits_for("/brackenmoor/mgWebService.asmx/GetCommittees")


def test_base_url_must_be_an_allowed_site(site: FakeSite) -> None:
    with local_client(site) as client, pytest.raises(ForbiddenHost):
        ModernGovScraper(client, "https://democracy.ferncastle.gov.uk/")


def test_rate_limit_holds_for_two_authorities_on_one_host(site: FakeSite) -> None:
    interval = 0.2
    results: dict[str, list[DocumentRef]] = {}
    with local_client(site, interval=interval) as client:
        scrapers = {
            name: ModernGovScraper(client, site.base(name), committees_include=["118"], **SPRING)
            for name in ("north", "south")
        }

        def run(name: str) -> None:
            results[name] = list(scrapers[name].discover())

        threads = [threading.Thread(target=run, args=(name,)) for name in scrapers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert {r.attachment_id for r in results["north"]} == {81001, 81010, 81011}
    assert {r.attachment_id for r in results["south"]} == {81001, 81010, 81011}
    assert {Path(path).parts[1] for path in site.paths() if path != "/robots.txt"} == {"north", "south"}
    times = sorted(hit.time for hit in site.hits)
    assert len(times) == 7  # robots.txt once, then GetCommittees, GetMeetings, GetMeeting per authority
    assert min(b - a for a, b in itertools.pairwise(times)) >= interval - 0.03
