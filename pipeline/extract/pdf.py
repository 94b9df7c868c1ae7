"""PDF extraction: text and character boxes from pdfium (fast), tables from
pdfplumber's layout analysis, and only on pages that have ruling lines."""

from __future__ import annotations

import ctypes
import logging
import re
import statistics
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.domain import Block, BlockType, SkippedPage
from pipeline.errors import (
    CorruptDocumentError,
    EncryptedDocumentError,
    FailureReason,
    NeedsOCRError,
    TooLargeError,
)
from pipeline.extract import layout
from pipeline.extract.limits import Limits
from pipeline.extract.ocr import ocr_available, ocr_page
from pipeline.extract.pdf_scan import absurd_pages
from pipeline.extract.pdf_tables import TooManyRules, find_tables
from pipeline.text import squash_space

_LIGATURES = str.maketrans({"\ufb01": "fi", "\ufb02": "fl", "\ufb00": "ff", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\x00": "", "\ufffe": "", "\x02": "-", "\u00a0": " "})
_MARKER = re.compile(r"^(?:[•●▪■◦○►▶✓\u2022\uf0b7\uf0a7o\-–*]|\(?[a-z]{1,3}\)|\(?\d{1,2}(?:\.\d{1,2}){0,3}[.)]?)$")
_ZONE = 0.1  # top and bottom tenth of a page may hold running headers and footers
PDFIUM_LOCK = threading.Lock()  # pdfium is not thread-safe
logging.getLogger("pdfminer").setLevel(logging.CRITICAL)  # its notes on damaged files are not the user's concern


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)


@dataclass
class _PageLayout:
    number: int
    height: float
    lines: list[Line]
    ruled: bool  # too many rules for the fast grid finder: pdfplumber finds the tables
    scanned: bool
    tables: list[tuple[tuple[float, float, float, float], list[list[str | None]]]] = field(default_factory=list)
    ocr_blocks: list[Block] = field(default_factory=list)


@dataclass
class PdfText:
    """What a PDF gave: blocks in reading order, and which pages were read how."""

    blocks: list[Block]
    pages: int
    ocr_pages: list[int]
    unread_pages: list[int]
    skipped_pages: list[SkippedPage]


def extract_pdf(path: Path, limits: Limits) -> PdfText:
    """The blocks in reading order, the page count, the pages read by OCR, the scanned pages left
    unread (OCR unavailable) and the pages skipped (will not load, or absurdly costly). pdfium is not
    thread-safe: one PDF at a time per process (parallel extraction uses processes)."""
    with PDFIUM_LOCK:
        return _extract_pdf(path, limits)


def _extract_pdf(path: Path, limits: Limits) -> PdfText:
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        message = str(e)
        if "password" in message.lower():
            raise EncryptedDocumentError("PDF is encrypted and needs a password") from e
        raise CorruptDocumentError(f"PDF cannot be parsed ({message.strip().rstrip('.')})") from e
    try:
        page_count = len(pdf)
        if page_count == 0:
            raise CorruptDocumentError("PDF has no pages")
        if page_count > limits.max_pages:
            raise TooLargeError(f"PDF has {page_count} pages; the limit is {limits.max_pages}")
        skipped = [SkippedPage(number, FailureReason.TOO_LARGE, detail)
                   for number, detail in sorted(absurd_pages(path, limits, page_count).items())]
        pages: list[_PageLayout] = []
        chars = 0
        for index in range(page_count):
            if any(s.page == index + 1 for s in skipped):
                continue
            page_layout = _read_page(pdf, index, limits)
            if isinstance(page_layout, SkippedPage):
                skipped.append(page_layout)
                continue
            pages.append(page_layout)
            chars += sum(len(line.text) for line in page_layout.lines)
            if chars > limits.max_text_chars:
                raise TooLargeError(f"PDF text runs past {limits.max_text_chars:,} characters by page {index + 1}")
        scanned = [p for p in pages if p.scanned]
        use_ocr = bool(scanned) and ocr_available()
        if scanned and not use_ocr and len(scanned) == len(pages):
            raise NeedsOCRError("PDF has no text layer (scanned); OCR is needed: install tesseract-ocr")
        for page_layout in scanned if use_ocr else []:
            page = pdf[page_layout.number - 1]
            try:
                page_layout.ocr_blocks = ocr_page(page, page_layout.number)
            finally:
                page.close()
    finally:
        pdf.close()
    _add_tables(path, pages)
    return PdfText(_blocks(pages), page_count, [p.number for p in scanned if use_ocr],
                   [p.number for p in scanned if not use_ocr], sorted(skipped, key=lambda s: s.page))


def _read_page(pdf: pdfium.PdfDocument, index: int, limits: Limits) -> _PageLayout | SkippedPage:
    """One page's lines and tables, or why it was skipped: pdfium cannot load it (``corrupt``) or it
    holds more objects or glyphs than any real page (``too_large``)."""
    number = index + 1
    try:
        page = pdf[index]
    except pdfium.PdfiumError as e:
        return SkippedPage(number, FailureReason.CORRUPT, f"pdfium cannot load it ({str(e).strip().rstrip('.')})")
    try:
        count = pdfium_c.FPDFPage_CountObjects(page.raw)
        if count > limits.max_page_objects:
            return SkippedPage(number, FailureReason.TOO_LARGE, f"it holds {count:,} objects; the limit is "
                                                    f"{limits.max_page_objects:,}")
        height = page.get_height()
        objects = list(page.get_objects(max_depth=2))
        kinds = Counter(obj.type for obj in objects)
        paths = [obj for obj in objects if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH]
        try:
            textpage = page.get_textpage()
        except pdfium.PdfiumError as e:
            return SkippedPage(number, FailureReason.CORRUPT,
                               f"pdfium cannot read its text ({str(e).strip().rstrip('.')})")
        try:
            glyphs = textpage.count_chars()
            if glyphs > limits.max_page_chars:
                return SkippedPage(number, FailureReason.TOO_LARGE, f"it holds {glyphs:,} glyphs; the limit is "
                                                        f"{limits.max_page_chars:,}")
            lines = _lines(textpage, height)
            layout_page = _PageLayout(
                number, height, lines, ruled=False,
                scanned=not lines and kinds[pdfium_c.FPDF_PAGEOBJ_IMAGE] + kinds[pdfium_c.FPDF_PAGEOBJ_FORM] > 0,
            )
            if lines and len(paths) >= 6:
                try:
                    layout_page.tables = [(t.bbox, t.rows) for t in find_tables(paths, textpage, height)]
                except TooManyRules:
                    layout_page.ruled = True  # left to pdfplumber's layout analysis
        finally:
            textpage.close()
        return layout_page
    finally:
        page.close()


def _font(textpage: pdfium.PdfTextPage, index: int) -> tuple[float, bool]:
    size = pdfium_c.FPDFText_GetFontSize(textpage.raw, index)
    weight = pdfium_c.FPDFText_GetFontWeight(textpage.raw, index)
    buffer = ctypes.create_string_buffer(96)
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, 96, ctypes.byref(flags))
    name = buffer.value.decode("latin-1", "replace").lower()
    bold = weight >= 600 or any(mark in name for mark in ("bold", "black", "heavy", ",b"))
    return round(size, 1), bold


