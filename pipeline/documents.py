"""The document model shared by extraction, segmentation, storage and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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
