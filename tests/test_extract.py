"""Extraction: typed blocks, reading order, furniture, tables and offsets for each format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from documents import (
    FOOTER,
    HEADER,
    SCRIPT_MARKER,
    make_docx,
    make_html,
    make_pdf,
    png_bytes,
)
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.domain import Block, BlockType, ExtractedDocument
from pipeline.extract import extract_bytes, extract_document, sniff_format
from pipeline.extract.ocr import ocr_available

# -- the documents -----------------------------------------------------------------------------------

PURPOSE = "1. Purpose of the report"
LEGAL = "5. Legal implications"
FINANCE = "2. Financial summary"
OPTIONS = "3. Options considered"
PARA_1_1 = ("1.1 The Council is asked to note the forecast outturn for the year and the actions proposed "
            "to recover the position in adult social care.")
PARA_5_2 = "5.2 The Council must set a balanced budget and keep it under review throughout the year."
BULLETS = ["Review the home care contract before the end of the financial year.",
           "Reduce agency staffing in children's services by a quarter."]
TABLE_ROWS = [["Service", "Budget £000", "Outturn £000", "Variance £000"],
              ["Adult social care", "120,500", "124,700", "4,200"],
              ["Highways", "30,100", "29,800", "-300"],
              ["Waste", "18,250", "18,900", "650"]]
LEFT = ["The first option is to do nothing and accept the overspend, drawing on general reserves to balance "
        "the budget at the end of the year.",
        "This option would reduce the general fund reserve below the minimum level recommended by the "
        "Section 151 Officer."]
RIGHT = ["The second option is to commission an independent review of demand management in adult social "
         "care and of the home care market.",
         "This option is recommended because it addresses the underlying causes of the pressure rather than "
         "its symptoms."]


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdf")
    return make_pdf(folder / "report.pdf", [
        [
            ("heading", PURPOSE),
            ("paragraph", PARA_1_1),
            ("paragraph", "1.2 The report also sets out the progress made on the imple-\nmentation of the savings "
                          "programme agreed by Cabinet in February."),
            ("bullet", BULLETS[0]),
            ("bullet", BULLETS[1]),
            ("heading", LEGAL),
            ("paragraph", "5.1 The Council has a duty under section 151 of the Local Government Act 1972 to make "
                          "arrangements for the proper administration of its financial affairs."),
            ("paragraph", PARA_5_2),
        ],
        [
            ("heading", FINANCE),
            ("table", TABLE_ROWS),
            ("paragraph", "2.1 The table above shows the forecast position by service at the end of the third "
                          "quarter."),
        ],
        [
            ("heading", OPTIONS),
            ("columns", ("\n\n".join(LEFT), "\n\n".join(RIGHT))),
        ],
    ])


@pytest.fixture(scope="module")
def report(report_pdf: Path) -> ExtractedDocument:
    return extract_document(report_pdf)


HTML_FIELDS = [("Report Title", "Revenue Budget Monitoring Quarter 3"),
               ("Recommendation(s)", "That the Committee notes the forecast overspend of £4.2m.")]
HTML_SECTIONS = [("1. Background", ["The Council agreed its revenue budget of £310m in February 2024.",
                                    "Demand for residential placements has grown faster than forecast."]),
                 ("2. Financial position", ["The forecast outturn is an overspend of £4.2m."])]
HTML_BULLETS = ["Agree the recovery plan", "Note the reserves position"]
HTML_TABLE = [["Service", "Budget", "Outturn", "Variance"],
              ["Adult social care", "120.5", "124.7", "4.2"],
              ["Highways", "30.1", "29.8", "-0.3"]]


@pytest.fixture(scope="module")
def html_doc() -> ExtractedDocument:
    page = make_html(report_fields=HTML_FIELDS, sections=HTML_SECTIONS, bullets=HTML_BULLETS,
                     data_table=HTML_TABLE, email_script=True)
    return extract_bytes(page.encode("utf-8"), "report.html")


DOCX_SECTIONS = [("1. Background", ["The Council agreed its budget in February 2024 after public consultation.",
                                    "The budget assumed savings of £12m across all directorates."])]
DOCX_BULLETS = ["Review the home care contract", "Reduce agency staffing"]
DOCX_TABLE = [["Risk", "Likelihood", "Mitigation"],
              ["Demand continues to rise", "High", "Review care packages"],
              ["Pay inflation", "Medium", "Hold a contingency"]]


@pytest.fixture(scope="module")
def docx_doc(tmp_path_factory: pytest.TempPathFactory) -> ExtractedDocument:
    path = make_docx(tmp_path_factory.mktemp("docx") / "report.docx", sections=DOCX_SECTIONS,
                     bullets=DOCX_BULLETS, table=DOCX_TABLE)
    return extract_document(path)


TEXT = """# Budget update

