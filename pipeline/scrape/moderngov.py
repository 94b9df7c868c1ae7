"""Discover committee papers on ModernGov sites.

The ``mgWebService.asmx`` XML service is tried first: it lists every agenda-item
attachment in three kinds of call. Councils can switch it off, so the public pages
(``mgListCommittees.aspx``, ``ieListMeetings.aspx``, ``ieListDocuments.aspx``) are the
fallback. The parsers take bytes and return plain dataclasses, so they are tested
without a server; the real formats and their quirks are described in
``/work/shared/moderngov/FORMAT.md``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import lxml.html
from bs4 import BeautifulSoup, Tag
from lxml import etree

from pipeline.scrape import DocumentRef
from pipeline.scrape.errors import DisallowedByRobots, FetchFailed, ForbiddenHost, ScrapeError, SourceFormatError
from pipeline.scrape.http import PoliteClient, absolute_url

log = logging.getLogger(__name__)

DAYS_BACK = 28
DAYS_FORWARD = 7
MAX_LIST_PAGES = 20  # "Earlier meetings" pages followed per committee
_ATTACHMENT = re.compile(r"/documents/s(\d+)/", re.IGNORECASE)
_LIST_DATE = re.compile(r"(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{4})")
_CANCELLED_TITLE = re.compile(r",\s*CANCELLED\s*$")


@dataclass(frozen=True)
class Committee:
    id: int
    title: str
    category: str | None = None
    expired: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class Meeting:
    """A meeting as listed; ``url`` is its ieListDocuments page (HTML pages only)."""

    id: int
    committee_id: int
    committee: str
    date: date
    status: str | None = None
    url: str | None = None

    @property
    def cancelled(self) -> bool:
        return (self.status or "").strip().lower() == "cancelled"


@dataclass(frozen=True)
class LinkedDocument:
    """A document linked from a meeting: an agenda-item attachment or (HTML pages) a meeting pack."""

    url: str
    title: str
    attachment_id: int | None = None
    agenda_item: str | None = None
    committee: str | None = None
    meeting_date: date | None = None


@dataclass(frozen=True)
class AgendaItem:
    id: int | None
    number: str | None
    title: str
    text: str
    documents: tuple[LinkedDocument, ...]


@dataclass(frozen=True)
class MeetingDetail:
    """GetMeeting's answer: the meeting and its published agenda items."""

    id: int
    date: date
    status: str | None
    items: tuple[AgendaItem, ...]

    @property
    def cancelled(self) -> bool:
        return (self.status or "").strip().lower() == "cancelled"


@dataclass(frozen=True)
class MeetingListPage:
    meetings: tuple[Meeting, ...]
    earlier_url: str | None


@dataclass(frozen=True)
class MeetingPage:
    """An ieListDocuments page: meeting packs first, then each item's documents."""

    cancelled: bool
    documents: tuple[LinkedDocument, ...]


# --- web service XML -------------------------------------------------------------------


def parse_committees(data: bytes) -> list[Committee]:
    """GetCommittees: ``<committees>`` with one ``<committee>`` per body."""
    root = _xml(data, "committees")
    return [
        Committee(
            id=_xml_int(node, "committeeid"),
            title=_xml_text(node, "committeetitle") or "",
            category=_xml_text(node, "committeecategory"),
            expired=_xml_bool(node, "committeeexpired"),
            deleted=_xml_bool(node, "committeedeleted"),
        )
        for node in root.iterfind("committee")
    ]


def parse_meetings(data: bytes) -> list[Meeting]:
    """GetMeetings: ``<getmeetings>``, meetings grouped under their committee."""
    root = _xml(data, "getmeetings")
    meetings = []
    for committee in root.iterfind("committee"):
        committee_id = _xml_int(committee, "committeeid")
        title = _xml_text(committee, "committeetitle") or ""
        meetings.extend(
            Meeting(
                id=_xml_int(node, "meetingid"),
                committee_id=committee_id,
                committee=title,
                date=_xml_date(node, "meetingdate"),
                status=_xml_text(node, "meetingstatus"),
            )
            for node in committee.iterfind("committeemeetings/meeting")
        )
    return meetings


