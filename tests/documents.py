"""Builders that write small but real test documents (PDF, DOCX, HTML, text).

The PDF builder draws with the reportlab canvas so each test controls exactly where
text sits: running header and footer, "Page N of M", bold numbered headings, ruled
tables, two interleaved columns, forced line breaks (for hyphenation) and image-only
(scanned) pages.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from html import escape
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen import canvas
from reportlab.platypus import Table, TableStyle

HEADER = "Borsetshire County Council"
FOOTER = "Audit and Governance Committee - 14 March 2025"

BODY_FONT = "Helvetica"
BOLD_FONT = "Helvetica-Bold"
BODY_SIZE = 10.0
HEADING_SIZE = 14.0
LEADING = 12.0
PARAGRAPH_SPACE = 10.0
MARGIN = 56.0
TOP = A4[1] - 110.0  # first body baseline, well below the running header's zone
BOTTOM = 110.0  # lowest body baseline, well above the running footer's zone
TEXT_WIDTH = A4[0] - 2 * MARGIN
COLUMN_GAP = 36.0

# One PDF item is (kind, content):
#   ("heading", "1. Purpose of the report")      bold, larger
#   ("paragraph", "text")                        wrapped to the text width; "\n" forces a line break
#   ("bullet", "text")                           "•" marker with a hanging indent
#   ("table", [["Service", "Budget"], ...])      ruled grid (reportlab Table, GRID style)
#   ("columns", ("left text", "right text"))     two columns, paragraphs separated by a blank line
#   ("image", "")                                a filled bitmap and no text (a scanned page)
PdfItem = tuple[str, object]


def _wrap(text: str, width: float, font: str = BODY_FONT, size: float = BODY_SIZE) -> list[str]:
    """Wrap text to a width; explicit newlines always break the line."""
    lines: list[str] = []
    for forced in text.split("\n"):
        lines.extend(simpleSplit(forced, font, size, width) or [""])
    return lines


def _scan_image() -> ImageReader:
    """A grey 'scanned page' bitmap with dark bars where text would be, but no text layer."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 560), (235, 235, 228))
    draw = ImageDraw.Draw(image)
    for row in range(40, 520, 18):
        draw.rectangle((30, row, 370 - (row % 70), row + 8), fill=(40, 40, 40))
    return ImageReader(image)


def _draw_furniture(c: canvas.Canvas, number: int, total: int, header: str | None, footer: str | None,
                    page_numbers: bool) -> None:
    width, height = A4
    c.setFont(BODY_FONT, 9)
    if header:
        c.drawString(MARGIN, height - 40, header)
    if footer:
        c.drawString(MARGIN, 36, footer)
    if page_numbers:
        c.drawRightString(width - MARGIN, 36, f"Page {number} of {total}")


def _draw_columns(c: canvas.Canvas, y: float, left: str, right: str) -> float:
    """Draw two columns with their lines interleaved in the content stream by height,
    so a reader that follows the stream (or sorts by y alone) would mix them."""
    column_width = (TEXT_WIDTH - COLUMN_GAP) / 2
    placed: list[tuple[float, float, str]] = []
    lowest = y
    for x, text in ((MARGIN, left), (MARGIN + column_width + COLUMN_GAP, right)):
        line_y = y
        for paragraph in text.split("\n\n"):
            for line in _wrap(paragraph, column_width):
                placed.append((line_y, x, line))
                line_y -= LEADING
            line_y -= PARAGRAPH_SPACE
        lowest = min(lowest, line_y)
    c.setFont(BODY_FONT, BODY_SIZE)
    for line_y, x, line in sorted(placed, key=lambda p: (-p[0], p[1])):
        c.drawString(x, line_y, line)
    return lowest


