"""Polite, bounded HTTP fetching from council sites.

Every request goes through one ``PoliteClient``: it names itself, honours robots.txt,
spaces requests per host, retries only transient failures, and refuses anything outside
the source register's hosts or on a private network, so a hostile link or redirect
cannot point the scraper somewhere else.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import socket
import ssl
import threading
import time
import urllib.robotparser
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import httpx

from pipeline import __version__
from pipeline.errors import DisallowedByRobots, FetchFailed, FetchTimeout, ForbiddenHost, ScrapeError, TooLarge
from pipeline.extract.limits import DEFAULT_LIMITS

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB


@dataclass(frozen=True)
class FetchLimits:
    """Timeouts (seconds), sizes and retry policy of one client."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 300.0  # one get(), including retries, waits and redirects
    max_bytes: int = DEFAULT_LIMITS.max_bytes  # the extractor refuses bigger documents anyway
    max_retries: int = 3
    backoff_base: float = 1.0  # first wait when the server gives no Retry-After; doubles each time
    max_wait: float = 60.0  # longest single wait; a longer Retry-After fails instead of stalling the run
    max_redirects: int = 5


@dataclass(frozen=True)
class FetchResult:
    """One successful or not-modified fetch. ``url`` is the final URL after redirects."""

    url: str
    status: int
    content: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    not_modified: bool


class HostRateLimiter:
    """Spaces requests to one host at least ``min_interval`` seconds apart, across threads.

    Share one limiter (or one client) between every scraper, so authorities hosted on the
    same server never add up to more than one host's budget. Hosts under a shared suffix
    (ModernGov's hosted ``*.moderngov.co.uk`` sites) count as one host.
    """

    def __init__(self, min_interval: float, *, shared_suffixes: Iterable[str] = ("moderngov.co.uk",)) -> None:
        self.min_interval = min_interval
        self._shared = tuple(suffix.lower().strip(".") for suffix in shared_suffixes)
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._intervals: dict[str, float] = {}

    def key(self, host: str) -> str:
        """The bucket a host's requests count against."""
        host = host.lower()
        for suffix in self._shared:
            if host == suffix or host.endswith("." + suffix):
                return suffix
        return host

    def set_interval(self, host: str, seconds: float) -> None:
        """Slow a host down (robots.txt Crawl-delay); never below the limiter's own interval."""
        with self._lock:
            self._intervals[self.key(host)] = max(self.min_interval, seconds)

    def defer(self, host: str, seconds: float) -> None:
        """Hold every caller off ``host`` for ``seconds``: the server asked us to back off."""
        key = self.key(host)
        with self._lock:
            self._next_slot[key] = max(self._next_slot.get(key, 0.0), time.monotonic() + seconds)

    def wait(self, host: str) -> None:
        """Block until this caller may send a request to ``host``; reserves that slot."""
        key = self.key(host)
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(key, now))
            self._next_slot[key] = slot + self._intervals.get(key, self.min_interval)
        if slot > now:
            time.sleep(slot - now)


def user_agent(contact: str | None) -> str:
    """``bv-triage/VERSION (+CONTACT)``: site owners see who is crawling and how to reach them. Without a
    contact the project's name is all they get (the operator sets one: see ``pipeline.settings.contact``)."""
    contact = (contact or "").strip()
    return f"bv-triage/{__version__} (+{contact})" if contact else f"bv-triage/{__version__}"


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class _Origin:
    """Scheme, host and port: what robots.txt, the allowed sites and the address check are kept per."""

    scheme: str
    host: str
    port: int

    @property
    def netloc(self) -> str:
        """The host (bracketed if IPv6), with the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def robots_url(self) -> str:
        return f"{self.scheme}://{self.netloc}/robots.txt"


@dataclass(frozen=True)
class _Redirect:
    location: str


@dataclass(frozen=True)
class _Retry:
    """A transient fault worth another attempt: a 429 or 5xx status, or a network error (``error``)."""

    status: int | None
    retry_after: float | None
    error: ScrapeError | None = None


def _origin(url: str) -> _Origin:
    """Scheme, host and port of an http(s) URL; ForbiddenHost for anything else."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as e:
        raise ForbiddenHost(f"{url}: invalid port") from e
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ForbiddenHost(f"{url}: only http(s) URLs with a host can be fetched")
    if parts.username is not None or parts.password is not None:
        raise ForbiddenHost(f"{url}: URLs with credentials are not fetched")
    return _Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


