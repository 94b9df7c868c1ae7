"""A local imitation of a ModernGov site for the scrape tests.

``FakeSite`` serves, under any first path segment (one per fake authority, so several
authorities share one host): the ``mgWebService.asmx`` XML, the HTML pages, real PDFs
made with reportlab, and ``/robots.txt``. Fixture files in ``fixtures/moderngov`` name
the site ``democracy.brackenmoor.gov.uk``; that host is rewritten to the authority's
local base URL. Every request is recorded (monotonic time, path, query, headers), and
``routes`` lets a test answer one path itself, optionally only for some query parameters
(``/brackenmoor/mgWebService.asmx/GetMeetings?lCommitteeId=102``); the fault answers below
(error statuses, malformed XML, a sign-in page, a slow answer, a redirect to another host)
are what real council sites send.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from reportlab.pdfgen import canvas

from pipeline.collect.http import FetchLimits, HostRateLimiter, PoliteClient

Route = Callable[[BaseHTTPRequestHandler], None]
FIXTURES = Path(__file__).parent / "fixtures" / "moderngov"
FIXTURE_HOSTS = ("https://democracy.brackenmoor.gov.uk/", "http://democracy.brackenmoor.gov.uk/")
LAST_MODIFIED = "Tue, 24 Feb 2026 09:15:00 GMT"


@dataclass(frozen=True)
class Hit:
    time: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]


def pdf_bytes(text: str) -> bytes:
    """A small real one-page PDF carrying ``text``."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=1)  # same bytes every time, so ETags are stable
    page.setTitle(text)
    page.drawString(72, 760, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


class FakeSite:
    """The server; use as a context manager. ``service_status`` switches the web service off:
    None answers normally, 404/500 answer that status, 200 answers an HTML page instead of XML."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.robots: str | None = "User-agent: *\nDisallow: /brackenmoor/private/\n"
        self.service_status: int | None = None
        self.missing: set[str] = set()  # authority-relative paths answered 404
        self.routes: dict[str, Route] = {}  # "path" or "path?name=value&...": see route_for
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def base(self, authority: str = "brackenmoor") -> str:
        return f"{self.url}/{authority}/"

    def other_host(self, path: str = "/") -> str:
        """The same server under another host name: a URL the scraper's allow-list does not cover."""
        return f"http://localhost:{self._server.server_address[1]}{path}"

    def route_for(self, path: str, query: dict[str, str]) -> Route | None:
        """The test's answer for this request: a key's path must match and each of its query parameters
        (names case-insensitive, as IIS reads them) must be in the request; the most specific key wins."""
        asked = {name.lower(): value for name, value in query.items()}
        best: tuple[int, Route] | None = None
        for key, route in self.routes.items():
            key_path, _, key_query = key.partition("?")
            wanted = {name.lower(): value for name, value in parse_qsl(key_query)}
            if key_path == path and all(asked.get(name) == value for name, value in wanted.items()) and (
                    best is None or len(wanted) > best[0]):
                best = (len(wanted), route)
        return best[1] if best else None

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def paths(self) -> list[str]:
        with self._lock:
            return [hit.path for hit in self.hits]

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    content_type: str = "text/html",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def _handler_for(site: FakeSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests read ``site.hits`` instead."""

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = dict(parse_qsl(parts.query))
            site.record(Hit(time.monotonic(), path, query, {k.lower(): v for k, v in self.headers.items()}))
            route = site.route_for(path, query)
            if route is not None:
                route(self)
            elif path == "/robots.txt":
                if site.robots is None:
                    send(self, 404, b"Not found")
                else:
                    send(self, 200, site.robots.encode(), "text/plain")
            else:
                authority, _, rest = path.lstrip("/").partition("/")
                self._authority(f"{site.url}/{authority}/", rest, {k.lower(): v for k, v in query.items()})

        def _authority(self, base: str, rest: str, query: dict[str, str]) -> None:
            if rest in site.missing:
                send(self, 404, b"<html><body>The resource cannot be found.</body></html>")
            elif rest.startswith("mgWebService.asmx/"):
                self._service(base, rest.removeprefix("mgWebService.asmx/"), query)
            elif rest in ("mgListCommittees.aspx", "mgCommitteeStructure.aspx"):
                self._fixture(base, "committee_structure.html")
            elif rest == "ieListMeetings.aspx":
                committee = query.get("committeeid") or query.get("cid")
                page = f"_{query['d']}" if query.get("act") == "earlier" else ""
                name = f"list_meetings_{committee}{page}.html"
                self._fixture(base, name if (FIXTURES / name).is_file() else "list_meetings_none.html")
            elif rest == "ieListDocuments.aspx":
                self._fixture(base, f"documents_{query.get('mid')}.html")
            elif rest.startswith("documents/") or rest == "mgConvert2PDF.aspx":
                self._pdf(f"{rest} {query.get('id', '')}".strip())
            else:
                send(self, 404, b"Not found")

        def _service(self, base: str, operation: str, query: dict[str, str]) -> None:
            if site.service_status == 200:
                send(self, 200, b"<!DOCTYPE html><html><body><h1>Web service disabled</h1></body></html>")
                return
            if site.service_status is not None:
                send(self, site.service_status, b"<html><body>Server Error in '/' Application.</body></html>")
                return
            names = {
                "GetCommittees": "committees.xml",
                "GetMeetings": f"getmeetings_{query.get('lcommitteeid')}.xml",
                "GetMeeting": f"getmeeting_{query.get('lmeetingid')}.xml",
            }
            self._fixture(base, names.get(operation, "unknown"), "text/xml; charset=utf-8", missing_status=500)

        def _fixture(
            self, base: str, name: str, content_type: str = "text/html; charset=utf-8", missing_status: int = 404
        ) -> None:
            file = FIXTURES / name
            if not file.is_file():
                send(self, missing_status, b"<html><body>Not found</body></html>")
                return
            text = file.read_text("utf-8")
            for host in FIXTURE_HOSTS:
                text = text.replace(host, base)
            send(self, 200, text.encode("utf-8"), content_type)

        def _pdf(self, name: str) -> None:
            body = pdf_bytes(name)
            etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
            if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                send(self, 304, headers={"ETag": etag})
                return
            send(self, 200, body, "application/pdf", {"ETag": etag, "Last-Modified": LAST_MODIFIED})

    return Handler


# --- what real sites answer instead of the page or document asked for ----------------------------


def ignore_disconnect(route: Route) -> Route:
    """For routes the client hangs up on (timeouts, size limits): a broken pipe is the expected end."""

    def wrapped(handler: BaseHTTPRequestHandler) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(handler)

    return wrapped


def error_page(status: int, headers: dict[str, str] | None = None) -> Route:
    """An IIS error page with ``status`` (404 for a defunct committee, 403 from a firewall, 500 when overloaded)."""
    body = f"<html><head><title>{status}</title></head><body><h2>Server Error in '/' Application.</h2></body></html>"
    return lambda handler: send(handler, status, body.encode(), "text/html; charset=utf-8", headers)


def malformed_xml(handler: BaseHTTPRequestHandler) -> None:
    """A web-service answer cut off mid-element, as a truncated or killed response arrives."""
    send(handler, 200, b'<?xml version="1.0" encoding="utf-8"?>\n<getmeetings>\n  <meetingscount> 1</meetingscount>\n'
                       b"  <committee>\n    <committeeid>10", "text/xml; charset=utf-8")


SIGN_IN = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method=\"post\" action=\"/login\">"
           b"<label>User name <input name=\"user\"></label><label>Password <input name=\"password\" "
           b"type=\"password\"></label><button>Sign in</button></form></body></html>")


def sign_in_page(handler: BaseHTTPRequestHandler) -> None:
    """What an attachment behind a single-sign-on gateway answers: 200 and a login form, not the PDF."""
    send(handler, 200, SIGN_IN, "text/html; charset=utf-8")


def slow(seconds: float) -> Route:
    """Answers only after ``seconds``: longer than the client's read timeout, it is a timeout."""

    @ignore_disconnect
    def route(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        send(handler, 200, b"too late")

    return route


def redirect(location: str, status: int = 302) -> Route:
    return lambda handler: send(handler, status, headers={"Location": location})


def local_client(site: FakeSite, *, interval: float = 0.0, private: bool = True, **limits: float) -> PoliteClient:
    """A client allowed on the fake site, with short timeouts and backoff so tests stay fast."""
    settings = {
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 10.0,
        "backoff_base": 0.05,
        "max_wait": 5.0,
    } | limits
    return PoliteClient(
        [site.url],
        contact="tests@example.org",
        limits=FetchLimits(**settings),
        limiter=HostRateLimiter(interval),
        allow_private_hosts=private,
    )
