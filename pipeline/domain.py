"""The domain: the typed objects every stage passes on, and nothing that reads files, the network or a database.

Documents and their blocks and passages (extraction, segmentation), where a document comes from
(collecting), what was guessed about it, and what the classifier says about a passage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
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

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end or (self.page is not None and self.page < 1):
            raise ValueError(f"impossible block: offsets {self.start}-{self.end}, page {self.page}")


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

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end or self.ordinal < 0 or (self.page is not None and self.page < 1):
            raise ValueError(f"impossible passage {self.id}: offsets {self.start}-{self.end}, ordinal {self.ordinal}, "
                             f"page {self.page}")

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


class DocumentState(StrEnum):
    """What a document needs, judged from its bytes' hash before any work is done."""

    NEW = "new"  # extract it
    EXTRACTED = "extracted"  # its passages are stored: classify them with the current classifier
    DONE = "done"  # extracted and classified by the current extractor and classifier
    FAILED = "failed"  # these bytes failed for good under the current extractor
    UNREADABLE = "unreadable"  # the file could not be read, so there is no hash of its bytes


@dataclass(frozen=True)
class DocumentFailure:
    """Why a stored document failed: its reason code (a ``FailureReason`` value) and a message for people."""

    reason: str | None
    message: str | None


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
    """A document given to a run: where it is (its file, its authority, the folder it was found in), then what
    its manifest row or listing says of it, by name (four optional strings in a row are too easy to misorder)."""

    path: Path
    authority: str
    folder: Path | None = None  # the folder given to the run that it was found in: its bytes must lie inside
    _: KW_ONLY
    kind: str | None = None
    date: str | None = None
    title: str | None = None
    url: str | None = None

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class FetchRecord:
    """What the scraper last fetched from one URL: the validators a conditional GET sends, and the bytes' hash
    (None when the fetch failed), with where the link was found."""

    url: str
    status: str  # "ok", "unchanged" or "failed"
    sha256: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    source: str | None = None
    authority: str | None = None
    title: str | None = None
    committee: str | None = None
    meeting_date: str | None = None
    agenda_item: str | None = None
    attachment_id: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    error_reason: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class LoggedScrapeFailure:
    """One failure a collect run logged: the URL, the level it failed at, its reason code and HTTP status."""

    id: int
    run: int | None
    source: str
    url: str
    level: str  # "source", "committees", "meetings", "meeting" or "document"
    reason: str
    http_status: int | None
    message: str | None
    at: str


@dataclass(frozen=True)
class FailingUrl:
    """A URL failing run after run (keyed without its rolling date window), and until when it is skipped."""

    url: str
    source: str
    level: str | None
    reason: str | None
    http_status: int | None
    failures: int  # failures in a row
    first_failed: str | None
    last_failed: str
    retry_at: str | None  # None: asked again on the next run


# -- what was guessed about a document -------------------------------------------------------------

@dataclass(frozen=True)
class Guess:
    value: str | None
    confidence: float

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 1:
            raise ValueError(f"a confidence is between 0 and 1, not {self.confidence}")


@dataclass(frozen=True)
class DocumentMetadata:
    title: Guess
    date: Guess
    kind: Guess


class Polarity(StrEnum):
    """Which pole of its theme a piece of evidence is on."""

    FAILURE = "failure"  # an indicator of potential failure
    POSITIVE = "positive"  # a characteristic of a well-functioning authority
    NEUTRAL = "neutral"  # evidence for the theme, but neither pole clearly


# -- what the classifier says about a passage --------------------------------------------------------

@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float  # ranking score, best first; for the evidence classifier the calibrated probability
    probability: float | None = None  # calibrated P(evidences this entry); on a flagged link, the flag probability
    reason: str = "similarity"  # "similarity", "model", or "tripwire:<rule>[:negated]"

    def __post_init__(self) -> None:
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError(f"{self.entry.id}: a probability is between 0 and 1, not {self.probability}")

    def as_record(self) -> dict[str, object]:
        return {"id": self.entry.id, "theme": self.entry.theme, "kind": self.entry.kind,
                "score": round(self.score, 4)}


