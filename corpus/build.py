"""Build the bv-triage demo corpus.

Reads the document content in ``corpus/build_content/`` (one YAML file per
document, plus ``authorities.yaml``) and writes PDF, HTML and DOCX renderings,
``authorities.yaml`` and ``manifest.yaml`` into ``corpus/demo/``.

    python corpus/build.py

The output is reproducible: running the script twice gives byte-identical files.

Document bodies use a small line-based markup; blocks are separated by blank lines:

    # 1. Heading            section heading (level 1)
    ## 1.2 Sub-heading      sub-heading (level 2)
    2.1 Text ...            numbered paragraph (also "2.3.1 ..." and "12. ...")
    - item                  bullet list (one item per "- " line)
    | a | b |               table (first row is the header); an optional first
                            line "::widths 30 20 50" gives column widths in %
    > text                  boxed/summary paragraph
    ::pagebreak             start a new page
    ::columns               PDF: move on to the next frame/column
    ::onecolumn             PDF: continue on a new single-column page
    **bold**                inline bold
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

rl_config.invariant = 1
# Bitstream Vera ships with reportlab: embedded TrueType fonts give clean text
# extraction (the standard Helvetica bullet does not map back to U+2022).
for _name, _file in (("Body", "Vera.ttf"), ("Body-Bold", "VeraBd.ttf")):
    pdfmetrics.registerFont(TTFont(_name, _file))
pdfmetrics.registerFontFamily("Body", normal="Body", bold="Body-Bold")

HERE = Path(__file__).resolve().parent
CONTENT = HERE / "build_content"
OUT = HERE / "demo"
KINDS = {
    "committee_report", "agenda", "minutes", "decision", "budget_report",
    "risk_register", "audit_report", "inspection_report", "ombudsman_decision",
    "annual_governance_statement", "peer_challenge", "other",
}
NUM_RE = re.compile(r"^(\d+(?:\.\d+)+|\d+\.)\s+(.*)$", re.S)
FIGURE_RE = re.compile(r"^[-–(]?£?\d[\d,.]*(%|m|k)?\)?$")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------
# Markup parsing
# --------------------------------------------------------------------------


@dataclass
class Block:
    """One body block: heading, paragraph, list, table or layout directive."""

    kind: str
    text: str = ""
    number: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)


def parse_body(text: str) -> list[Block]:
    """Split the body markup into blocks."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in chunk.strip().splitlines()]
        first = lines[0]
        widths: list[float] = []
        if first.startswith("::widths"):
            widths = [float(w) for w in first.split()[1:]]
            lines, first = lines[1:], lines[1]
        elif first.startswith("::"):
            blocks.append(Block("directive", text=first[2:].strip()))
            continue
        if first.startswith("## "):
            blocks.append(Block("h2", text=" ".join(lines)[3:]))
        elif first.startswith("# "):
            blocks.append(Block("h1", text=" ".join(lines)[2:]))
        elif first.startswith("|"):
            rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
            rows = [r for r in rows if not all(set(c) <= set("-: ") for c in r)]
            blocks.append(Block("table", rows=rows, widths=widths))
        elif first.startswith("- "):
            items: list[str] = []
            for ln in lines:
                if ln.startswith("- "):
                    items.append(ln[2:])
                else:
                    items[-1] += " " + ln
            blocks.append(Block("bullets", items=items))
        elif first.startswith("> "):
            blocks.append(Block("box", text=" ".join(ln.lstrip("> ") for ln in lines)))
        else:
            joined = " ".join(lines)
            match = NUM_RE.match(joined)
            if match:
                blocks.append(Block("num", number=match[1], text=match[2]))
            else:
                blocks.append(Block("para", text=joined))
    return blocks


