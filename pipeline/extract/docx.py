"""DOCX extraction with python-docx: Word heading styles, list paragraphs and tables.

A DOCX is a zip archive, so its declared sizes cannot be trusted: every member is inflated
as a stream and counted before python-docx reads any of it, and only the two methods Word
writes (stored and deflate) are accepted. Damaged XML, a broken archive or a missing part
become reason codes, never exceptions from lxml or zipfile.
"""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.opc.exceptions import OpcError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from pipeline.domain import Block, BlockType
from pipeline.errors import CorruptDocumentError, TooLargeError, UnsupportedFormatError
from pipeline.extract import layout
from pipeline.extract.limits import Limits
from pipeline.text import squash_space

_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
            zipfile.ZIP_LZMA: "lzma"}
_CHUNK = 1 << 20


def extract_docx(data: bytes, limits: Limits) -> tuple[list[Block], str | None]:
    check_members(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
    except etree.XMLSyntaxError as e:
        raise CorruptDocumentError(f"DOCX holds damaged XML ({e.msg})") from e
    except (zipfile.BadZipFile, KeyError, OpcError) as e:
        raise CorruptDocumentError(f"DOCX is damaged ({e})") from e
    except ValueError as e:  # python-docx: a package whose main part is not a Word document
        raise UnsupportedFormatError(f"not a Word document ({e})") from e
    body = document.element.body
    paragraphs = sum(1 for _ in body.iter(qn("w:p")))
    if paragraphs > limits.max_blocks:
        raise TooLargeError(f"DOCX has {paragraphs:,} paragraphs; the limit is {limits.max_blocks:,}")
    blocks: list[Block] = []
    for section in document.sections[:1]:
        for paragraph in section.header.paragraphs:
            _add(blocks, paragraph.text, BlockType.HEADER)
    for element in body.iterchildren():
        if element.tag == qn("w:p"):
            _paragraph(Paragraph(element, document), blocks)
        elif element.tag == qn("w:tbl"):
            _table(Table(element, document), blocks)
    for section in document.sections[:1]:
        for paragraph in section.footer.paragraphs:
            _add(blocks, paragraph.text, BlockType.FOOTER)
    title = document.core_properties.title or None
    return blocks, title


def check_members(data: bytes, limits: Limits) -> None:
    """Inflate every member as a stream and count what comes out, stopping at the limit: a zip's
    directory may understate a member's size, and a bzip2 member inflates without bound in one call."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if "word/document.xml" not in {info.filename for info in infos}:
                raise CorruptDocumentError("DOCX has no word/document.xml")
            inflated = 0
            for info in infos:
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
                    raise UnsupportedFormatError(f"DOCX member {info.filename} is compressed with {method}; "
                                                 "only stored and deflate members are read")
                with archive.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        inflated += len(chunk)
                        if inflated > limits.max_decompressed_bytes:
                            raise TooLargeError(f"DOCX inflates past {limits.max_decompressed_bytes:,} bytes "
                                                f"(at member {info.filename})")
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as e:
        raise CorruptDocumentError(f"DOCX is not a valid zip archive ({e})") from e


def _add(blocks: list[Block], text: str, kind: BlockType, level: int = 0) -> None:
    text = squash_space(text)
    if text:
        blocks.append(Block(kind, text, None, level=level))


def _paragraph(paragraph: Paragraph, blocks: list[Block]) -> None:
    text = squash_space(paragraph.text)
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
            text = squash_space(cell.text)
            if not cells or text != cells[-1]:  # merged cells repeat their text
                cells.append(text)
        if any(cells):
            lines.append(" | ".join(cells))
    if lines:
        blocks.append(Block(BlockType.TABLE, "\n".join(lines)))