def _lines(textpage: pdfium.PdfTextPage, page_height: float) -> list[Line]:
    """Lines as pdfium breaks them, split again at wide horizontal gaps (columns, cells)."""
    count = textpage.count_chars()
    if count <= 0:
        return []
    text = textpage.get_text_range(0, count)
    if len(text) != count:  # pdfium left out or added characters: read them one by one, aligned with the boxes
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count))
    lines: list[Line] = []
    start = 0
    for end in range(count + 1):
        if end < count and text[end] not in "\r\n":
            continue
        if end > start:
            lines.extend(_segments(textpage, text, start, end, page_height))
        start = end + 1
    return lines


def _segments(textpage: pdfium.PdfTextPage, text: str, start: int, end: int, page_height: float) -> list[Line]:
    pieces: list[list[tuple[str, int, tuple[float, float, float, float]]]] = [[]]
    last_right: float | None = None
    gap = 14.0
    for i in range(start, end):
        char = text[i]
        if char.isspace():
            if pieces[-1]:
                pieces[-1].append((" ", i, (0, 0, 0, 0)))
            continue
        box = textpage.get_charbox(i)  # (left, bottom, right, top)
        if last_right is None:
            gap = max(2.2 * (box[3] - box[1]), 14.0)
        elif box[0] - last_right > gap and not _is_marker("".join(c for c, _, _ in pieces[-1])):
            pieces.append([])
        pieces[-1].append((char, i, box))
        last_right = box[2]
    out = []
    for piece in pieces:
        inked = [(i, b) for c, i, b in piece if c != " "]
        content = "".join(c for c, _, _ in piece).translate(_LIGATURES).strip()
        if not inked or not content:
            continue
        size, bold = _font(textpage, inked[len(inked) // 2][0])  # the middle glyph: not a styled number
        boxes = [b for _, b in inked]
        out.append(Line(
            text=content,
            x0=min(b[0] for b in boxes),
            x1=max(b[2] for b in boxes),
            top=page_height - max(b[3] for b in boxes),
            bottom=page_height - min(b[1] for b in boxes),
            size=size or 10.0,
            bold=bold,
        ))
    return out


def _is_marker(text: str) -> bool:
    """A bullet or paragraph number, which stays on its line however wide the indent."""
    return bool(_MARKER.match(text.strip()))


def _add_tables(path: Path, pages: list[_PageLayout]) -> None:
    """Find ruled tables with pdfplumber on the pages too complex for the fast grid finder."""
    wanted = [p for p in pages if p.ruled]
    if not wanted:
        return
    import pdfplumber

    try:
        with pdfplumber.open(str(path)) as pdf:
            for page_layout in wanted:
                page = pdf.pages[page_layout.number - 1]
                for table in page.find_tables():
                    rows = table.extract()
                    if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                        page_layout.tables.append((table.bbox, rows))
                page.close()
    except Exception:  # pdfminer fails in many ways on damaged files that pdfium read: keep its text as lines
        for page_layout in wanted:
            page_layout.tables.clear()


def _inside(line: Line, bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    mid_x, mid_y = (line.x0 + line.x1) / 2, (line.top + line.bottom) / 2
    return x0 - 1 <= mid_x <= x1 + 1 and top - 1 <= mid_y <= bottom + 1


def table_text(rows: list[list[str | None]]) -> str:
    """One line per row, cells joined by " | ", empty rows dropped."""
    out = []
    for row in rows:
        cells = [squash_space(c or "") for c in row]
        if any(cells):
            out.append(" | ".join(cells))
    return "\n".join(out)


def _blocks(pages: list[_PageLayout]) -> list[Block]:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
    body_size = layout.body_font_size(sizes)
    all_blocks: list[Block] = []
    furniture_candidates: list[list[tuple[Block, str]]] = []
    for page in pages:
        if page.ocr_blocks:
            all_blocks.extend(page.ocr_blocks)
            furniture_candidates.append([(page.ocr_blocks[0], "top"), (page.ocr_blocks[-1], "bottom")])
            continue
        flow = [ln for ln in page.lines if not any(_inside(ln, bbox) for bbox, _ in page.tables)]
        tables = sorted(((bbox[1], Block(BlockType.TABLE, table_text(rows), page.number))
                         for bbox, rows in page.tables), key=lambda item: item[0])
        items: list[tuple[float, float, Block]] = []
        for group in _group_lines(_reading_order(flow)):
            while tables and tables[0][0] <= group[0].top:  # a table goes before the first text below it
                top, table = tables.pop(0)
                items.append((top, top, table))
            items.append((group[0].top, group[-1].bottom, _block(group, page.number, body_size)))
        items.extend((top, top, table) for top, table in tables)
        page_blocks: list[Block] = []
        candidates: list[tuple[Block, str]] = []
        for top, bottom, block in items:
            if block.text:
                page_blocks.append(block)
                if top < page.height * _ZONE:
                    candidates.append((block, "top"))
                elif bottom > page.height * (1 - _ZONE):
                    candidates.append((block, "bottom"))
        furniture_candidates.append(candidates)
        all_blocks.extend(page_blocks)
    layout.mark_running_furniture(furniture_candidates)
    return all_blocks


def _reading_order(lines: list[Line]) -> list[Line]:
    """Order lines top to bottom, and two-column stretches left column first.

    A gutter is an x position that no line crosses while lines lie on both sides of it;
    lines spanning the gutter (titles, full-width paragraphs) end a column stretch.
    """
    if not lines:
        return []
    lines = sorted(lines, key=lambda ln: (round(ln.top), ln.x0))
    gutter = _find_gutter(lines)
    if gutter is None:
        return lines
    ordered: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []
    for line in lines:
        if line.x0 < gutter < line.x1:
            ordered.extend(left + right)
            left, right = [], []
            ordered.append(line)
        elif line.x1 <= gutter:
            left.append(line)
        else:
            right.append(line)
    return ordered + left + right


def _find_gutter(lines: list[Line]) -> float | None:
    x_min = min(ln.x0 for ln in lines)
    x_max = max(ln.x1 for ln in lines)
    width = x_max - x_min
    if width <= 0 or len(lines) < 6:
        return None
    middle = x_min + width / 2
    best: float | None = None
    for step in range(35, 66):
        x = x_min + width * step / 100
        crossing = sum(1 for ln in lines if ln.x0 < x < ln.x1)
        left = sum(1 for ln in lines if ln.x1 <= x)
        right = sum(1 for ln in lines if ln.x0 >= x)
        balanced = min(left, right) >= max(3, 0.2 * len(lines))
        if crossing <= 0.15 * len(lines) and balanced and (best is None or abs(x - middle) < abs(best - middle)):
            best = x
    return best


def _group_lines(lines: list[Line]) -> list[list[Line]]:
    """Group consecutive lines into blocks by spacing, font and list markers."""
    groups: list[list[Line]] = []
    for line in lines:
        if groups and _continues(groups[-1], line):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _continues(group: list[Line], line: Line) -> bool:
    prev = group[-1]
    gap = line.top - prev.bottom
    if gap < -prev.height * 0.5 or gap > max(prev.height, line.height) * 0.75:
        return False
    if abs(line.size - prev.size) > 1.0 or line.bold != prev.bold:
        return False
    if abs(line.x0 - prev.x0) > 3 * prev.size and abs(line.x0 - group[0].x0) > 3 * prev.size and line.x0 < prev.x0:
        return False
    if layout.looks_like_list_item(line.text):
        return False
    if layout.NUMBERED.match(line.text) and prev.text.rstrip()[-1:] in ".:;":
        return False
    return not layout.looks_like_page_number(line.text)


def _block(lines: list[Line], page: int, body_size: float) -> Block:
    text = layout.join_lines([ln.text for ln in lines])
    size = statistics.median(ln.size for ln in lines)
    emphasised = all(ln.bold for ln in lines) or size >= body_size * 1.15
    if layout.looks_like_page_number(text):
        kind = BlockType.PAGE_NUMBER
    elif layout.looks_like_heading(text, emphasised=emphasised):
        kind = BlockType.HEADING
    elif layout.looks_like_list_item(text):
        kind = BlockType.LIST_ITEM
    else:
        kind = BlockType.PARAGRAPH
    level = layout.numbered_heading_level(text) or (1 if size >= body_size * 1.3 else 2)
    return Block(kind, text, page, level=level if kind is BlockType.HEADING else 0)