def inline_html(text: str) -> str:
    """Escape text for HTML/reportlab and turn **x** into <b>x</b>."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text, quote=False))


def plain(text: str) -> str:
    """Strip inline markup."""
    return text.replace("**", "")


def depth(number: str) -> int:
    """Nesting depth of a paragraph number: '1.' and '1.1' are 1, '1.1.1' is 2."""
    return max(1, number.rstrip(".").count("."))


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------

GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#7f7f7f")
SHADE = colors.HexColor("#e6e6e6")


def pdf_styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles for council-report PDFs."""
    body = ParagraphStyle("body", fontName="Body", bulletFontName="Body", fontSize=9.5,
                          leading=12.8, spaceAfter=6)

    def style(name: str, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, body, **kw)

    bold = {"fontName": "Body-Bold"}
    cell = {"fontSize": 8.5, "leading": 10.5, "spaceAfter": 0}
    return {
        "body": body,
        "mast1": style("mast1", **bold, fontSize=17, leading=21),
        "mast2": style("mast2", **bold, fontSize=12.5, leading=16, spaceAfter=3),
        "title": style("title", **bold, fontSize=14, leading=18, spaceBefore=6, spaceAfter=10),
        "h1": style("h1", **bold, fontSize=12, leading=15, spaceBefore=10, keepWithNext=1),
        "h2": style("h2", **bold, fontSize=10.5, leading=13.5, spaceBefore=6, spaceAfter=4,
                    keepWithNext=1),
        "num0": style("num0", leftIndent=0.75 * cm, bulletIndent=0),
        "num1": style("num1", leftIndent=1.15 * cm, bulletIndent=0),
        "num2": style("num2", leftIndent=2.3 * cm, bulletIndent=1.15 * cm),
        "bullet": style("bullet", leftIndent=1.75 * cm, bulletIndent=1.25 * cm, spaceAfter=3),
        "box": style("box", borderWidth=0.6, borderColor=RULE, borderPadding=6,
                     backColor=colors.HexColor("#f2f2f2"), spaceBefore=6, spaceAfter=12),
        "cell": style("cell", **cell),
        "cellb": style("cellb", **bold, **cell),
        "cellr": style("cellr", **cell, alignment=TA_RIGHT),
        "cellbr": style("cellbr", **bold, **cell, alignment=TA_RIGHT),
    }


