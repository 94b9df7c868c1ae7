"""ModernGov's ``mgWebService.asmx`` XML answers (GetCommittees, GetMeetings, GetMeeting), parsed into dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import lxml.html
from lxml import etree

from pipeline.collect.refs import DocumentRef
from pipeline.errors import SourceFormatError
from pipeline.text import squash_space


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
class AgendaItem:
    id: int | None
    number: str | None
    title: str
    text: str
    documents: tuple[DocumentRef, ...]  # as the answer gives them; the scraper adds the meeting's ids


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
        title = squash_space(_xml_text(node, "agendaitemtitle") or "")
        documents = tuple(
            DocumentRef(
                url=_xml_text(doc, "url") or "",
                title=squash_space(_xml_text(doc, "title") or ""),
                attachment_id=_xml_optional_int(doc, "attachmentid"),
                agenda_item=squash_space(_xml_text(doc, "ownertitle") or title),
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
    return squash_space(lxml.html.fragment_fromstring(markup, create_parent="div").text_content())