The Council agreed its budget in February.
It assumed savings of twelve million pounds.

Demand for adult social care has grown faster
than forecast, and the service is overspent.

- Agree the recovery plan.
"""


@pytest.fixture(scope="module")
def text_doc() -> ExtractedDocument:
    return extract_bytes(TEXT.encode("utf-8"), "notes.txt")


def of_type(document: ExtractedDocument, kind: BlockType) -> list[Block]:
    return [b for b in document.blocks if b.type is kind]


def find(document: ExtractedDocument, fragment: str) -> Block:
    """The one block whose text contains ``fragment``."""
    matches = [b for b in document.blocks if fragment in b.text]
    assert len(matches) == 1, f"{fragment!r} is in {len(matches)} blocks: {[b.text for b in matches]}"
    return matches[0]


# -- sniffing ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pdf"),
    (b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", "html"),
    (b"\xef\xbb\xbf<html><body>x</body></html>", "html"),
    (b"Plain notes about the budget.\nSecond line.\n", "text"),
    (png_bytes(), "binary"),
])
def test_sniff_format_reads_the_bytes_not_the_name(data: bytes, expected: str) -> None:
    assert sniff_format(data) == expected


def test_sniff_format_recognises_docx(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "a.docx", sections=[("Heading", ["Some text in a paragraph."])])
    assert sniff_format(path.read_bytes()) == "docx"


# -- PDF ---------------------------------------------------------------------------------------------

def test_pdf_document_metadata(report: ExtractedDocument) -> None:
    assert report.format == "pdf"
    assert report.pages == 3
    assert report.title == PURPOSE
    assert len(report.sha256) == 64


def test_pdf_bold_numbered_headings_are_headings(report: ExtractedDocument) -> None:
    headings = [(b.text, b.page, b.level) for b in of_type(report, BlockType.HEADING)]
    assert headings == [(PURPOSE, 1, 1), (LEGAL, 1, 1), (FINANCE, 2, 1), (OPTIONS, 3, 1)]


def test_pdf_numbered_paragraphs_are_paragraphs(report: ExtractedDocument) -> None:
    block = find(report, "1.1 The Council is asked")
    assert block.type is BlockType.PARAGRAPH
    assert block.page == 1
    assert block.text == PARA_1_1
    assert find(report, "5.2 The Council must").type is BlockType.PARAGRAPH


def test_pdf_bullets_are_separate_list_items(report: ExtractedDocument) -> None:
    items = of_type(report, BlockType.LIST_ITEM)
    assert len(items) == 2
    for item, expected in zip(items, BULLETS, strict=True):
        assert item.text.endswith(expected)
        assert item.page == 1


def test_pdf_running_header_footer_and_page_numbers_are_furniture(report: ExtractedDocument) -> None:
    for page in (1, 2, 3):
        on_page = [b for b in report.blocks if b.page == page]
        assert [b.text for b in on_page if b.type is BlockType.HEADER] == [HEADER]
        assert [b.text for b in on_page if b.type is BlockType.FOOTER] == [FOOTER]
        assert [b.text for b in on_page if b.type is BlockType.PAGE_NUMBER] == [f"Page {page} of 3"]


def test_pdf_furniture_never_inside_body_or_heading_text(report: ExtractedDocument) -> None:
    for block in report.blocks:
        if block.type.is_furniture:
            continue
        assert HEADER not in block.text
        assert FOOTER not in block.text
        assert "Page " not in block.text


def test_pdf_blocks_follow_page_order(report: ExtractedDocument) -> None:
    pages = [b.page for b in report.blocks]
    assert pages == sorted(pages)
    assert set(pages) == {1, 2, 3}


def test_pdf_two_column_page_reads_left_column_before_right(report: ExtractedDocument) -> None:
    text = report.text
    positions = [text.find(p) for p in (*LEFT, *RIGHT)]
    assert all(p >= 0 for p in positions), "each column paragraph is one unbroken block"
    assert positions == sorted(positions), "left column (both paragraphs) first, then the right column"
    for paragraph in (*LEFT, *RIGHT):
        assert find(report, paragraph).type is BlockType.PARAGRAPH


def test_pdf_ruled_table_keeps_rows_with_cells_joined(report: ExtractedDocument) -> None:
    tables = of_type(report, BlockType.TABLE)
    assert len(tables) == 1
    assert tables[0].page == 2
    assert tables[0].text.split("\n") == [" | ".join(row) for row in TABLE_ROWS]


def test_pdf_table_text_is_not_duplicated_as_paragraphs(report: ExtractedDocument) -> None:
    for cell in ("Adult social care", "124,700", "Highways", "Variance £000"):
        assert report.text.count(cell) == 1, cell
        assert find(report, cell).type is BlockType.TABLE


def test_pdf_table_sits_between_its_heading_and_the_following_paragraph(report: ExtractedDocument) -> None:
    page_two = [b for b in report.blocks if b.page == 2 and not b.type.is_furniture]
    assert [b.type for b in page_two] == [BlockType.HEADING, BlockType.TABLE, BlockType.PARAGRAPH]
    assert page_two[1].heading_path == (FINANCE,)


def test_pdf_hyphenated_line_end_word_is_joined(report: ExtractedDocument) -> None:
    block = find(report, "savings programme agreed by Cabinet")
    assert "the implementation of the savings programme" in block.text
    assert "imple-" not in block.text


def test_pdf_numbered_paragraph_heading_path_adds_its_number(report: ExtractedDocument) -> None:
    assert find(report, "5.2 The Council must").heading_path == (LEGAL, "5.2")
    assert find(report, "1.1 The Council is asked").heading_path == (PURPOSE, "1.1")
    assert find(report, BULLETS[0]).heading_path == (PURPOSE,)
    legal = find(report, LEGAL)
    assert legal.type is BlockType.HEADING
    assert legal.heading_path == (), "a sibling section does not nest under the previous one"


def test_pdf_image_only_page_is_listed_for_ocr(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "mixed.pdf", [
        [("heading", PURPOSE), ("paragraph", PARA_1_1)],
        [("image", "")],
        [("paragraph", "3.1 The final page reports on the audit of the pension fund accounts.")],
    ])
    document = extract_document(path)
    assert document.pages == 3
    # Read by OCR where tesseract is installed, else recorded as unread (the image has no text for OCR to find).
    assert (document.ocr_pages, document.unread_pages) == (([2], []) if ocr_available() else ([], [2]))
    assert not [b for b in document.blocks if b.page == 2]
    assert find(document, "3.1 The final page").page == 3


# -- HTML --------------------------------------------------------------------------------------------

def test_html_label_value_rows_become_label_colon_value_paragraphs(html_doc: ExtractedDocument) -> None:
    for label, value in HTML_FIELDS:
        block = find(html_doc, value)
        assert block.type is BlockType.PARAGRAPH
        assert block.text == f"{label}: {value}"


def test_html_script_and_style_text_never_appears(html_doc: ExtractedDocument) -> None:
    assert SCRIPT_MARKER not in html_doc.text
    assert "font-family" not in html_doc.text
    assert "document.write" not in html_doc.text
    assert "Contact the clerk by e-mail at" in html_doc.text


def test_html_list_items_become_list_item_blocks(html_doc: ExtractedDocument) -> None:
    assert [b.text for b in of_type(html_doc, BlockType.LIST_ITEM)] == HTML_BULLETS


def test_html_headings_come_from_h_tags_with_their_levels(html_doc: ExtractedDocument) -> None:
    headings = [(b.text, b.level) for b in of_type(html_doc, BlockType.HEADING)]
    assert headings == [("Report: Revenue Budget Monitoring", 1), ("1. Background", 2),
                        ("2. Financial position", 2)]
    paragraph = find(html_doc, "Demand for residential placements")
    assert paragraph.heading_path == ("Report: Revenue Budget Monitoring", "1. Background")
    assert find(html_doc, "2. Financial position").heading_path == ("Report: Revenue Budget Monitoring",)


def test_html_paragraphs_are_paragraph_blocks(html_doc: ExtractedDocument) -> None:
    for _, paragraphs in HTML_SECTIONS:
        for text in paragraphs:
            assert find(html_doc, text).type is BlockType.PARAGRAPH
            assert find(html_doc, text).text == text


def test_html_data_table_keeps_rows_with_cells_joined(html_doc: ExtractedDocument) -> None:
    tables = of_type(html_doc, BlockType.TABLE)
    assert len(tables) == 1
    assert tables[0].text.split("\n") == [" | ".join(row) for row in HTML_TABLE]
    assert html_doc.text.count("Adult social care") == 1


def test_html_three_column_data_table_stays_a_table() -> None:
    rows = [["Risk", "Likelihood", "Mitigation"],
            ["Demand continues to rise", "High", "Review care packages"],
            ["Pay inflation", "Medium", "Hold a contingency"]]
    document = extract_bytes(make_html(data_table=rows).encode("utf-8"), "risks.html")
    tables = of_type(document, BlockType.TABLE)
    assert [t.text.split("\n") for t in tables] == [[" | ".join(row) for row in rows]]
    assert "Risk: Likelihood" not in document.text


def test_html_nav_and_footer_are_furniture(html_doc: ExtractedDocument) -> None:
    assert find(html_doc, "Meetings").type is BlockType.HEADER
    assert find(html_doc, "Copyright Borsetshire").type is BlockType.FOOTER


def test_html_title_and_format(html_doc: ExtractedDocument) -> None:
    assert html_doc.format == "html"
    assert html_doc.title == "Report: Revenue Budget Monitoring"
    assert all(b.page is None for b in html_doc.blocks)


# -- DOCX --------------------------------------------------------------------------------------------

def test_docx_heading_styles_are_headings_with_levels(docx_doc: ExtractedDocument) -> None:
    headings = [(b.text, b.level) for b in of_type(docx_doc, BlockType.HEADING)]
    assert headings == [("Revenue Budget Monitoring 2024/25", 1), ("1. Background", 2)]
    paragraph = find(docx_doc, "public consultation")
    assert paragraph.type is BlockType.PARAGRAPH
    assert paragraph.heading_path == ("Revenue Budget Monitoring 2024/25", "1. Background")


def test_docx_list_bullet_paragraphs_are_list_items(docx_doc: ExtractedDocument) -> None:
    assert [b.text for b in of_type(docx_doc, BlockType.LIST_ITEM)] == DOCX_BULLETS


def test_docx_table_rows_with_cells_joined_and_not_duplicated(docx_doc: ExtractedDocument) -> None:
    tables = of_type(docx_doc, BlockType.TABLE)
    assert len(tables) == 1
    assert tables[0].text.split("\n") == [" | ".join(row) for row in DOCX_TABLE]
    assert docx_doc.text.count("Hold a contingency") == 1


def test_docx_header_and_footer_are_furniture(docx_doc: ExtractedDocument) -> None:
    assert [b.text for b in of_type(docx_doc, BlockType.HEADER)] == [HEADER]
    assert [b.text for b in of_type(docx_doc, BlockType.FOOTER)] == [FOOTER]
    for block in docx_doc.blocks:
        if not block.type.is_furniture:
            assert HEADER not in block.text
            assert FOOTER not in block.text


# -- plain text --------------------------------------------------------------------------------------

def test_text_paragraphs_split_on_blank_lines(text_doc: ExtractedDocument) -> None:
    paragraphs = [b.text for b in of_type(text_doc, BlockType.PARAGRAPH)]
    assert paragraphs == [
        "The Council agreed its budget in February. It assumed savings of twelve million pounds.",
        "Demand for adult social care has grown faster than forecast, and the service is overspent.",
    ]


def test_text_markdown_heading_and_list_item(text_doc: ExtractedDocument) -> None:
    assert [b.text for b in of_type(text_doc, BlockType.HEADING)] == ["Budget update"]
    assert [b.text for b in of_type(text_doc, BlockType.LIST_ITEM)] == ["- Agree the recovery plan."]
    assert all(b.heading_path == ("Budget update",) for b in text_doc.blocks if b.type.is_body)


def test_text_hyphenated_line_end_word_is_joined() -> None:
    document = extract_bytes(b"The report covers the imple-\nmentation of the savings programme.\n", "a.txt")
    assert document.blocks[0].text == "The report covers the implementation of the savings programme."


# -- offsets -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["report", "html_doc", "docx_doc", "text_doc"])
def test_block_offsets_index_the_document_text(name: str, request: pytest.FixtureRequest) -> None:
    document: ExtractedDocument = request.getfixturevalue(name)
    text = document.text
    previous_end = -1
    for block in document.blocks:
        assert text[block.start:block.end] == block.text
        assert block.start > previous_end
        previous_end = block.end
    assert previous_end == len(text)


# -- CLI ---------------------------------------------------------------------------------------------

def test_cli_extract_blocks_prints_one_json_object_per_block(report_pdf: Path, report: ExtractedDocument) -> None:
    result = CliRunner().invoke(app, ["extract", str(report_pdf), "--format", "blocks"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(report.blocks)
    assert {r["type"] for r in records} == {t.value for t in BlockType}
    for record in records:
        assert report.text[record["start"]:record["end"]] == record["text"]
    assert next(r for r in records if r["text"] == PARA_5_2)["heading"] == f"{LEGAL} > 5.2"