def parse_meeting(data: bytes) -> MeetingDetail:
    """GetMeeting: root ``<meeting>``; restricted (exempt) items and attachments are left out."""
    root = _xml(data, "meeting")
    meeting_date = _xml_date(root, "meetingdate")
    items = []
    for node in root.iterfind("agendaitems/agendaitem"):
        if _xml_bool(node, "isrestricted"):
            continue
        title = _clean(_xml_text(node, "agendaitemtitle") or "")
        documents = tuple(
            LinkedDocument(
                url=_xml_text(doc, "url") or "",
                title=_clean(_xml_text(doc, "title") or ""),
                attachment_id=_xml_optional_int(doc, "attachmentid"),
                agenda_item=_clean(_xml_text(doc, "ownertitle") or title),
                committee=_xml_text(doc, "committeetitle"),
                meeting_date=_xml_date(doc, "meetingdate") if _xml_text(doc, "meetingdate") else meeting_date,
            )
            for doc in node.iterfind("linkeddocuments/linkeddoc")
            if not _xml_bool(doc, "isrestricted") and _xml_text(doc, "url")
        )
        items.append(
            AgendaItem(
                id=_xml_optional_int(node, "agendaitemid"),
                number=_xml_text(node, "fulldisplaynumberformat"),
                title=title,
                text=_html_to_text(_xml_text(node, "agendatext") or ""),
                documents=documents,
            )
        )
    return MeetingDetail(
        id=_xml_int(root, "meetingid"),
        date=meeting_date,
        status=_xml_text(root, "meetingstatus"),
        items=tuple(items),
    )


