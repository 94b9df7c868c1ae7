"""DOCX extraction with python-docx: Word heading styles, list paragraphs and tables."""

from __future__ import annotations

import io
import re

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from pipeline.domain import Block, BlockType
from pipeline.extract import layout

_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)


def extract_docx(data: bytes) -> tuple[list[Block], str | None]:
    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    for section in document.sections[:1]:
        for paragraph in section.header.paragraphs:
            _add(blocks, paragraph.text, BlockType.HEADER)
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            _paragraph(Paragraph(element, document), blocks)
        elif element.tag == qn("w:tbl"):
            _table(Table(element, document), blocks)
    for section in document.sections[:1]:
        for paragraph in section.footer.paragraphs:
            _add(blocks, paragraph.text, BlockType.FOOTER)
    title = document.core_properties.title or None
    return blocks, title


def _add(blocks: list[Block], text: str, kind: BlockType, level: int = 0) -> None:
    text = layout.normalise_space(text)
    if text:
        blocks.append(Block(kind, text, None, level=level))


def _paragraph(paragraph: Paragraph, blocks: list[Block]) -> None:
    text = layout.normalise_space(paragraph.text)
    if not text:
        return
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if match := _HEADING_STYLE.match(style.strip()):
        _add(blocks, text, BlockType.HEADING, int(match[1] or 1))
        return
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if style.lower().startswith("list") or numbered or layout.looks_like_list_item(text):
        _add(blocks, text, BlockType.LIST_ITEM)
        return
    runs = [r for r in paragraph.runs if r.text.strip()]
    emphasised = bool(runs) and all(r.bold for r in runs)
    if layout.looks_like_heading(text, emphasised=emphasised):
        _add(blocks, text, BlockType.HEADING, layout.heading_level(text, default=3))
    else:
        _add(blocks, text, BlockType.PARAGRAPH)


def _table(table: Table, blocks: list[Block]) -> None:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = layout.normalise_space(cell.text)
            if not cells or text != cells[-1]:  # merged cells repeat their text
                cells.append(text)
        if any(cells):
            lines.append(" | ".join(cells))
    if lines:
        blocks.append(Block(BlockType.TABLE, "\n".join(lines)))