def ruled_table(rows: list[list[str]], widths: list[float], width: float,
                st: dict[str, ParagraphStyle], header: bool = True) -> Table:
    """A table with full grid lines; bold shaded header row and bold 'Total' rows."""
    ncols = max(len(r) for r in rows)
    pct = widths or [100 / ncols] * ncols
    col_widths = [width * p / sum(pct) for p in pct]
    data = []
    for i, row in enumerate(rows):
        bold = (header and i == 0) or row[0].lower().startswith("total")
        cells = []
        for j, cell in enumerate(row + [""] * (ncols - len(row))):
            name = "cellb" if bold or (not header and j == 0) else "cell"
            if j > 0 and FIGURE_RE.match(plain(cell)) and not (header and i == 0):
                name += "r"
            cells.append(Paragraph(inline_html(cell), st[name]))
        data.append(cells)
    table = Table(data, colWidths=col_widths, repeatRows=1 if header else 0, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    else:
        commands.append(("BACKGROUND", (0, 0), (0, -1), SHADE))
    table.setStyle(TableStyle(commands))
    return table


def furniture_canvas(header: str, footer: str) -> type[canvas.Canvas]:
    """A canvas class that draws the running header and 'Page N of M' footer."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for state in self._pages:
                self.__dict__.update(state)
                self._draw(len(self._pages))
                super().showPage()
            super().save()

        def _draw(self, total: int) -> None:
            width, height = self._pagesize
            self.saveState()
            self.setFont("Body", 8)
            self.setFillColor(GREY)
            self.drawString(2 * cm, height - 1.3 * cm, header)
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(2 * cm, height - 1.45 * cm, width - 2 * cm, height - 1.45 * cm)
            self.line(2 * cm, 1.45 * cm, width - 2 * cm, 1.45 * cm)
            self.drawString(2 * cm, 1.0 * cm, footer)
            self.drawRightString(width - 2 * cm, 1.0 * cm, f"Page {self._pageNumber} of {total}")
            self.restoreState()

    return NumberedCanvas


def pdf_templates(pagesize: tuple[float, float], top_height: float) -> list[PageTemplate]:
    """Single-column, two-column and 'full-width top + two columns' page templates."""
    width, height = pagesize
    left, bottom, gap = 2 * cm, 1.9 * cm, 0.8 * cm
    frame_w, frame_h = width - 2 * left, height - bottom - 2.0 * cm
    col_w = (frame_w - gap) / 2

    def columns(h: float, prefix: str) -> list[Frame]:
        return [Frame(left + i * (col_w + gap), bottom, col_w, h, id=f"{prefix}{i}",
                      leftPadding=0, rightPadding=0) for i in range(2)]

    top = Frame(left, bottom + frame_h - top_height, frame_w, top_height, id="top",
                leftPadding=0, rightPadding=0)
    return [
        PageTemplate("one", [Frame(left, bottom, frame_w, frame_h, id="body",
                                   leftPadding=0, rightPadding=0)], pagesize=pagesize),
        PageTemplate("first2", [top, *columns(frame_h - top_height, "c")], pagesize=pagesize),
        PageTemplate("two", columns(frame_h, "t"), pagesize=pagesize),
    ]


def pdf_story(doc: dict[str, Any], blocks: list[Block], st: dict[str, ParagraphStyle],
              width: float, col_width: float) -> list[Flowable]:
    """Turn masthead, cover table and body blocks into platypus flowables."""
    story: list[Flowable] = []
    masthead = doc.get("masthead", [])
    for i, line in enumerate(masthead):
        story.append(Paragraph(inline_html(line), st["mast1"] if i == 0 else st["mast2"]))
    story.append(Paragraph(inline_html(doc["title"]), st["title"]))
    if doc.get("cover"):
        story.append(ruled_table([list(map(str, r)) for r in doc["cover"]], [30, 70], width, st,
                                 header=False))
        story.append(Spacer(1, 10))
    current = width
    for block in blocks:
        if block.kind == "directive":
            if block.text == "pagebreak":
                story.append(PageBreak())
            elif block.text == "columns":
                story.append(FrameBreak())
                current = col_width
            elif block.text == "onecolumn":
                story += [NextPageTemplate("one"), PageBreak()]
                current = width
        elif block.kind in ("h1", "h2", "para", "box"):
            name = "body" if block.kind == "para" else block.kind
            story.append(Paragraph(inline_html(block.text), st[name]))
        elif block.kind == "num":
            style = "num0" if block.number.endswith(".") else f"num{depth(block.number)}"
            story.append(Paragraph(inline_html(block.text), st[style], bulletText=block.number))
        elif block.kind == "bullets":
            story += [Paragraph(inline_html(item), st["bullet"], bulletText="•") for item in block.items]
            story.append(Spacer(1, 4))
        elif block.kind == "table":
            table = ruled_table(block.rows, block.widths, current, st)
            story += [KeepTogether(table) if len(block.rows) <= 12 else table, Spacer(1, 10)]
    return story


def render_pdf(doc: dict[str, Any], blocks: list[Block], path: Path, authority: str) -> None:
    """Render one document as a council-style PDF."""
    layout = doc.get("layout", {})
    pagesize = landscape(A4) if layout.get("landscape") else A4
    two = layout.get("columns", 1) == 2
    templates = pdf_templates(pagesize, layout.get("top_height_cm", 8) * cm)
    if two:  # the first template in the list is used for page 1
        templates.insert(0, templates.pop(1))
    pdf = BaseDocTemplate(
        str(path), pagesize=pagesize, pageTemplates=templates, invariant=1,
        title=doc["title"], author=authority, subject=doc["kind"].replace("_", " "),
        creator="bv-triage demo corpus (corpus/build.py)",
    )
    width = pagesize[0] - 4 * cm
    story = pdf_story(doc, blocks, pdf_styles(), width, (width - 0.8 * cm) / 2)
    if two:
        story.insert(0, NextPageTemplate("two"))
    pdf.build(story, canvasmaker=furniture_canvas(doc["running_header"], doc.get("footer", authority)))


# --------------------------------------------------------------------------
# HTML (ModernGov-style report page)
# --------------------------------------------------------------------------

CSS = """body{font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;max-width:960px;margin:0 auto}
#mgHeader{border-bottom:3px solid #1d4f6e;padding:8px 0}
.mgSiteName{font-size:20px;font-weight:bold;color:#1d4f6e;margin:0}
.mgBreadcrumb{font-size:12px;color:#555}
table.mgReportTable{border-collapse:collapse;width:100%;margin:12px 0}
table.mgReportTable th{width:28%;text-align:left;vertical-align:top;background:#eef2f5}
table.mgReportTable td,table.mgReportTable th{border:1px solid #b0b8c0;padding:6px}
table.mgDataTable{border-collapse:collapse;margin:8px 0}
table.mgDataTable td,table.mgDataTable th{border:1px solid #888;padding:4px 6px;vertical-align:top}
p.mgNum{margin-left:3em;text-indent:-3em}
.mgParaNum{display:inline-block;width:3em;text-indent:0}
.mgBox{border:1px solid #888;background:#f4f4f4;padding:8px}
#mgFooter{border-top:1px solid #ccc;font-size:12px;color:#555;margin-top:24px;padding-top:8px}"""


def html_blocks(blocks: list[Block]) -> list[str]:
    """Render body blocks as HTML fragments."""
    out: list[str] = []
    for block in blocks:
        if block.kind == "h1":
            out.append(f"<h2>{inline_html(block.text)}</h2>")
        elif block.kind == "h2":
            out.append(f"<h3>{inline_html(block.text)}</h3>")
        elif block.kind == "para":
            out.append(f"<p>{inline_html(block.text)}</p>")
        elif block.kind == "box":
            out.append(f'<p class="mgBox">{inline_html(block.text)}</p>')
        elif block.kind == "num":
            out.append(f'<p class="mgNum"><span class="mgParaNum">{block.number}</span>'
                       f"{inline_html(block.text)}</p>")
        elif block.kind == "bullets":
            items = "".join(f"<li>{inline_html(i)}</li>" for i in block.items)
            out.append(f"<ul>{items}</ul>")
        elif block.kind == "table":
            head, *rows = block.rows
            th = "".join(f"<th>{inline_html(c)}</th>" for c in head)
            trs = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in r) + "</tr>"
                          for r in rows)
            out.append(f'<table class="mgDataTable"><thead><tr>{th}</tr></thead>'
                       f"<tbody>{trs}</tbody></table>")
    return out


def render_html(doc: dict[str, Any], blocks: list[Block], path: Path, authority: str) -> None:
    """Render one committee report as a ModernGov-style report web page."""
    meeting = doc["masthead"][1:] if doc.get("masthead") else []
    cover = "\n".join(
        f"<tr><th scope=\"row\">{html.escape(str(k))}</th><td>{inline_html(str(v))}</td></tr>"
        for k, v in doc.get("cover", [])
    )
    crumbs = " &gt; ".join(html.escape(c) for c in doc.get("breadcrumb", []))
    page = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{html.escape(doc["title"])} - {html.escape(authority)}</title>
<style>
{CSS}
</style>
</head>
<body>
<div id="mgHeader">
<p class="mgSiteName">{html.escape(authority)}</p>
<div class="mgBreadcrumb">{crumbs}</div>
</div>
<h1 class="mgMainTitle">{html.escape(doc["running_header"])}</h1>
<p class="mgSubTitle">{" - ".join(html.escape(m) for m in meeting)}</p>
<table class="mgReportTable">
{cover}
</table>
<div class="mgReportBody">
{chr(10).join(html_blocks(blocks))}
</div>
<div id="mgFooter">{inline_html(doc.get("footer", authority))}</div>
</body>
</html>
"""
    path.write_text(page, encoding="utf-8")


# --------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------


def add_runs(paragraph: Any, text: str) -> None:
    """Add text to a python-docx paragraph, honouring **bold** markup."""
    for i, part in enumerate(re.split(r"\*\*", text)):
        if part:
            paragraph.add_run(part).bold = bool(i % 2)


def add_field(paragraph: Any, instruction: str) -> None:
    """Append a simple Word field (e.g. PAGE) to a paragraph."""
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def docx_table(document: Any, rows: list[list[str]], header: bool = True) -> None:
    """Add a 'Table Grid' table, bold header row (or bold first column)."""
    ncols = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=ncols)
    table.style = "Table Grid"
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            para = table.cell(i, j).paragraphs[0]
            add_runs(para, value)
            if (header and i == 0) or (not header and j == 0):
                for run in para.runs:
                    run.bold = True
    document.add_paragraph()


def render_docx(doc: dict[str, Any], blocks: list[Block], path: Path, authority: str) -> None:
    """Render one document as a Word report with real heading and list styles."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    section = document.sections[0]
    section.header.paragraphs[0].text = doc["running_header"]
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Page ")
    add_field(footer, "PAGE")
    footer.add_run(" of ")
    add_field(footer, "NUMPAGES")

    for i, line in enumerate(doc.get("masthead", [])):
        run = document.add_paragraph().add_run(plain(line))
        run.bold, run.font.size = True, Pt(16 if i == 0 else 12)
    add_runs(document.add_paragraph(style="Title"), doc["title"])
    if doc.get("cover"):
        docx_table(document, [[str(c) for c in r] for r in doc["cover"]], header=False)
    for block in blocks:
        if block.kind in ("h1", "h2"):
            add_runs(document.add_paragraph(style=f"Heading {block.kind[1]}"), block.text)
        elif block.kind in ("para", "box"):
            para = document.add_paragraph()
            add_runs(para, block.text if block.kind == "para" else f"**{plain(block.text)}**")
        elif block.kind == "num":
            indent = Cm(1.25 * depth(block.number))
            para = document.add_paragraph()
            para.paragraph_format.left_indent = indent
            para.paragraph_format.first_line_indent = -Cm(1.25)
            para.paragraph_format.tab_stops.add_tab_stop(indent)
            add_runs(para, f"{block.number}\t{block.text}")
        elif block.kind == "bullets":
            for item in block.items:
                para = document.add_paragraph(style="List Bullet")
                para.paragraph_format.left_indent = Cm(1.9)
                add_runs(para, item)
        elif block.kind == "table":
            docx_table(document, block.rows)
        elif block.kind == "directive" and block.text == "pagebreak":
            document.add_page_break()

    stamp = dt.datetime.fromisoformat(f"{doc['date']}T09:00:00")
    props = document.core_properties
    props.author = props.last_modified_by = authority
    props.title, props.subject = doc["title"], doc["kind"].replace("_", " ")
    props.created = props.modified = props.last_printed = stamp
    props.revision = 1
    props.comments = props.keywords = props.category = ""
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(normalise_zip(buffer.getvalue()))


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and attributes so output is reproducible."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            dst.writestr(info, src.read(item.filename))
    return out.getvalue()


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

RENDERERS = {".pdf": render_pdf, ".html": render_html, ".docx": render_docx}


def load_documents() -> list[dict[str, Any]]:
    """Load and check every document definition under build_content/."""
    docs = []
    for source in sorted(CONTENT.glob("*/*.yaml")):
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
        doc["date"] = str(doc["date"])
        assert doc["kind"] in KINDS, f"{source}: unknown kind {doc['kind']}"
        assert doc["file"].startswith(f"{doc['authority']}/"), f"{source}: file/authority mismatch"
        docs.append(doc)
    return docs


def dump_yaml(data: Any, path: Path) -> None:
    """Write YAML with stable key order."""
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100),
                    encoding="utf-8")


def main() -> None:
    """Build all documents, the authority register and the manifest."""
    authorities = yaml.safe_load((CONTENT / "authorities.yaml").read_text(encoding="utf-8"))
    names = {a["slug"]: a["name"] for a in authorities}
    docs = load_documents()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    manifest = []
    for doc in sorted(docs, key=lambda d: d["file"]):
        path = OUT / doc["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        RENDERERS[path.suffix](doc, parse_body(doc["body"]), path, names[doc["authority"]])
        manifest.append({k: doc[k] for k in ("file", "authority", "kind", "date", "title")})
        print(f"wrote {path.relative_to(HERE.parent)}")
    dump_yaml(authorities, OUT / "authorities.yaml")
    dump_yaml({"documents": manifest}, OUT / "manifest.yaml")


if __name__ == "__main__":
    main()