@dataclass
class Prediction:
    matches: list[Match]  # best first, at most top_k
    theme: str | None  # None when the passage evidences no theme
    flagged: list[str]  # failure indicators evidenced at the calibrated thresholds (a subset of matches)
    evidence: list[Match]  # the links to store: matches judged evidence
    polarity: Polarity | None = None  # None when not evidence
    evidence_probability: float | None = None
    failure_probability: float | None = None
    suppressed: str | None = None  # boilerplate / procedural reason: never evidence
    tripwires: list[str] = field(default_factory=list)  # reasons of the tripwires that fired
    flag_probability: float | None = None  # P(evidences a failure): decides the flag; every flagged link's probability

    def __post_init__(self) -> None:
        for name in ("evidence_probability", "failure_probability"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} is between 0 and 1, not {value}")
        unmatched = set(self.flagged) - {m.entry.id for m in self.matches}
        if unmatched:
            raise ValueError(f"flagged entries {sorted(unmatched)} are not among the matches")

    def as_record(self, passage_id: object) -> dict[str, object]:
        """The ``triage predict`` line for the passage: its theme, matches best first, flagged entries."""
        return {"id": passage_id, "theme": self.theme, "matches": [m.as_record() for m in self.matches],
                "flagged": self.flagged}


@dataclass(frozen=True)
class PassageContext:
    """Where a passage stands: its document's kind and title (manifest first, else guessed) and its heading path.
    The evidence classifier reads the heading (a procedural section is never evidence); the kind and title are
    carried for the record. Every field may be unknown (None)."""

    doc_kind: str | None = None
    heading: str | None = None
    title: str | None = None

    @classmethod
    def of(cls, doc_kind: str | None, heading: str | None, title: str | None) -> PassageContext | None:
        """The context, or None when nothing about it is known (empty values count as unknown)."""
        context = cls(doc_kind or None, heading or None, title or None)
        return context if context != cls() else None


@dataclass(frozen=True)
class StoredPassage:
    """A stored passage as classification and learning read it back: its text and where it stands."""

    id: str
    text: str
    heading: str | None
    doc_kind: str | None
    title: str | None

    def context(self) -> PassageContext | None:
        return PassageContext.of(self.doc_kind, self.heading, self.title)


@dataclass(frozen=True)
class NearbyPassage:
    """A passage shown beside another so that it reads in context: its text, laid out as its block was."""

    text: str
    block_type: str | None


@dataclass(frozen=True)
class GoldPassage:
    """A labelled passage (see LABELLING.md): what it evidences, as the evaluation and baselines read it."""

    id: str
    text: str
    theme: str | None  # None: the passage is no evidence for any theme
    polarity: str | None  # "failure" | "positive" | "neutral"; None exactly when theme is None
    entries: tuple[str, ...]  # most relevant first; may be empty


# -- analysts' decisions -----------------------------------------------------------------------------