def _draw_table(c: canvas.Canvas, y: float, rows: Sequence[Sequence[str]]) -> float:
    table = Table([list(r) for r in rows], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.75, colors.black),
        ("FONTNAME", (0, 0), (-1, -1), BODY_FONT),
        ("FONTNAME", (0, 0), (-1, 0), BOLD_FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    _, table_height = table.wrapOn(c, TEXT_WIDTH, y - BOTTOM)
    top = y + BODY_SIZE  # y is a baseline; the table hangs from the top of that line
    table.drawOn(c, MARGIN, top - table_height)
    return top - table_height - PARAGRAPH_SPACE - BODY_SIZE


def _draw_page(c: canvas.Canvas, items: Sequence[PdfItem]) -> None:
    y = TOP
    for kind, content in items:
        if kind == "heading":
            c.setFont(BOLD_FONT, HEADING_SIZE)
            c.drawString(MARGIN, y, str(content))
            y -= HEADING_SIZE + PARAGRAPH_SPACE
        elif kind == "paragraph":
            c.setFont(BODY_FONT, BODY_SIZE)
            for line in _wrap(str(content), TEXT_WIDTH):
                c.drawString(MARGIN, y, line)
                y -= LEADING
            y -= PARAGRAPH_SPACE
        elif kind == "bullet":
            c.setFont(BODY_FONT, BODY_SIZE)
            c.drawString(MARGIN + 6, y, "\u2022")
            for line in _wrap(str(content), TEXT_WIDTH - 20):
                c.drawString(MARGIN + 18, y, line)
                y -= LEADING
            y -= PARAGRAPH_SPACE / 2
        elif kind == "table":
            y = _draw_table(c, y, content)  # type: ignore[arg-type]
        elif kind == "columns":
            left, right = content  # type: ignore[misc]
            y = _draw_columns(c, y, left, right)
        elif kind == "image":
            c.drawImage(_scan_image(), MARGIN, BOTTOM, width=TEXT_WIDTH, height=TOP - BOTTOM)
            y = BOTTOM
        else:
            raise ValueError(f"unknown PDF item kind {kind!r}")
        if y < BOTTOM:
            raise ValueError("page content overflows the body area; split it across pages")


def make_pdf(path: Path, pages: Sequence[Sequence[PdfItem]], *, header: str | None = HEADER,
             footer: str | None = FOOTER, page_numbers: bool = True, encrypt: str | None = None) -> Path:
    """Write a PDF with one page per item list. Every page that has text gets the running
    header, footer and "Page N of M"; pages holding only an image get nothing else (scanned).
    ``encrypt`` sets a user password (printing disallowed)."""
    kwargs: dict[str, object] = {"pagesize": A4, "pageCompression": 1}
    if encrypt is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        kwargs["encrypt"] = StandardEncryption(encrypt, canPrint=0)
    c = canvas.Canvas(str(path), **kwargs)  # type: ignore[arg-type]
    for number, items in enumerate(pages, start=1):
        scanned = bool(items) and all(kind == "image" for kind, _ in items)
        if not scanned:
            _draw_furniture(c, number, len(pages), header, footer, page_numbers)
        _draw_page(c, items)
        c.showPage()
    c.save()
    return path


def long_paragraph(words: int = 600) -> str:
    """A paragraph of distinct, ordinary sentences of at least ``words`` words."""
    subjects = ["The adult social care service", "The children's services directorate", "The highways team",
                "The housing revenue account", "The waste collection contract", "The capital programme"]
    verbs = ["reported a pressure of", "forecast an underspend of", "requested additional funding of",
             "identified savings of", "recorded slippage of"]
    sentences: list[str] = []
    count = 0
    i = 0
    while count < words:
        sentence = (f"In month {i + 1} {subjects[i % len(subjects)].lower()} {verbs[i % len(verbs)]} "
                    f"£{(i * 37) % 900 + 100}k against its approved budget, and officers will report "
                    f"the recovery actions to the committee at its next meeting.")
        sentence = sentence[0].upper() + sentence[1:]
        sentences.append(sentence)
        count += len(sentence.split())
        i += 1
    return " ".join(sentences)


def write_scanned_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages hold only images: no text layer at all."""
    return make_pdf(path, [[("image", "")] for _ in range(pages)])


# -- DOCX --------------------------------------------------------------------------------------------

def make_docx(path: Path, *, title: str = "Revenue Budget Monitoring 2024/25",
              sections: Sequence[tuple[str, Sequence[str]]] = (),
              bullets: Sequence[str] = (), table: Sequence[Sequence[str]] = (),
              header: str | None = HEADER, footer: str | None = FOOTER) -> Path:
    """Write a DOCX: a Heading 1 title, then per section a Heading 2 and its paragraphs,
    then 'List Bullet' paragraphs and a 'Table Grid' table; optional header and footer."""
    import docx

    document = docx.Document()
    section = document.sections[0]
    if header:
        section.header.paragraphs[0].text = header
    if footer:
        section.footer.paragraphs[0].text = footer
    document.add_heading(title, level=1)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=2)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    for bullet in bullets:
        document.add_paragraph(bullet, style="List Bullet")
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        grid.style = "Table Grid"
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    document.save(str(path))
    return path


def inflate_docx(path: Path, padding_bytes: int) -> Path:
    """Add a highly compressible member to a DOCX so it inflates to ``padding_bytes`` more
    than its size on disk (a small zip bomb)."""
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("word/media/padding.bin", b"\0" * padding_bytes)
    return path


# -- HTML --------------------------------------------------------------------------------------------

SCRIPT_MARKER = "SCRIPTMARKER"


def make_html(*, title: str = "Report: Revenue Budget Monitoring", report_fields: Sequence[tuple[str, str]] = (),
              sections: Sequence[tuple[str, Sequence[str]]] = (), bullets: Sequence[str] = (),
              data_table: Sequence[Sequence[str]] = (), email_script: bool = False) -> str:
    """A committee report web page in the style of council CMS pages: nav and footer,
    an h1, a label/value table of report fields, h2 sections with paragraphs, a ul list,
    a data table with a header row, and <script> tags whose text contains SCRIPT_MARKER.
    ``email_script`` adds the common document.write e-mail obfuscation inside a paragraph."""
    out = [
        "<!DOCTYPE html>",
        "<html lang='en'><head>",
        f"<title>{escape(title)}</title>",
        f"<script>window.analytics = '{SCRIPT_MARKER}-head';</script>",
        "<style>body { font-family: sans-serif; }</style>",
        "</head><body>",
        f"<script>console.log('{SCRIPT_MARKER}-body');</script>",
        "<nav><a href='/'>Home</a> <a href='/meetings'>Meetings</a></nav>",
        "<div id='content'>",
        f"<h1>{escape(title)}</h1>",
    ]
    if report_fields:
        out.append("<table class='mgReportTable'>")
        out += [f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in report_fields]
        out.append("</table>")
    for heading, paragraphs in sections:
        out.append(f"<h2>{escape(heading)}</h2>")
        out += [f"<p>{escape(p)}</p>" for p in paragraphs]
    if bullets:
        out.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in bullets) + "</ul>")
    if data_table:
        head, *body = data_table
        out.append("<table class='mgDataTable'><thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in head)
                   + "</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in body]
        out.append("</tbody></table>")
    if email_script:
        out.append(f"<p>Contact the clerk by e-mail at <script>document.write('{SCRIPT_MARKER}-inline' + "
                   "'@borsetshire.gov.uk');</script> or in writing.</p>")
    out += [
        f"<script>var tracker = '{SCRIPT_MARKER}-end';</script>",
        "</div>",
        "<footer><p>Copyright Borsetshire County Council</p></footer>",
        "</body></html>",
    ]
    return "\n".join(out)


def write(path: Path, content: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to a path and return it."""
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def png_bytes() -> bytes:
    """A small valid PNG image."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()