class PoliteClient:
    """An ``httpx.Client`` that only fetches what a careful crawler of council sites should.

    ``allowed`` lists the source register's sites, as base URLs (``https://democracy.example.gov.uk``)
    or bare host names (https assumed). A URL may be fetched over its site's configured scheme,
    or over https when the site is configured for http; an ``http://`` link to an https site is
    upgraded. ``allow_private_hosts`` lifts the public-address check (tests on 127.0.0.1).
    Thread-safe: scrapers in several threads may share one client and its rate limit.
    """

    def __init__(
        self,
        allowed: Iterable[str],
        *,
        contact: str | None = None,
        limits: FetchLimits | None = None,
        limiter: HostRateLimiter | None = None,
        allow_private_hosts: bool = False,
    ) -> None:
        self.limits = limits or FetchLimits()
        self.limiter = limiter or HostRateLimiter(1.0)
        self.allow_private_hosts = allow_private_hosts
        self.user_agent = user_agent(contact)
        self._allowed = {_allowed_origin(entry) for entry in allowed}
        self._robots: dict[_Origin, urllib.robotparser.RobotFileParser] = {}
        self._robots_locks: dict[_Origin, threading.Lock] = {}
        self._robots_guard = threading.Lock()
        self._http = httpx.Client(
            headers={"User-Agent": self.user_agent},
            follow_redirects=False,
            trust_env=False,  # no proxies or netrc credentials picked up from the environment
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def canonical_url(self, url: str) -> str:
        """The URL as it would be fetched (fragment dropped, http upgraded); ForbiddenHost if not allowed."""
        origin = _origin(url)
        if origin not in self._allowed:
            upgraded = _Origin("https", origin.host, 443)
            if origin.scheme == "http" and origin.port == 80 and upgraded in self._allowed:
                origin = upgraded
            elif not (
                origin.scheme == "https" and origin.port == 443 and _Origin("http", origin.host, 80) in self._allowed
            ):
                raise ForbiddenHost(f"{url}: host {origin.host} is not in the source register")
        parts = urlsplit(url)
        return urlunsplit(
            (origin.scheme, origin.netloc, _quote_path(parts.path) or "/", _quote_query(parts.query), "")
        )

    def allows(self, url: str) -> bool:
        """Whether ``url`` is on an allowed host; scrapers use it to drop links to other sites."""
        try:
            self.canonical_url(url)
        except ForbiddenHost:
            return False
        return True

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch ``url`` (conditionally when ``etag``/``last_modified`` are given from an earlier fetch).

        Raises ForbiddenHost, DisallowedByRobots, FetchTimeout, TooLarge or FetchFailed.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.limits.total_timeout
        return self._fetch(url, headers, deadline, max_bytes=self.limits.max_bytes, check_robots=True)

    def _fetch(
        self, url: str, headers: dict[str, str], deadline: float, *, max_bytes: int, check_robots: bool
    ) -> FetchResult:
        current = self.canonical_url(url)
        for _ in range(self.limits.max_redirects + 1):
            self._check_address(_origin(current))
            if check_robots:
                self._check_robots(current)
            outcome = self._request_with_retries(current, headers, deadline, max_bytes)
            if isinstance(outcome, FetchResult):
                return outcome
            target = urljoin(current, outcome.location)
            try:
                current = self.canonical_url(target)
            except ForbiddenHost as e:
                raise ForbiddenHost(f"{current} redirects to {target}, which is not in the source register") from e
        raise FetchFailed(f"{url}: more than {self.limits.max_redirects} redirects")

    def _request_with_retries(
        self, url: str, headers: dict[str, str], deadline: float, max_bytes: int
    ) -> FetchResult | _Redirect:
        """Send, retrying transient faults only (429, 5xx, connect errors, timeouts) with backoff."""
        origin = _origin(url)
        for attempt in range(self.limits.max_retries + 1):
            self.limiter.wait(origin.host)
            outcome = self._send(url, headers, deadline, max_bytes)
            if not isinstance(outcome, _Retry):
                return outcome
            if attempt == self.limits.max_retries:
                break
            what = f"HTTP {outcome.status}" if outcome.error is None else outcome.error.reason.replace("_", " ")
            if outcome.retry_after is not None and outcome.retry_after > self.limits.max_wait:
                raise FetchFailed(
                    f"{url}: HTTP {outcome.status}, server asks to retry after {outcome.retry_after:.0f}s "
                    f"(more than the {self.limits.max_wait:.0f}s we wait); try again later",
                    status=outcome.status,
                    retry_after=outcome.retry_after,
                )
            delay = outcome.retry_after
            if delay is None:
                delay = min(self.limits.backoff_base * 2**attempt, self.limits.max_wait)
            if time.monotonic() + delay > deadline:
                if outcome.error is not None:
                    raise outcome.error
                raise FetchTimeout(f"{url}: HTTP {outcome.status}; retrying would pass the total time limit")
            log.info("%s from %s; retrying in %.1fs", what, url, delay)
            self.limiter.defer(origin.host, delay)
        if outcome.error is not None:
            raise outcome.error
        raise FetchFailed(
            f"{url}: HTTP {outcome.status} after {self.limits.max_retries + 1} attempts", status=outcome.status
        )

    def _send(
        self, url: str, headers: dict[str, str], deadline: float, max_bytes: int
    ) -> FetchResult | _Redirect | _Retry:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(f"{url}: total time limit of {self.limits.total_timeout}s reached")
        timeout = httpx.Timeout(
            min(self.limits.read_timeout, remaining), connect=min(self.limits.connect_timeout, remaining)
        )
        try:
            with self._http.stream("GET", url, headers=headers, timeout=timeout) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchFailed(f"{url}: HTTP {status} redirect without a Location", status=status)
                    return _Redirect(location)
                if status == 429 or status >= 500:
                    return _Retry(status, retry_after_seconds(response.headers.get("retry-after")))
                if status != 304 and not 200 <= status < 300:
                    raise FetchFailed(f"{url}: HTTP {status}", status=status)
                content = None if status == 304 else _read_body(response, url, deadline, max_bytes)
        except httpx.TimeoutException as e:
            error = FetchTimeout(self._timeout_message(url, e, deadline))
            error.__cause__ = e
            if time.monotonic() >= deadline - 0.05:
                raise error from e
            return _Retry(None, None, error)
        except httpx.RequestError as e:
            if _is_tls_error(e):
                raise FetchFailed(f"{url}: TLS certificate or handshake failed: {e}", reason="tls_error") from e
            error = FetchFailed(f"{url}: {type(e).__name__}: {e}")
            error.__cause__ = e
            return _Retry(None, None, error)
        not_modified = status == 304
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if not_modified:  # a 304 may omit validators; the caller's still hold
            etag = etag or headers.get("If-None-Match")
            last_modified = last_modified or headers.get("If-Modified-Since")
        return FetchResult(
            url=url,
            status=status,
            content=content,
            etag=etag,
            last_modified=last_modified,
            content_type=response.headers.get("content-type"),
            not_modified=not_modified,
        )

    def _timeout_message(self, url: str, error: httpx.TimeoutException, deadline: float) -> str:
        if time.monotonic() >= deadline - 0.05:
            return f"{url}: total time limit of {self.limits.total_timeout}s reached; download cut off"
        if isinstance(error, httpx.ConnectTimeout):
            return f"{url}: could not connect within {self.limits.connect_timeout}s"
        if isinstance(error, httpx.ReadTimeout):
            return f"{url}: server sent nothing for {self.limits.read_timeout}s; download cut off"
        return f"{url}: timed out ({type(error).__name__})"

    def _check_address(self, origin: _Origin) -> None:
        """Refuse hosts that resolve to private, loopback, link-local or reserved addresses."""
        if self.allow_private_hosts:
            return
        try:
            infos = socket.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            raise FetchFailed(f"cannot resolve host {origin.host}: {e}") from e
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            if not address.is_global or address.is_multicast:
                raise ForbiddenHost(
                    f"host {origin.host} resolves to {address}, which is not a public address; "
                    "only public sites are fetched (--allow-private-hosts lifts this for tests and intranets)"
                )

    def _check_robots(self, url: str) -> None:
        origin = _origin(url)
        parser = self._robots_for(origin)
        if not parser.can_fetch(self.user_agent, url):
            raise DisallowedByRobots(f"{url}: disallowed by {origin.robots_url}")

    def _robots_for(self, origin: _Origin) -> urllib.robotparser.RobotFileParser:
        """The origin's robots.txt, fetched once and cached (RFC 9309 rules for failures)."""
        with self._robots_guard:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._robots:
                self._robots[origin] = self._load_robots(origin)
            return self._robots[origin]

    def _load_robots(self, origin: _Origin) -> urllib.robotparser.RobotFileParser:
        url = origin.robots_url
        parser = urllib.robotparser.RobotFileParser(url)
        deadline = time.monotonic() + self.limits.total_timeout
        try:
            result = self._fetch(url, {}, deadline, max_bytes=ROBOTS_MAX_BYTES, check_robots=False)
        except FetchFailed as e:
            if e.status is None:
                raise  # the site itself is unreachable: say so, and ask again next time
            if 400 <= e.status < 500:
                parser.allow_all = True  # no robots.txt: everything allowed
            else:
                log.warning("robots.txt unreachable (%s); treating %s as disallowing everything", e, url)
                parser.disallow_all = True
            return parser
        except FetchTimeout:
            raise
        except TooLarge as e:
            log.warning("robots.txt unreadable (%s); treating %s as disallowing everything", e, url)
            parser.disallow_all = True
            return parser
        except ForbiddenHost as e:
            log.warning("robots.txt redirects off the register (%s); treating it as absent", e)
            parser.allow_all = True
            return parser
        parser.parse((result.content or b"").decode("utf-8", errors="replace").splitlines())
        parser.modified()  # can_fetch() refuses everything until the parser is marked as read
        delay = parser.crawl_delay(self.user_agent)
        if delay:
            self.limiter.set_interval(origin.host, float(delay))
        return parser


def _is_tls_error(error: BaseException) -> bool:
    """Whether a request failed in TLS (a bad certificate chain is not transient, unlike a refused connection)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def absolute_url(base: str, href: str) -> str:
    """``href`` resolved against ``base``, fragment dropped, raw spaces (common in council file names) escaped."""
    parts = urlsplit(urljoin(base, href.strip()))
    return urlunsplit((parts.scheme, parts.netloc, _quote_path(parts.path), _quote_query(parts.query), ""))


def _quote_path(path: str) -> str:
    return quote(path, safe="/%:@!$&'()*+,;=-._~")


def _quote_query(query: str) -> str:
    return quote(query, safe="=&%/:+,;@!$'()*-._~?")


def _allowed_origin(entry: str) -> _Origin:
    """An allow-list entry (base URL or bare host name) as an origin."""
    entry = entry.strip()
    try:
        return _origin(entry if "://" in entry else f"https://{entry}")
    except ForbiddenHost as e:
        raise ScrapeError(f"invalid allowed site {entry!r}: give a base URL such as https://host") from e


def _read_body(response: httpx.Response, url: str, deadline: float, max_bytes: int) -> bytes:
    """The body, cut off at ``max_bytes`` (declared or streamed) or at the deadline."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"{url}: declares {declared} bytes, over the {max_bytes}-byte limit")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(f"{url}: more than {max_bytes} bytes; download cut off")
        if time.monotonic() > deadline:
            raise FetchTimeout(f"{url}: download passed the total time limit; cut off")
    return bytes(body)
