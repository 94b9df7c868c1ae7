"""The domain: the typed objects every stage passes on, and nothing that reads files, the network or a database.

Documents and their blocks and passages (extraction, segmentation), where a document comes from
(collecting), what was guessed about it, and what the classifier says about a passage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pipeline.errors import FailureReason
from pipeline.taxonomy import Entry


class BlockType(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"
    HEADER = "header"
    FOOTER = "footer"
    PAGE_NUMBER = "page_number"

    @property
    def is_furniture(self) -> bool:
        """Page furniture repeats on every page and is never evidence."""
        return self in (BlockType.HEADER, BlockType.FOOTER, BlockType.PAGE_NUMBER)

    @property
    def is_body(self) -> bool:
        return self in (BlockType.PARAGRAPH, BlockType.LIST_ITEM, BlockType.TABLE)


@dataclass
class Block:
    """A run of text of one type on one page. ``start``/``end`` index the document text."""

    type: BlockType
    text: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    start: int = 0
    end: int = 0
    ocr: bool = False
    level: int = 0  # heading depth (1 = top); 0 for non-headings


@dataclass(frozen=True)
class SkippedPage:
    """A page left out of a document that was otherwise read: ``reason`` is ``corrupt`` (it will not
    load) or ``too_large`` (more objects, glyphs or content than any real page)."""

    page: int
    reason: FailureReason
    detail: str


@dataclass
class ExtractedDocument:
    """The blocks of one document in reading order and the text they index into."""

    sha256: str
    format: str
    blocks: list[Block]
    pages: int | None = None
    title: str | None = None
    ocr_pages: list[int] = field(default_factory=list)  # pages read by OCR
    unread_pages: list[int] = field(default_factory=list)  # scanned pages left unread: no OCR available
    skipped_pages: list[SkippedPage] = field(default_factory=list)  # pages that would not load or cost too much

    @property
    def text(self) -> str:
        return DOCUMENT_BLOCK_SEPARATOR.join(b.text for b in self.blocks)


DOCUMENT_BLOCK_SEPARATOR = "\n\n"


def assign_offsets(blocks: list[Block]) -> list[Block]:
    """Set each block's offsets into the joined document text."""
    position = 0
    for block in blocks:
        block.start = position
        block.end = position + len(block.text)
        position = block.end + len(DOCUMENT_BLOCK_SEPARATOR)
    return blocks


@dataclass
class Passage:
    """A unit of evidence: one paragraph or list item, or a budget-sized part of one."""

    id: str
    document: str
    ordinal: int
    page: int | None
    heading: str
    block_type: BlockType
    start: int
    end: int
    text: str
    boilerplate: bool = False
    boilerplate_reason: str | None = None
    ocr: bool = False

    def as_record(self) -> dict[str, object]:
        return {
            "id": self.id,
            "page": self.page,
            "heading": self.heading,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "boilerplate": self.boilerplate,
            "boilerplate_reason": self.boilerplate_reason,
            "block_type": str(self.block_type),
            "ocr": self.ocr,
        }


# -- where documents come from ---------------------------------------------------------------------

DOCUMENT_KINDS = ("committee_report", "agenda", "minutes", "decision", "budget_report", "risk_register",
                  "audit_report", "inspection_report", "ombudsman_decision", "annual_governance_statement",
                  "peer_challenge", "other")
AUTHORITY_TYPES = ("county", "district", "unitary", "metropolitan_district", "london_borough", "city_corporation",
                   "parish", "combined_authority", "other")


@dataclass(frozen=True)
class Authority:
    slug: str
    name: str
    type: str = "other"
    region: str | None = None
    nation: str | None = None  # England, Wales ... (the national register)
    gss: str | None = None  # ONS/GSS code, e.g. E07000223


@dataclass(frozen=True)
class DocumentSource:
    path: Path
    authority: str
    kind: str | None = None
    date: str | None = None
    title: str | None = None
    url: str | None = None
    folder: Path | None = None  # the folder given to the run that it was found in: its bytes must lie inside

    @property
    def size(self) -> int:
        return self.path.stat().st_size


# -- what was guessed about a document -------------------------------------------------------------

@dataclass(frozen=True)
class Guess:
    value: str | None
    confidence: float


@dataclass(frozen=True)
class DocumentMetadata:
    title: Guess
    date: Guess
    kind: Guess


# -- what the classifier says about a passage --------------------------------------------------------

@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float  # ranking score, best first; for the evidence classifier the calibrated probability
    probability: float | None = None  # calibrated P(evidences this entry); on a flagged link, the flag probability
    reason: str = "similarity"  # "similarity", "model", or "tripwire:<rule>[:negated]"

    def as_record(self) -> dict[str, object]:
        return {"id": self.entry.id, "theme": self.entry.theme, "kind": self.entry.kind,
                "score": round(self.score, 4)}


@dataclass
class Prediction:
    matches: list[Match]  # best first, at most top_k
    theme: str | None  # None when the passage evidences no theme
    flagged: list[str]  # failure indicators evidenced at the calibrated thresholds (a subset of matches)
    evidence: list[Match]  # the links to store: matches judged evidence
    polarity: str | None = None  # "failure", "positive", "neutral"; None when not evidence
    evidence_probability: float | None = None
    failure_probability: float | None = None
    suppressed: str | None = None  # boilerplate / procedural reason: never evidence
    tripwires: list[str] = field(default_factory=list)  # reasons of the tripwires that fired
    flag_probability: float | None = None  # P(evidences a failure): decides the flag; every flagged link's probability


def passage_context(doc_kind: str | None, heading: str | None, title: str | None) -> dict[str, str]:
    """What the priors read about where a passage stands: its document's kind and title, its heading path."""
    return {k: v for k, v in (("doc_kind", doc_kind), ("heading", heading), ("title", title)) if v}


@dataclass(frozen=True)
class GoldPassage:
    """A labelled passage (see LABELLING.md): what it evidences, as the evaluation and baselines read it."""

    id: str
    text: str
    theme: str | None  # None: the passage is no evidence for any theme
    polarity: str | None  # "failure" | "positive" | "neutral"; None exactly when theme is None
    entries: tuple[str, ...]  # most relevant first; may be empty


# -- analysts' decisions -----------------------------------------------------------------------------

REVIEW_DECISIONS = ("confirm", "reject", "reassign", "note", "undo")
