"""What a discoverer finds on a source: a document's URL with the meeting context the URL alone loses, or a
``Failure`` where a page, answer or document could not be had."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipeline.errors import ScrapeError


@dataclass(frozen=True)
class DocumentRef:
    """A document found on a source, with the meeting context that the URL alone loses.

    Committee and meeting fields are None for documents found on plain listing pages;
    ``agenda_item`` and ``attachment_id`` are None for meeting-level packs. A ModernGov page or answer
    gives what it holds, and the scraper fills in the meeting it was read for.
    """

    url: str
    title: str
    committee_id: int | None = None
    committee: str | None = None
    meeting_id: int | None = None
    meeting_date: date | None = None
    agenda_item: str | None = None
    attachment_id: int | None = None
    pack: bool = False  # a meeting's public reports pack (``?T=10``): the agenda items' reports in one file


LEVELS = ("committees", "meetings", "meeting", "listing", "document")
SITE_LEVELS = frozenset({"committees", "listing"})  # nothing of the source can be found without these
_WINDOW_PARAMETERS = frozenset({"sfromdate", "stodate"})


def backoff_key(url: str) -> str:
    """The URL a failure streak is kept under: without the rolling date window that GetMeetings carries,
    so a committee's meeting list is the same URL from one night to the next."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in _WINDOW_PARAMETERS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


@dataclass(frozen=True)
class Failure:
    """Something a source did not give: the URL, the level it was at (``LEVELS``), the error's reason code
    and message, and the HTTP status when there was one. The scrape records it and goes on."""

    url: str
    level: str
    reason: str
    message: str
    status: int | None = None

    @classmethod
    def of(cls, url: str, level: str, error: ScrapeError) -> Failure:
        return cls(url, level, error.reason, str(error), getattr(error, "status", None))
