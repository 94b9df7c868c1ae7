"""Extract typed blocks from a document's bytes, whatever its format.

``extract_document`` is the one entry point: it reads the file within limits,
recognises the format from its bytes (not its name), runs the format's extractor
and applies the shared layout rules.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from pipeline.domain import Block, BlockType, ExtractedDocument, assign_offsets
from pipeline.errors import (
    CorruptDocumentError,
    DocumentError,
    EmptyDocumentError,
    TooLargeError,
    UnsupportedFormatError,
)
from pipeline.extract import layout
from pipeline.extract.limits import DEFAULT_LIMITS, Limits
from pipeline.ids import sha256_bytes

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
        raise DocumentError(f"cannot read {path.name}: {e.strerror}", reason="unreadable") from e
    if size > limits.max_bytes:
        raise TooLargeError(f"file is {size:,} bytes; the limit is {limits.max_bytes:,}")
    return extract_bytes(path.read_bytes(), path.name, limits)


def extract_bytes(data: bytes, name: str = "document", limits: Limits = DEFAULT_LIMITS) -> ExtractedDocument:
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
                                     reason="mislabelled")
    pages: int | None = None
    title: str | None = None
    ocr_pages: list[int] = []
    unread_pages: list[int] = []
    if fmt == "pdf":
        blocks, pages, ocr_pages, unread_pages = _extract_pdf(data, limits)
    elif fmt == "docx":
        _check_zip(data, limits)
        from pipeline.extract.docx import extract_docx

        blocks, title = extract_docx(data)
    elif fmt == "html":
        from pipeline.extract.html import extract_html

        blocks, title = extract_html(data)
    else:
        from pipeline.extract.text import extract_text

        blocks = extract_text(data)
    blocks = finish_blocks(blocks)
    if not any(b.type.is_body for b in blocks):
        raise EmptyDocumentError(f"no text found in {name}" + (" (OCR included)" if ocr_pages else ""))
    document = ExtractedDocument(sha256_bytes(data), fmt, blocks, pages, title, ocr_pages, unread_pages)
    if title is None:
        document.title = next((b.text for b in blocks if b.type is BlockType.HEADING), None)
    return document


def finish_blocks(blocks: list[Block]) -> list[Block]:
    """Apply the shared layout rules and number the offsets."""
    blocks = [b for b in blocks if b.text.strip()]
    blocks = layout.join_continued_paragraphs(blocks)
    layout.assign_heading_paths(blocks)
    return assign_offsets(blocks)


def _extract_pdf(data: bytes, limits: Limits) -> tuple[list[Block], int, list[int], list[int]]:
    from pipeline.extract.pdf import extract_pdf

    # pdfium and pdfplumber both read from a path; a temporary file keeps one code path.
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        return extract_pdf(Path(handle.name), limits)


def _check_zip(data: bytes, limits: Limits) -> None:
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile as e:
        raise CorruptDocumentError(f"DOCX is not a valid zip archive ({e})") from e
    if inflated > limits.max_decompressed_bytes:
        raise TooLargeError(f"DOCX inflates to {inflated:,} bytes; the limit is {limits.max_decompressed_bytes:,}")
    if "word/document.xml" not in names:
        raise CorruptDocumentError("DOCX has no word/document.xml")
