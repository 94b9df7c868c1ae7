"""What a discoverer finds on a source: a document's URL with the meeting context the URL alone loses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
