"""PoliteClient against a local server: robots.txt, allow-list, redirects, retries, limits, conditional GET."""

from __future__ import annotations

import email.utils
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from scrape_site import (
    FakeSite,
    Route,
    error_page,
    ignore_disconnect,
    local_client,
    malformed_xml,
    redirect,
    send,
    sign_in_page,
    slow,
)

from pipeline import __version__
from pipeline.collect.http import FetchLimits, HostRateLimiter, PoliteClient, retry_after_seconds, user_agent
from pipeline.errors import DisallowedByRobots, FetchFailed, FetchTimeout, ForbiddenHost, TooLarge

TOLERANCE = 0.05  # thread scheduling jitter allowed on measured gaps (seconds)


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as fake:
        yield fake


def sequence(*steps: tuple[int, dict[str, str]]) -> tuple[list[int], Route]:
    """A route answering each status in turn (then the last one forever); returns (call log, handler)."""
    calls: list[int] = []

    def handler(request: BaseHTTPRequestHandler) -> None:
        status, headers = steps[min(len(calls), len(steps) - 1)]
        calls.append(status)
        send(request, status, b"ok" if status == 200 else b"busy", "text/plain", headers)

    return calls, handler


def test_fetch_names_the_project_and_contact(site: FakeSite) -> None:
    with local_client(site) as client:
        result = client.get(site.base() + "documents/s81010/Internal Audit Progress Report.pdf")
    assert result.status == 200 and not result.not_modified
    assert result.content is not None and result.content.startswith(b"%PDF")
    assert result.content_type == "application/pdf"
    assert result.url == site.base() + "documents/s81010/Internal%20Audit%20Progress%20Report.pdf"
    [hit] = site.hits_for("/brackenmoor/documents/s81010/Internal Audit Progress Report.pdf")
    assert hit.headers["user-agent"] == f"bv-triage/{__version__} (+tests@example.org)"


def test_without_a_contact_the_user_agent_names_only_the_project() -> None:
    assert user_agent(None) == user_agent("  ") == f"bv-triage/{__version__}"
    assert user_agent("ops@council-watch.org") == f"bv-triage/{__version__} (+ops@council-watch.org)"


def test_robots_disallow_is_honoured_and_robots_fetched_once(site: FakeSite) -> None:
    with local_client(site) as client:
        with pytest.raises(DisallowedByRobots, match=r"robots\.txt"):
            client.get(site.base() + "private/exempt-report.pdf")
        client.get(site.base() + "documents/s1/A.pdf")
        client.get(site.base() + "documents/s2/B.pdf")
    assert "/brackenmoor/private/exempt-report.pdf" not in site.paths()
    assert site.paths().count("/robots.txt") == 1


def test_robots_rules_for_our_user_agent_apply(site: FakeSite) -> None:
    site.robots = "User-agent: bv-triage\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    with local_client(site) as client, pytest.raises(DisallowedByRobots):
        client.get(site.base() + "documents/s1/A.pdf")
    assert site.paths() == ["/robots.txt"]


def test_missing_robots_allows_everything(site: FakeSite) -> None:
    site.robots = None
    with local_client(site) as client:
        assert client.get(site.base() + "documents/s1/A.pdf").status == 200


def test_unreachable_robots_disallows_everything(site: FakeSite) -> None:
    _, site.routes["/robots.txt"] = sequence((503, {}))
    with local_client(site, max_retries=1) as client, pytest.raises(DisallowedByRobots):
        client.get(site.base() + "documents/s1/A.pdf")
    assert "/brackenmoor/documents/s1/A.pdf" not in site.paths()


