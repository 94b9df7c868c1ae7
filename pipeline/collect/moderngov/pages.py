"""ModernGov's public HTML pages (committee list, meeting list, meeting documents): the fallback when the
web service is off."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from bs4 import BeautifulSoup, Tag

from pipeline.collect.http import absolute_url
from pipeline.collect.moderngov.service import Committee, Meeting
from pipeline.collect.refs import DocumentRef
from pipeline.errors import SourceFormatError
from pipeline.text import squash_space

_ATTACHMENT = re.compile(r"/documents/s(\d+)/", re.IGNORECASE)
_LIST_DATE = re.compile(r"(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{4})")
_CANCELLED_TITLE = re.compile(r",\s*CANCELLED\s*$")


@dataclass(frozen=True)
class MeetingListPage:
    meetings: tuple[Meeting, ...]
    earlier_url: str | None


@dataclass(frozen=True)
class MeetingPage:
    """An ieListDocuments page: meeting packs first, then each item's documents."""

    cancelled: bool
    documents: tuple[DocumentRef, ...]


def parse_committee_list(html: bytes, page_url: str) -> list[Committee]:
    """mgListCommittees / mgCommitteeStructure: ``h2.mgSectionTitle`` categories over ``ul.mgBulletList`` links."""
    soup = BeautifulSoup(html, "lxml")
    scope = soup.select_one("div.mgContent") or soup
    committees: dict[int, Committee] = {}
    for link in scope.select("ul.mgBulletList a[href]"):
        found = query(absolute_url(page_url, str(link["href"])))
        committee_id = found.get("id") or found.get("committeeid") or found.get("cid")
        if not committee_id or not committee_id.isdigit():
            continue
        heading = link.find_previous("h2", class_="mgSectionTitle")
        committees.setdefault(
            int(committee_id),
            Committee(
                id=int(committee_id),
                title=squash_space(link.get_text()),
                category=squash_space(heading.get_text()) if heading else None,
            ),
        )
    return list(committees.values())


def parse_meeting_list(html: bytes, page_url: str, committee: Committee) -> MeetingListPage:
    """ieListMeetings: ``a.mgMeetingTableLnk`` per meeting ("15 Jun 2026 7:30 pm"), status after the link."""
    soup = BeautifulSoup(html, "lxml")
    meetings = []
    for link in soup.select("a[href]"):
        url = absolute_url(page_url, str(link["href"]))
        meeting_id = query(url).get("mid")
        if "ielistdocuments.aspx" not in url.lower() or not meeting_id or not meeting_id.isdigit():
            continue
        found = _LIST_DATE.search(link.get_text(" ").replace("\xa0", " "))
        if not found:
            raise SourceFormatError(f"{page_url}: meeting link without a date: {link.get_text()!r}")
        row = link.parent.get_text() if link.parent else ""
        status = squash_space(row.replace(link.get_text(), "", 1)).lstrip("- ").strip()
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
        DocumentRef(url=url, title=_link_text(link))
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
                DocumentRef(
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
    return squash_space(
        "".join(
            text
            for text in node.find_all(string=True)
            if not any(
                parent.name == "span" and {"mgFileSize", "mgHide"} & set(parent.get("class") or [])
                for parent in text.parents
            )
        )
    )


def query(url: str) -> dict[str, str]:
    """Query parameters with lowercased names (sites mix ``CId``, ``CommitteeId`` and ``ID``)."""
    return {key.lower(): value for key, value in parse_qsl(urlsplit(url).query)}
