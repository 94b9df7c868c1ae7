"""Extract typed blocks from a document's bytes, whatever its format.

``extract_document`` is the one entry point: it reads the file within limits,
recognises the format from its bytes (not its name), runs the format's extractor
and applies the shared layout rules.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.domain import Block, BlockType, ExtractedDocument, SkippedPage, assign_offsets
from pipeline.errors import (
    CorruptDocumentError,
    DocumentError,
    EmptyDocumentError,
    FailureReason,
    TooLargeError,
    UnsupportedFormatError,
)
from pipeline.extract import layout
from pipeline.extract.limits import DEFAULT_LIMITS, Limits
from pipeline.ids import sha256_bytes
from pipeline.paths import path_text

if TYPE_CHECKING:
    from pipeline.extract.pdf import PdfText

EXTRACTOR_VERSION = "3"
SUPPORTED_SUFFIXES = {".pdf": "pdf", ".html": "html", ".htm": "html", ".docx": "docx", ".txt": "text",
                      ".md": "text"}

__all__ = ["EXTRACTOR_VERSION", "SUPPORTED_SUFFIXES", "extract_bytes", "extract_document", "sniff_format"]


def sniff_format(data: bytes) -> str:
    """Name the format the bytes are in: pdf, docx, html or text."""
    head = data[:2048]
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx" if b"word/" in data[:65536] or b"[Content_Types].xml" in data[:65536] else "zip"
    if head.startswith((b"\xd0\xcf\x11\xe0", b"\x7fELF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "binary"
    lowered = head.lower().lstrip(b"\xef\xbb\xbf \t\r\n")
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in lowered or b"<body" in lowered:
        return "html"
    sample = data[:8192]
    if sample and sample.count(b"\x00") == 0 and sum(b < 9 or 13 < b < 32 for b in sample) < len(sample) / 100:
        return "text"
    return "binary"


def extract_document(path: Path, limits: Limits = DEFAULT_LIMITS) -> ExtractedDocument:
    """Extract one file. Raises a DocumentError subclass saying why it cannot be read."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DocumentError(f"cannot read {path_text(path.name)}: {e.strerror}",
                            reason=FailureReason.UNREADABLE) from e
    if size > limits.max_bytes:
        raise TooLargeError(f"file is {size:,} bytes; the limit is {limits.max_bytes:,}")
    return extract_bytes(path.read_bytes(), path.name, limits)


def extract_bytes(data: bytes, name: str = "document", limits: Limits = DEFAULT_LIMITS) -> ExtractedDocument:
    """Extract a document from its bytes; ``name`` (a file name) only says which format to expect and
    names the document in messages."""
    name = path_text(name)
    if not data:
        raise EmptyDocumentError("file is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise TooLargeError(f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,}")
    fmt = sniff_format(data)
    claimed = SUPPORTED_SUFFIXES.get(Path(name).suffix.lower())
    if fmt in ("binary", "zip"):
        raise UnsupportedFormatError(f"unsupported format: {name} is not PDF, DOCX, HTML or text")
    if claimed and claimed != fmt and not (claimed == "text" and fmt == "html"):
        raise UnsupportedFormatError(f"mislabelled file: {name} is named .{claimed} but contains {fmt.upper()}",
                                     reason=FailureReason.MISLABELLED)
    pages: int | None = None
    title: str | None = None
    ocr_pages: list[int] = []
    unread_pages: list[int] = []
    skipped_pages: list[SkippedPage] = []
    if fmt == "pdf":
        pdf = _extract_pdf(data, limits)
        blocks, pages, ocr_pages, unread_pages, skipped_pages = (pdf.blocks, pdf.pages, pdf.ocr_pages,
                                                                 pdf.unread_pages, pdf.skipped_pages)
    elif fmt == "docx":
        from pipeline.extract.docx import extract_docx

        blocks, title = extract_docx(data, limits)
    elif fmt == "html":
        from pipeline.extract.html import extract_html

        blocks, title = extract_html(data, limits)
    else:
        from pipeline.extract.text import extract_text

        blocks = extract_text(data, limits)
    blocks = finish_blocks(blocks, limits)
    if not any(b.type.is_body for b in blocks):
        if skipped_pages:
            raise _unread_pages_error(skipped_pages)
        raise EmptyDocumentError(f"no text found in {name}" + (" (OCR included)" if ocr_pages else ""))
    document = ExtractedDocument(sha256_bytes(data), fmt, blocks, pages, title, ocr_pages, unread_pages,
                                 skipped_pages)
    if title is None:
        document.title = next((b.text for b in blocks if b.type is BlockType.HEADING), None)
    return document


def finish_blocks(blocks: list[Block], limits: Limits = DEFAULT_LIMITS) -> list[Block]:
    """Apply the shared layout rules and number the offsets, within the limits on blocks and text."""
    blocks = [b for b in blocks if b.text.strip()]
    limits.check_size(len(blocks), sum(len(b.text) for b in blocks))
    blocks = layout.join_continued_paragraphs(blocks)
    layout.assign_heading_paths(blocks)
    return assign_offsets(blocks)


def _extract_pdf(data: bytes, limits: Limits) -> PdfText:
    from pipeline.extract.pdf import extract_pdf

    # pdfium and pdfplumber both read from a path; a temporary file keeps one code path.
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        return extract_pdf(Path(handle.name), limits)


def _unread_pages_error(skipped: list[SkippedPage]) -> DocumentError:
    """A PDF whose every page with content was skipped fails with the pages' reason."""
    detail = "; ".join(f"page {s.page}: {s.detail}" for s in skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
    if any(s.reason == FailureReason.TOO_LARGE for s in skipped):
        return TooLargeError(f"no page could be read within the limits ({detail})")
    return CorruptDocumentError(f"no page could be loaded ({detail})")
