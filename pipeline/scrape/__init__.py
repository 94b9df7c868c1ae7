"""Scraping: discover council documents on ModernGov sites and plain listing pages, fetch them politely.

``http`` holds the polite client, ``moderngov`` and ``listing`` the discoverers, ``blobs``
the content-addressed store of downloaded bytes. Discoverers only yield ``DocumentRef``s;
downloading and storing them is the caller's step, so a run can skip what it already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipeline.scrape.errors import (
    BlobNotFound,
    DisallowedByRobots,
    FetchFailed,
    FetchTimeout,
    ForbiddenHost,
    InvalidBlobId,
    ScrapeError,
    SourceFormatError,
    TooLarge,
)

__all__ = [
    "BlobNotFound",
    "DisallowedByRobots",
    "DocumentRef",
    "FetchFailed",
    "FetchTimeout",
    "ForbiddenHost",
    "InvalidBlobId",
    "ScrapeError",
    "SourceFormatError",
    "TooLarge",
]


@dataclass(frozen=True)
class DocumentRef:
    """A document found on a source, with the meeting context that the URL alone loses.

    Committee and meeting fields are None for documents found on plain listing pages;
    ``agenda_item`` and ``attachment_id`` are None for meeting-level packs.
    """

    url: str
    title: str
    committee_id: int | None = None
    committee: str | None = None
    meeting_id: int | None = None
    meeting_date: date | None = None
    agenda_item: str | None = None
    attachment_id: int | None = None