class ReviewDecision(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    REASSIGN = "reassign"  # rejects the link and confirms the passage for another entry
    NOTE = "note"  # leaves the evidence as it is
    UNDO = "undo"  # takes back the latest confirm, reject or reassign not yet undone


REVIEW_DECISIONS = tuple(d.value for d in ReviewDecision)
STANDING = (ReviewDecision.CONFIRM, ReviewDecision.REJECT, ReviewDecision.REASSIGN)


@dataclass(frozen=True)
class EvidenceKey:
    """One link: a passage as evidence for one taxonomy entry. ``id`` is how exports and the feed name it."""

    passage: str
    taxonomy: str
    entry: str

    def __post_init__(self) -> None:
        if not all(self.as_tuple()) or any(":" in part for part in self.as_tuple()):
            raise ValueError(f"an evidence key needs a passage, taxonomy and entry without ':', not {self.as_tuple()}")

    @property
    def id(self) -> str:
        return f"{self.passage}:{self.taxonomy}:{self.entry}"

    @classmethod
    def parse(cls, evidence_id: str) -> EvidenceKey:
        parts = evidence_id.split(":")
        if len(parts) != 3:
            raise ValueError(f"{evidence_id!r} is not passage:taxonomy:entry")
        return cls(*parts)

    def as_tuple(self) -> tuple[str, str, str]:
        return self.passage, self.taxonomy, self.entry


@dataclass(frozen=True)
class ReviewRecord:
    """One row of the append-only review log."""

    id: int
    key: EvidenceKey
    decision: ReviewDecision
    reviewer: str | None  # who decided: given with every decision (None only where an old log has no name)
    reason: str | None = None
    new_entry: str | None = None
    previous_status: str | None = None
    blind: bool = False  # a blind second review: recorded, never applied to the evidence
    settles: bool = False  # a lead's settlement of a disagreement between reviewers
    note: str | None = None
    batch: int | None = None  # the bulk decision it was part of
    created_at: str = ""


@dataclass(frozen=True)
class StandingDecision:
    """What still stands on a link after replaying its log: its confirms, rejects and reassigns that no
    later undo took back, oldest first."""

    key: EvidenceKey
    decisions: tuple[ReviewRecord, ...]

    @property
    def latest(self) -> ReviewRecord:
        return self.decisions[-1]


@dataclass(frozen=True)
class Batch:
    """A bulk decision: one confirm or reject with its reason and note, each link decided by its own review row
    tied to the batch, and undone as one."""

    id: int
    reviewer: str
    decision: str
    reason: str | None
    note: str | None
    items: int  # links decided (items changed meanwhile are left alone)
    created_at: str
    undone_at: str | None = None
    undone_by: str | None = None


@dataclass(frozen=True)
class SecondReview:
    """A lead's request for a blind second review of a decided link; done once the assignee has decided."""

    id: int
    passage: str
    taxonomy: str
    entry: str
    requested_by: str
    assigned_to: str
    created_at: str
    done_at: str | None = None
    entry_text: str | None = None  # the entry's wording, for listings

    @property
    def key(self) -> EvidenceKey:
        return EvidenceKey(self.passage, self.taxonomy, self.entry)


def standing_decisions(log: Iterable[ReviewRecord]) -> dict[EvidenceKey, StandingDecision]:
    """Replay the review log (in id order): a confirm, reject or reassign stands until an undo on the same
    link takes back the latest one still standing; notes and blind second reviews never stand. Links with
    nothing left standing are absent. The store, learning and the review metrics all read this."""
    stacks: dict[EvidenceKey, list[ReviewRecord]] = {}
    for record in sorted(log, key=lambda r: r.id):
        if record.blind:
            continue
        stack = stacks.setdefault(record.key, [])
        if record.decision in STANDING:
            stack.append(record)
        elif record.decision is ReviewDecision.UNDO and stack:
            stack.pop()
    return {key: StandingDecision(key, tuple(stack)) for key, stack in stacks.items() if stack}


# -- who may use the review app and the feed API ---------------------------------------------------------

API_TOKEN_ID_LENGTH = 12  # the first characters of a token's hash: enough to name it, useless to log in with


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


@dataclass(frozen=True)
class Session:
    """A signed-in reviewer's live session, with the CSRF token its forms must send back."""

    reviewer: Reviewer
    csrf: str


@dataclass(frozen=True)
class ReviewerAccount:
    """A reviewer as the lead's page lists them; the password hash never leaves the store."""

    reviewer: Reviewer
    created_at: str
    disabled: bool

    @property
    def name(self) -> str:
        return self.reviewer.name

    @property
    def role(self) -> str:
        return self.reviewer.role


@dataclass(frozen=True)
class ApiToken:
    """An API token as kept: its hash only, named by the hash's first characters (``id``)."""

    token_hash: str
    name: str
    created_by: str
    created_at: str
    last_used_at: str | None
    revoked: bool

    @property
    def id(self) -> str:
        return self.token_hash[:API_TOKEN_ID_LENGTH]