def test_robots_crawl_delay_slows_the_host(site: FakeSite) -> None:
    site.robots = "User-agent: *\nCrawl-delay: 1\n"
    with local_client(site, interval=0.0) as client:
        client.get(site.base() + "documents/s1/A.pdf")
        client.get(site.base() + "documents/s2/B.pdf")
    first, second = (site.hits_for(f"/brackenmoor/documents/{name}")[0].time for name in ("s1/A.pdf", "s2/B.pdf"))
    assert second - first >= 1.0 - TOLERANCE


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://democracy.brackenmoor.gov.uk/mgConvert2PDF.aspx?ID=81001",
            "https://democracy.brackenmoor.gov.uk/mgConvert2PDF.aspx?ID=81001",
        ),
        ("https://papers.ferncastle.gov.uk/audit/a b.pdf#page=2", "https://papers.ferncastle.gov.uk/audit/a%20b.pdf"),
        ("http://papers.ferncastle.gov.uk/audit/", "http://papers.ferncastle.gov.uk/audit/"),
        ("HTTPS://Kestrelford.ModernGov.co.uk", "https://kestrelford.moderngov.co.uk/"),
    ],
)
def test_allowed_urls_are_canonical(url: str, expected: str) -> None:
    client = PoliteClient(
        [
            "https://democracy.brackenmoor.gov.uk",
            "http://papers.ferncastle.gov.uk/audit",
            "kestrelford.moderngov.co.uk",
        ],
        contact="tests@example.org",
    )
    with client:
        assert client.canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.org/report.pdf",
        "https://brackenmoor.gov.uk/",
        "https://www.democracy.brackenmoor.gov.uk/",
        "https://democracy.brackenmoor.gov.uk:8443/x.pdf",
        "ftp://democracy.brackenmoor.gov.uk/x.pdf",
        "https://user:secret@democracy.brackenmoor.gov.uk/",
        "javascript:alert(1)",
    ],
)
def test_other_hosts_are_never_fetched(url: str) -> None:
    with PoliteClient(["https://democracy.brackenmoor.gov.uk"], contact="tests@example.org") as client:
        assert not client.allows(url)
        with pytest.raises(ForbiddenHost):
            client.get(url)


def test_redirect_on_the_same_host_is_followed(site: FakeSite) -> None:
    site.routes["/brackenmoor/old-report.pdf"] = lambda r: send(r, 301, headers={"Location": "documents/s5/New.pdf"})
    with local_client(site) as client:
        result = client.get(site.base() + "old-report.pdf")
    assert result.url == site.base() + "documents/s5/New.pdf"
    assert result.content is not None and result.content.startswith(b"%PDF")


def test_redirect_to_another_host_is_refused(site: FakeSite) -> None:
    site.routes["/brackenmoor/moved.pdf"] = lambda r: send(
        r, 302, headers={"Location": "https://files.example.org/moved.pdf"}
    )
    with local_client(site) as client, pytest.raises(ForbiddenHost, match=r"redirects to https://files\.example\.org"):
        client.get(site.base() + "moved.pdf")


def test_redirect_loop_stops(site: FakeSite) -> None:
    site.routes["/brackenmoor/loop"] = lambda r: send(r, 302, headers={"Location": "/brackenmoor/loop"})
    with local_client(site, max_redirects=2) as client, pytest.raises(FetchFailed, match="more than 2 redirects"):
        client.get(site.base() + "loop")
    assert len(site.hits_for("/brackenmoor/loop")) == 3


def test_429_with_retry_after_is_waited_out(site: FakeSite) -> None:
    calls, site.routes["/brackenmoor/busy"] = sequence((429, {"Retry-After": "1"}), (200, {}))
    with local_client(site) as client:
        start = time.monotonic()
        result = client.get(site.base() + "busy")
        elapsed = time.monotonic() - start
    assert result.content == b"ok"
    assert calls == [429, 200]
    assert elapsed >= 1.0
    first, second = site.hits_for("/brackenmoor/busy")
    assert second.time - first.time >= 1.0 - TOLERANCE


def test_503_twice_then_200_is_retried(site: FakeSite) -> None:
    calls, site.routes["/brackenmoor/flaky"] = sequence((503, {}), (503, {}), (200, {}))
    with local_client(site) as client:
        assert client.get(site.base() + "flaky").content == b"ok"
    assert calls == [503, 503, 200]


