"""Discover committee papers on ModernGov sites.

The ``mgWebService.asmx`` XML service is tried first: it lists every agenda-item
attachment in three kinds of call. Councils can switch it off, so the public pages
(``mgListCommittees.aspx``, ``ieListMeetings.aspx``, ``ieListDocuments.aspx``) are the
fallback. The parsers (``service``, ``pages``) take bytes and return plain dataclasses, so they
are tested without a server, on fixtures in ``tests/fixtures/moderngov/`` written in the real
formats with their quirks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from urllib.parse import urlencode

from pipeline.collect.http import PoliteClient
from pipeline.collect.moderngov.pages import parse_committee_list, parse_meeting_list, parse_meeting_page, query
from pipeline.collect.moderngov.service import (
    Committee,
    Meeting,
    parse_committees,
    parse_meeting,
    parse_meetings,
)
from pipeline.collect.refs import DocumentRef, Failure, backoff_key
from pipeline.errors import BackingOff, FetchFailed, FetchTimeout, ForbiddenHost, ScrapeError, SourceFormatError

log = logging.getLogger(__name__)
DAYS_BACK = 28
DAYS_FORWARD = 7
MAX_LIST_PAGES = 20  # "Earlier meetings" pages followed per committee
PACK_CODE = "10"  # ``documents/g{id}/Public reports pack ….pdf?T=10``


class CommitteeFilter:
    """Which committees to scrape. Each entry is a committee id or a case-insensitive title regex."""

    def __init__(self, include: Iterable[str | int] | None = None, exclude: Iterable[str | int] | None = None) -> None:
        self._include = None if include is None else [_matcher(entry) for entry in include]
        self._exclude = [_matcher(entry) for entry in exclude or ()]

    def __call__(self, committee: Committee) -> bool:
        if self._include is not None and not any(match(committee) for match in self._include):
            return False
        return not any(match(committee) for match in self._exclude)


def _matcher(entry: str | int) -> Callable[[Committee], bool]:
    text = str(entry).strip()
    if text.isdigit():
        return lambda committee: committee.id == int(text)
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error as e:
        raise ScrapeError(f"invalid committee pattern {text!r}: {e}") from e
    return lambda committee: pattern.search(committee.title) is not None


class ModernGovScraper:
    """Finds the documents of one ModernGov site's meetings between ``since`` and ``until``.

    ``base_url`` is the folder holding ``mgWebService.asmx`` (``https://democracy.example.gov.uk``).
    The window defaults to 28 days back and 7 forward; a backfill is an earlier ``since``.
    Cancelled meetings and restricted items are skipped, and so are expired and deleted
    committees unless ``include_expired``. A page or answer that fails (a defunct committee's
    404, malformed XML, a timeout) is yielded as a ``Failure`` at its level and the rest goes on;
    ``skip`` names URLs not to ask for now (failing repeatedly, backing off) and ``answered`` hears
    of each one that answered.
    """

    def __init__(
        self,
        client: PoliteClient,
        base_url: str,
        *,
        committees_include: Iterable[str | int] | None = None,
        committees_exclude: Iterable[str | int] | None = None,
        since: date | None = None,
        until: date | None = None,
        include_expired: bool = False,
        skip: Callable[[str], bool] | None = None,
        answered: Callable[[str], None] | None = None,
    ) -> None:
        today = date.today()
        self.client = client
        self.base_url = client.canonical_url(base_url.rstrip("/") + "/")
        self.since = since or today - timedelta(days=DAYS_BACK)
        self.until = until or today + timedelta(days=DAYS_FORWARD)
        if self.since > self.until:
            raise ScrapeError(f"since ({self.since}) is after until ({self.until})")
        self.include_expired = include_expired
        self._wanted = CommitteeFilter(committees_include, committees_exclude)
        self._skip = skip or (lambda url: False)
        self._answered = answered or (lambda url: None)

    def discover(self) -> Iterator[DocumentRef | Failure]:
        """Each document once, web service first, HTML pages when the service is off; failures as they happen."""
        url = self._service_url("GetCommittees", lDays=0)
        try:
            committees = parse_committees(self._get(url))
        except ScrapeError as e:
            if _site_down(e):
                yield Failure.of(url, "committees", e)  # the site is unreachable, not just its web service
                return
            log.info("ModernGov web service unavailable at %s (%s); reading the HTML pages", self.base_url, e)
            found = self._discover_pages()
        else:
            found = self._discover_service(committees)
        seen: set[str] = set()
        for item in found:
            if isinstance(item, Failure):
                yield item
            elif item.url not in seen:
                seen.add(item.url)
                yield item

    def _discover_service(self, committees: list[Committee]) -> Iterator[DocumentRef | Failure]:
        for committee in self._selected(committees):
            url = self._service_url("GetMeetings", lCommitteeId=committee.id, sFromDate=self.since.isoformat(),
                                    sToDate=self.until.isoformat())  # ISO dates parse on any server culture
            try:
                meetings = parse_meetings(self._get(url))
            except ScrapeError as e:
                yield Failure.of(url, "meetings", e)
                continue
            for meeting in self._in_window(meetings, committee):
                url = self._service_url("GetMeeting", lMeetingId=meeting.id)
                try:
                    detail = parse_meeting(self._get(url))
                except ScrapeError as e:
                    yield Failure.of(url, "meeting", e)
                    continue
                if detail.cancelled:
                    continue
                for item in detail.items:
                    for doc in item.documents:
                        if (ref := self._ref(doc, committee, meeting.id, detail.date)) is not None:
                            yield ref

    def _discover_pages(self) -> Iterator[DocumentRef | Failure]:
        try:
            committees = self._page_committees()
        except ScrapeError as e:
            yield Failure.of(self.base_url + "mgListCommittees.aspx?bcr=1", "committees", e)
            return
        for committee in self._selected(committees):
            for meeting in self._page_meetings(committee):
                if isinstance(meeting, Failure):
                    yield meeting
                elif meeting.url is not None and meeting in self._in_window([meeting], committee):
                    yield from self._meeting_page(committee, meeting)

    def _meeting_page(self, committee: Committee, meeting: Meeting) -> Iterator[DocumentRef | Failure]:
        """The meeting's documents, its reports pack after the separate reports (see ``DocumentRef.pack``)."""
        url = str(meeting.url)
        if not self.client.allows(url):
            return
        try:
            page = parse_meeting_page(self._get(url), url)
        except ScrapeError as e:
            yield Failure.of(url, "meeting", e)
            return
        if page.cancelled:
            return
        refs = [ref for doc in page.documents if (ref := self._ref(doc, committee, meeting.id, meeting.date))]
        yield from sorted(refs, key=lambda ref: ref.pack)

    def _service_url(self, operation: str, **params: object) -> str:
        return f"{self.base_url}mgWebService.asmx/{operation}?{urlencode(params)}"

    def _get(self, url: str) -> bytes:
        """A listing page or service answer; ``skip`` and ``answered`` see the URL's back-off key."""
        if self._skip(backoff_key(url)):
            raise BackingOff(f"{url}: failed repeatedly; not asked again until its back-off runs out")
        content = self.client.get(url).content or b""
        self._answered(backoff_key(url))
        return content

    def _page_committees(self) -> list[Committee]:
        """mgListCommittees, else mgCommitteeStructure; the last error when neither lists a committee."""
        error: ScrapeError = SourceFormatError(
            f"{self.base_url}: no committee list found on mgListCommittees or mgCommitteeStructure")
        for page in ("mgListCommittees.aspx?bcr=1", "mgCommitteeStructure.aspx"):
            url = self.base_url + page
            try:
                committees = parse_committee_list(self._get(url), url)
            except ScrapeError as e:
                if _site_down(e):
                    raise
                error = e
                continue
            if committees:
                return committees
        raise error

    def _page_meetings(self, committee: Committee) -> Iterator[Meeting | Failure]:
        """The committee's meetings, following "Earlier meetings" until the window's start is passed."""
        url: str | None = f"{self.base_url}ieListMeetings.aspx?CommitteeId={committee.id}"
        visited: set[str] = set()
        while url and url not in visited and len(visited) < MAX_LIST_PAGES:
            visited.add(url)
            try:
                page = parse_meeting_list(self._get(url), url, committee)
            except ScrapeError as e:
                yield Failure.of(url, "meetings", e)
                return
            yield from page.meetings
            if not page.meetings or min(m.date for m in page.meetings) < self.since:
                return
            url = page.earlier_url if page.earlier_url and self.client.allows(page.earlier_url) else None

    def _selected(self, committees: list[Committee]) -> Iterator[Committee]:
        for committee in committees:
            if (committee.deleted or committee.expired) and not self.include_expired:
                continue
            if self._wanted(committee):
                yield committee

    def _in_window(self, meetings: Iterable[Meeting], committee: Committee) -> Iterator[Meeting]:
        """Meetings of this committee inside the window; some servers ignore the service's date parameters."""
        for meeting in meetings:
            in_window = self.since <= meeting.date <= self.until
            if meeting.committee_id == committee.id and in_window and not meeting.cancelled:
                yield meeting

    def _ref(
        self, doc: DocumentRef, committee: Committee, meeting_id: int, meeting_date: date
    ) -> DocumentRef | None:
        """The document as a ref, or None when its URL is on another host (links elsewhere are never fetched)."""
        try:
            url = self.client.canonical_url(doc.url)
        except ForbiddenHost:
            log.info("skipping %s: not on an allowed host", doc.url)
            return None
        return replace(doc, url=url, committee_id=committee.id, committee=committee.title, meeting_id=meeting_id,
                       meeting_date=meeting_date, pack=query(url).get("t") == PACK_CODE)


def _site_down(error: ScrapeError) -> bool:
    """Whether an error says the whole site is out of reach (network, TLS, timeout, refused address)."""
    return isinstance(error, FetchTimeout | ForbiddenHost) or (
        isinstance(error, FetchFailed) and error.status is None)