def _xml(data: bytes, root_tag: str) -> etree._Element:
    """Parse a service response; an HTML error page or another root means the service is not answering."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise SourceFormatError(f"web service answer is not XML: {e}") from e
    if root.tag != root_tag:
        raise SourceFormatError(f"web service answer has root <{root.tag}>, expected <{root_tag}>")
    return root


def _xml_text(node: etree._Element, path: str) -> str | None:
    """Stripped text; None for absent or "empty" elements (which hold a newline and indent)."""
    child = node.find(path)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _xml_int(node: etree._Element, path: str) -> int:
    value = _xml_text(node, path)  # counts and ids may carry a leading space
    if value is None or not value.isdigit():
        raise SourceFormatError(f"<{node.tag}> has no numeric <{path}> (got {value!r})")
    return int(value)


def _xml_optional_int(node: etree._Element, path: str) -> int | None:
    value = _xml_text(node, path)
    return int(value) if value and value.isdigit() else None


def _xml_bool(node: etree._Element, path: str) -> bool:
    return (_xml_text(node, path) or "").lower() == "true"


def _xml_date(node: etree._Element, path: str) -> date:
    value = _xml_text(node, path)
    try:
        return datetime.strptime(value or "", "%d/%m/%Y").date()
    except ValueError as e:
        raise SourceFormatError(f"<{node.tag}> has no dd/mm/yyyy <{path}> (got {value!r})") from e


def _html_to_text(markup: str) -> str:
    """Plain text of the rich text the service sends as escaped HTML."""
    if not markup.strip():
        return ""
    return _clean(lxml.html.fragment_fromstring(markup, create_parent="div").text_content())


# --- HTML pages -------------------------------------------------------------------------


def parse_committee_list(html: bytes, page_url: str) -> list[Committee]:
    """mgListCommittees / mgCommitteeStructure: ``h2.mgSectionTitle`` categories over ``ul.mgBulletList`` links."""
    soup = BeautifulSoup(html, "lxml")
    scope = soup.select_one("div.mgContent") or soup
    committees: dict[int, Committee] = {}
    for link in scope.select("ul.mgBulletList a[href]"):
        query = _query(absolute_url(page_url, str(link["href"])))
        committee_id = query.get("id") or query.get("committeeid") or query.get("cid")
        if not committee_id or not committee_id.isdigit():
            continue
        heading = link.find_previous("h2", class_="mgSectionTitle")
        committees.setdefault(
            int(committee_id),
            Committee(
                id=int(committee_id),
                title=_clean(link.get_text()),
                category=_clean(heading.get_text()) if heading else None,
            ),
        )
    return list(committees.values())


def parse_meeting_list(html: bytes, page_url: str, committee: Committee) -> MeetingListPage:
    """ieListMeetings: ``a.mgMeetingTableLnk`` per meeting ("15 Jun 2026 7:30 pm"), status after the link."""
    soup = BeautifulSoup(html, "lxml")
    meetings = []
    for link in soup.select("a[href]"):
        url = absolute_url(page_url, str(link["href"]))
        meeting_id = _query(url).get("mid")
        if "ielistdocuments.aspx" not in url.lower() or not meeting_id or not meeting_id.isdigit():
            continue
        found = _LIST_DATE.search(link.get_text(" ").replace("\xa0", " "))
        if not found:
            raise SourceFormatError(f"{page_url}: meeting link without a date: {link.get_text()!r}")
        row = link.parent.get_text() if link.parent else ""
        status = _clean(row.replace(link.get_text(), "", 1)).lstrip("- ").strip()
        meetings.append(
            Meeting(
                id=int(meeting_id),
                committee_id=committee.id,
                committee=committee.title,
                date=datetime.strptime(" ".join(found.groups()), "%d %b %Y").date(),
                status=status or None,
                url=url,
            )
        )
    earlier = next(
        (link for link in soup.select("a[href]") if "act=earlier" in str(link["href"]).lower()),
        None,
    )
    return MeetingListPage(tuple(meetings), absolute_url(page_url, str(earlier["href"])) if earlier else None)


def parse_meeting_page(html: bytes, page_url: str) -> MeetingPage:
    """ieListDocuments: meeting packs in ``ul.mgActionList``, item documents in ``table.mgItemTable``."""
    soup = BeautifulSoup(html, "lxml")
    subtitle = soup.select_one(".mgSubTitleTxt")
    cancelled = bool(subtitle and _CANCELLED_TITLE.search(subtitle.get_text()))
    documents = [
        LinkedDocument(url=url, title=_link_text(link))
        for link, url in _document_links(soup.select("ul.mgActionList a[href]"), page_url)
    ]
    for row in soup.select("table.mgItemTable tr"):
        cells = row.find_all("td", recursive=False)
        if len(cells) < 2:
            continue
        heading = cells[1].select_one("p.mgAiTitleTxt")
        item = _link_text(heading) if heading else None
        for link, url in _document_links(cells[1].select("a[href]"), page_url):
            attachment = _ATTACHMENT.search(urlsplit(url).path)
            documents.append(
                LinkedDocument(
                    url=url,
                    title=_link_text(link),
                    attachment_id=int(attachment.group(1)) if attachment else None,
                    agenda_item=item,
                )
            )
    return MeetingPage(cancelled, tuple(documents))


def _document_links(links: Iterable[Tag], page_url: str) -> Iterator[tuple[Tag, str]]:
    """Links to stored files (``documents/sNNN/…`` or ``documents/gNNN/…``), not to other pages."""
    for link in links:
        url = absolute_url(page_url, str(link["href"]))
        if "/documents/" in urlsplit(url).path.lower():
            yield link, url


def _link_text(node: Tag) -> str:
    """Visible title of a link or heading, without the "PDF 99 KB" and hidden ", item 60." spans."""
    return _clean(
        "".join(
            text
            for text in node.find_all(string=True)
            if not any(
                parent.name == "span" and {"mgFileSize", "mgHide"} & set(parent.get("class") or [])
                for parent in text.parents
            )
        )
    )


def _query(url: str) -> dict[str, str]:
    """Query parameters with lowercased names (sites mix ``CId``, ``CommitteeId`` and ``ID``)."""
    return {key.lower(): value for key, value in parse_qsl(urlsplit(url).query)}


def _clean(text: str) -> str:
    return " ".join(text.split())


# --- scraper ----------------------------------------------------------------------------


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
    The window defaults to 28 days back and 7 forward; a backfill is an earlier ``since``
    (set ``include_expired`` too, so retired committees are read). Cancelled meetings are skipped.
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

    def discover(self) -> Iterator[DocumentRef]:
        """Each document once, web service first, HTML pages when the service is off."""
        try:
            committees = parse_committees(self._service("GetCommittees", lDays=0))
        except (FetchFailed, SourceFormatError, DisallowedByRobots) as e:
            if isinstance(e, FetchFailed) and e.status is None:
                raise  # the site is unreachable, not just its web service
            log.info("ModernGov web service unavailable at %s (%s); reading the HTML pages", self.base_url, e)
            refs = self._discover_pages()
        else:
            refs = self._discover_service(committees)
        seen: set[str] = set()
        for ref in refs:
            if ref.url not in seen:
                seen.add(ref.url)
                yield ref

    def _discover_service(self, committees: list[Committee]) -> Iterator[DocumentRef]:
        for committee in self._selected(committees):
            meetings = parse_meetings(
                self._service(
                    "GetMeetings",
                    lCommitteeId=committee.id,
                    sFromDate=self.since.isoformat(),  # ISO parses on any server culture
                    sToDate=self.until.isoformat(),
                )
            )
            for meeting in self._in_window(meetings, committee):
                detail = parse_meeting(self._service("GetMeeting", lMeetingId=meeting.id))
                if detail.cancelled:
                    continue
                for item in detail.items:
                    for doc in item.documents:
                        if (ref := self._ref(doc, committee, meeting.id, detail.date)) is not None:
                            yield ref

    def _discover_pages(self) -> Iterator[DocumentRef]:
        for committee in self._selected(self._page_committees()):
            for meeting in self._in_window(self._page_meetings(committee), committee):
                if meeting.url is None or not self.client.allows(meeting.url):
                    continue
                page = parse_meeting_page(self.client.get(meeting.url).content or b"", meeting.url)
                if page.cancelled:
                    continue
                for doc in page.documents:
                    if (ref := self._ref(doc, committee, meeting.id, meeting.date)) is not None:
                        yield ref

    def _service(self, operation: str, **params: object) -> bytes:
        url = f"{self.base_url}mgWebService.asmx/{operation}?{urlencode(params)}"
        return self.client.get(url).content or b""

    def _page_committees(self) -> list[Committee]:
        for page in ("mgListCommittees.aspx?bcr=1", "mgCommitteeStructure.aspx"):
            url = self.base_url + page
            try:
                committees = parse_committee_list(self.client.get(url).content or b"", url)
            except FetchFailed as e:
                if e.status != 404:
                    raise
                continue
            if committees:
                return committees
        raise SourceFormatError(f"{self.base_url}: no committee list found on mgListCommittees or mgCommitteeStructure")

    def _page_meetings(self, committee: Committee) -> Iterator[Meeting]:
        """The committee's meetings, following "Earlier meetings" until the window's start is passed."""
        url: str | None = f"{self.base_url}ieListMeetings.aspx?CommitteeId={committee.id}"
        visited: set[str] = set()
        while url and url not in visited and len(visited) < MAX_LIST_PAGES:
            visited.add(url)
            page = parse_meeting_list(self.client.get(url).content or b"", url, committee)
            yield from page.meetings
            if not page.meetings or min(m.date for m in page.meetings) < self.since:
                return
            url = page.earlier_url if page.earlier_url and self.client.allows(page.earlier_url) else None

    def _selected(self, committees: list[Committee]) -> Iterator[Committee]:
        for committee in committees:
            if committee.deleted or (committee.expired and not self.include_expired):
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
        self, doc: LinkedDocument, committee: Committee, meeting_id: int, meeting_date: date
    ) -> DocumentRef | None:
        """The document as a ref, or None when its URL is on another host (links elsewhere are never fetched)."""
        try:
            url = self.client.canonical_url(doc.url)
        except ForbiddenHost:
            log.info("skipping %s: not on an allowed host", doc.url)
            return None
        return DocumentRef(
            url=url,
            title=doc.title,
            committee_id=committee.id,
            committee=committee.title,
            meeting_id=meeting_id,
            meeting_date=meeting_date,
            agenda_item=doc.agenda_item,
            attachment_id=doc.attachment_id,
        )