def test_retries_are_capped(site: FakeSite) -> None:
    calls, site.routes["/brackenmoor/down"] = sequence((500, {}))
    with local_client(site, max_retries=2) as client, pytest.raises(FetchFailed, match="after 3 attempts") as error:
        client.get(site.base() + "down")
    assert error.value.status == 500
    assert len(calls) == 3


def test_retry_after_longer_than_max_wait_fails_at_once(site: FakeSite) -> None:
    calls, site.routes["/brackenmoor/later"] = sequence((429, {"Retry-After": "3600"}))
    with local_client(site, max_wait=5.0) as client, pytest.raises(FetchFailed, match="retry after 3600s") as error:
        client.get(site.base() + "later")
    assert error.value.retry_after == 3600
    assert len(calls) == 1


def test_retry_after_parses_seconds_and_http_dates() -> None:
    in_30s = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (retry_after_seconds(in_30s) or 0) <= 30
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_404_raises_with_its_status(site: FakeSite) -> None:
    with local_client(site) as client, pytest.raises(FetchFailed, match="HTTP 404") as error:
        client.get(site.base() + "no-such-page.aspx")
    assert error.value.status == 404


@ignore_disconnect
def _slow_drip(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Length", "1000")
    request.end_headers()
    for _ in range(20):
        request.wfile.write(b"x" * 10)
        request.wfile.flush()
        time.sleep(0.15)


def test_slow_response_is_cut_off_by_the_read_timeout(site: FakeSite) -> None:
    site.routes["/brackenmoor/slow"] = slow(1.5)
    with local_client(site, read_timeout=0.3, max_retries=0) as client, pytest.raises(
            FetchTimeout, match=r"sent nothing for 0\.3s"):
        start = time.monotonic()
        client.get(site.base() + "slow")
    assert time.monotonic() - start < 1.2


def test_slow_drip_is_cut_off_by_the_total_time_limit(site: FakeSite) -> None:
    site.routes["/brackenmoor/drip"] = _slow_drip
    with local_client(site, total_timeout=0.8) as client, pytest.raises(FetchTimeout, match="total time limit"):
        start = time.monotonic()
        client.get(site.base() + "drip")
    assert time.monotonic() - start < 1.5


def test_oversized_response_with_declared_length_is_refused(site: FakeSite) -> None:
    site.routes["/brackenmoor/big.pdf"] = lambda r: send(r, 200, b"%PDF" + b"0" * 5000, "application/pdf")
    with local_client(site, max_bytes=1000) as client, pytest.raises(TooLarge, match="declares 5004 bytes"):
        client.get(site.base() + "big.pdf")


@ignore_disconnect
def _unsized(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/pdf")
    request.end_headers()  # no Content-Length: the body ends when the connection closes
    for _ in range(50):
        request.wfile.write(b"0" * 100)


def test_oversized_streamed_response_is_cut_off(site: FakeSite) -> None:
    site.routes["/brackenmoor/unsized.pdf"] = _unsized
    with local_client(site, max_bytes=1000) as client, pytest.raises(TooLarge, match="more than 1000 bytes"):
        client.get(site.base() + "unsized.pdf")


def test_conditional_get_returns_not_modified(site: FakeSite) -> None:
    url = site.base() + "mgConvert2PDF.aspx?ID=81010"
    with local_client(site) as client:
        first = client.get(url)
        by_etag = client.get(url, etag=first.etag)
        by_date = client.get(url, last_modified=first.last_modified)
    assert first.etag and first.last_modified and first.content
    assert by_etag.not_modified and by_etag.status == 304 and by_etag.content is None
    assert by_etag.etag == first.etag
    assert by_date.not_modified and by_date.last_modified == first.last_modified
    hits = site.hits_for("/brackenmoor/mgConvert2PDF.aspx")
    assert hits[1].headers["if-none-match"] == first.etag
    assert hits[2].headers["if-modified-since"] == first.last_modified


def test_private_addresses_are_refused_without_the_flag(site: FakeSite) -> None:
    with local_client(site, private=False) as client, pytest.raises(ForbiddenHost, match="not a public address"):
        client.get(site.base() + "documents/s1/A.pdf")
    assert site.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with PoliteClient([url], contact="tests@example.org") as client, pytest.raises(ForbiddenHost):
        client.get(url)


def test_rate_limiter_spaces_requests_across_threads() -> None:
    limiter = HostRateLimiter(0.1)
    times: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        limiter.wait("democracy.brackenmoor.gov.uk")
        with lock:
            times.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.1 - TOLERANCE
    start = time.monotonic()
    limiter.wait("papers.ferncastle.gov.uk")  # another host is not held up
    assert time.monotonic() - start < TOLERANCE


def test_moderngov_hosted_sites_share_one_budget() -> None:
    limiter = HostRateLimiter(1.0)
    assert limiter.key("Kingston.moderngov.co.uk") == limiter.key("richmond.moderngov.co.uk") == "moderngov.co.uk"
    assert limiter.key("democracy.manchester.gov.uk") == "democracy.manchester.gov.uk"


def test_a_fault_put_on_one_query_answers_only_that_request(site: FakeSite) -> None:
    site.routes["/brackenmoor/mgWebService.asmx/GetMeetings?lCommitteeId=102"] = malformed_xml
    meetings = site.base() + "mgWebService.asmx/GetMeetings?lCommitteeId={}&sFromDate=2026-02-15"
    with local_client(site) as client:
        broken = client.get(meetings.format(102)).content or b""
        healthy = client.get(meetings.format(118)).content or b""
    assert not broken.rstrip().endswith(b"</getmeetings>")
    assert healthy.rstrip().endswith(b"</getmeetings>")


@pytest.mark.parametrize(("route", "error", "message"), [
    (error_page(403), FetchFailed, "HTTP 403"),
    (slow(1.5), FetchTimeout, "sent nothing"),
])
def test_faults_real_sites_send_raise_their_errors(site: FakeSite, route: Route, error: type, message: str) -> None:
    site.routes["/brackenmoor/documents/s1/Report.pdf"] = route
    with local_client(site, read_timeout=0.3) as client, pytest.raises(error, match=message):
        client.get(site.base() + "documents/s1/Report.pdf")


def test_a_redirect_to_another_host_is_not_followed(site: FakeSite) -> None:
    site.routes["/brackenmoor/documents/s1/Report.pdf"] = redirect(site.other_host("/brackenmoor/elsewhere.pdf"))
    with local_client(site) as client, pytest.raises(ForbiddenHost, match="not in the source register"):
        client.get(site.base() + "documents/s1/Report.pdf")
    assert "/brackenmoor/elsewhere.pdf" not in site.paths()


def test_a_sign_in_page_arrives_as_html(site: FakeSite) -> None:
    site.routes["/brackenmoor/mgConvert2PDF.aspx"] = sign_in_page
    with local_client(site) as client:
        result = client.get(site.base() + "mgConvert2PDF.aspx?ID=81010")
    assert result.status == 200 and (result.content_type or "").startswith("text/html")
    assert b"password" in (result.content or b"")


def test_a_timeout_and_a_refused_connection_are_retried(site: FakeSite) -> None:
    calls: list[float] = []
    quick = send

    def first_slow(handler: BaseHTTPRequestHandler) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            slow(1.0)(handler)
        else:
            quick(handler, 200, b"%PDF-1.4 late but whole", "application/pdf")

    site.routes["/brackenmoor/documents/s1/Report.pdf"] = first_slow
    with local_client(site, read_timeout=0.3) as client:
        assert client.get(site.base() + "documents/s1/Report.pdf").content == b"%PDF-1.4 late but whole"
    assert len(calls) == 2
    with socket.socket() as probe:  # a port nobody listens on: connection refused, every attempt
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = f"http://127.0.0.1:{port}"
    with PoliteClient([closed], contact="tests@example.org", allow_private_hosts=True, limiter=HostRateLimiter(0),
                      limits=FetchLimits(backoff_base=0.01, max_retries=2)) as client, pytest.raises(
            FetchFailed, match="ConnectError") as error:
        client.get(closed + "/x.pdf")
    assert error.value.reason == "connect_error" and error.value.status is None
