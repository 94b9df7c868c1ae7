"""Segmentation: passages index the document text, skip page furniture, respect the token
budget at sentence boundaries, merge short fragments and mark boilerplate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from documents import FOOTER, HEADER, long_paragraph, make_docx, make_html, make_pdf
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.domain import BlockType, ExtractedDocument, Passage
from pipeline.extract import extract_bytes, extract_document
from pipeline.passages.boilerplate import boilerplate_reason
from pipeline.passages.segment import Segmenter

PAGE_ONE = ("1.1 The Council is asked to note the forecast outturn for the year and the actions proposed to "
            "recover the position in adult social care.")
PAGE_TWO = ("2.1 The capital programme has slipped by £6.3m because two school building projects started "
            "later than planned.")
LONG = long_paragraph(600)


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter()


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("seg") / "report.pdf", [
        [("heading", "1. Purpose of the report"), ("paragraph", PAGE_ONE),
         ("bullet", "Review the home care contract before the end of the financial year."),
         ("heading", "5. Legal implications"),
         ("paragraph", "5.2 The Council must set a balanced budget and keep it under review throughout the year.")],
        [("heading", "2. Capital programme"), ("paragraph", PAGE_TWO),
         ("table", [["Scheme", "Budget £000", "Forecast £000"], ["Primary school", "4,100", "1,200"],
                    ["Secondary school", "6,000", "2,600"]])],
        [("heading", "3. Revenue monitoring"), ("paragraph", LONG)],
    ])


@pytest.fixture(scope="module")
def pdf_doc(pdf_path: Path) -> ExtractedDocument:
    return extract_document(pdf_path)


@pytest.fixture(scope="module")
def pdf_passages(segmenter: Segmenter, pdf_doc: ExtractedDocument) -> list[Passage]:
    return segmenter.passages(pdf_doc)


def text_document(body: str, name: str = "notes.txt") -> ExtractedDocument:
    return extract_bytes(body.encode("utf-8"), name)


def containing(passages: list[Passage], fragment: str) -> Passage:
    matches = [p for p in passages if fragment in p.text]
    assert len(matches) == 1, f"{fragment!r} is in {len(matches)} passages"
    return matches[0]


# -- furniture, offsets, pages -----------------------------------------------------------------------

def test_passages_never_contain_page_furniture(pdf_passages: list[Passage]) -> None:
    assert pdf_passages
    for passage in pdf_passages:
        assert HEADER not in passage.text
        assert FOOTER not in passage.text
        assert "Page " not in passage.text
        assert passage.block_type.is_body


def test_headings_are_not_passages(pdf_passages: list[Passage]) -> None:
    assert not [p for p in pdf_passages if p.text.strip() in ("1. Purpose of the report", "5. Legal implications")]


def test_passage_text_is_the_document_slice(pdf_passages: list[Passage], pdf_doc: ExtractedDocument) -> None:
    for passage in pdf_passages:
        assert passage.text == pdf_doc.text[passage.start:passage.end]
        assert passage.document == pdf_doc.sha256


@pytest.mark.parametrize("kind", ["html", "docx", "text"])
def test_passage_text_is_the_document_slice_in_other_formats(kind: str, segmenter: Segmenter,
                                                             tmp_path: Path) -> None:
    paragraphs = ["The Council agreed its revenue budget of £310m in February after consultation.", LONG]
    if kind == "html":
        document = extract_bytes(make_html(sections=[("1. Background", paragraphs)]).encode(), "a.html")
    elif kind == "docx":
        document = extract_document(make_docx(tmp_path / "a.docx", sections=[("1. Background", paragraphs)]))
    else:
        document = text_document("# 1. Background\n\n" + "\n\n".join(paragraphs))
    passages = segmenter.passages(document)
    assert len(passages) > 2
    for passage in passages:
        assert passage.text == document.text[passage.start:passage.end]
        assert passage.page is None


def test_passage_ordinals_count_from_zero(pdf_passages: list[Passage]) -> None:
    assert [p.ordinal for p in pdf_passages] == list(range(len(pdf_passages)))
    starts = [p.start for p in pdf_passages]
    assert starts == sorted(starts)


def test_passage_pages_are_one_based(pdf_passages: list[Passage]) -> None:
    assert containing(pdf_passages, "1.1 The Council is asked").page == 1
    assert containing(pdf_passages, "2.1 The capital programme").page == 2
    assert containing(pdf_passages, "Primary school").page == 2
    assert {p.page for p in pdf_passages} == {1, 2, 3}


def test_passage_heading_joins_the_heading_path(pdf_passages: list[Passage]) -> None:
    assert containing(pdf_passages, "5.2 The Council must").heading == "5. Legal implications > 5.2"
    assert containing(pdf_passages, "Review the home care").heading == "1. Purpose of the report"
    assert containing(pdf_passages, "Primary school").block_type is BlockType.TABLE


# -- token budget and sentences ---------------------------------------------------------------------

def test_long_paragraph_split_at_sentence_ends_within_default_budget(pdf_passages: list[Passage],
                                                                    segmenter: Segmenter) -> None:
    assert segmenter.count_tokens(LONG) > segmenter.max_tokens
    pieces = [p for p in pdf_passages if p.heading == "3. Revenue monitoring"]
    assert len(pieces) >= 2
    for piece in pieces:
        assert segmenter.count_tokens(piece.text) <= segmenter.max_tokens
        assert piece.text.startswith("In month "), "each piece starts a sentence"
        assert piece.text.endswith("at its next meeting."), "each piece ends a sentence"
        assert piece.page == 3
    assert " ".join(p.text for p in pieces) == LONG


def test_small_budget_splits_every_paragraph_within_budget() -> None:
    segmenter = Segmenter(max_tokens=40)
    document = text_document("# Revenue\n\n" + LONG)
    passages = segmenter.passages(document)
    assert len(passages) > 10
    for passage in passages:
        assert segmenter.count_tokens(passage.text) <= 40
        assert passage.text.endswith("."), passage.text
        assert passage.text == document.text[passage.start:passage.end]


def test_sentence_longer_than_budget_is_cut_between_words() -> None:
    segmenter = Segmenter(max_tokens=12)
    sentence = ("The committee considered the detailed budget monitoring report covering adult social care "
                "children's services highways waste and the housing revenue account for the third quarter.")
    passages = segmenter.passages(text_document(sentence))
    assert len(passages) > 1
    assert " ".join(p.text for p in passages) == sentence
    for passage in passages:
        assert segmenter.count_tokens(passage.text) <= 12


@pytest.mark.parametrize(("before", "after"), [
    ("The report was presented by Cllr.", "Smith, who explained that the backlog had fallen by a third since April."),
    ("The revised repair targets are set out in para.", "4.2 of the report and will be reviewed in the autumn."),
])
def test_abbreviations_do_not_end_a_sentence(before: str, after: str) -> None:
    # The budget fits the lead sentence plus the words up to the abbreviation, and each whole
    # sentence, but not both sentences: a split after the abbreviation would leave a passage
    # ending with it.
    lead = ("The committee received the quarterly performance report on the council's housing repairs "
            "service and the backlog of outstanding jobs.")
    sentence = f"{before} {after}"
    probe = Segmenter()
    budget = max(probe.count_tokens(lead), probe.count_tokens(sentence), probe.count_tokens(f"{lead} {before}"))
    assert probe.count_tokens(f"{lead} {sentence}") > budget, "the test needs the two sentences not to fit"
    passages = Segmenter(max_tokens=budget).passages(text_document(f"{lead} {sentence}"))
    assert [p.text for p in passages] == [lead, sentence]


# -- short fragments ---------------------------------------------------------------------------------

SECTIONS = """# 1. Background

Demand has risen.

The Council agreed its revenue budget for the year in February after public consultation.

The budget assumed savings of twelve million pounds across the directorates.

Savings are behind plan.

# 2. Finance

The forecast outturn is an overspend of four million pounds on the general fund.

Reserves remain adequate.
"""


@pytest.fixture(scope="module")
def section_passages(segmenter: Segmenter) -> list[Passage]:
    return segmenter.passages(text_document(SECTIONS))


def test_short_fragment_merged_with_following_paragraph(section_passages: list[Passage]) -> None:
    passage = containing(section_passages, "Demand has risen.")
    assert passage.text.startswith("Demand has risen.")
    assert passage.text.endswith("after public consultation.")
    assert passage.heading == "1. Background"


def test_short_fragment_at_section_end_merged_with_previous(section_passages: list[Passage]) -> None:
    passage = containing(section_passages, "Savings are behind plan.")
    assert passage.text.startswith("The budget assumed savings"), "joined to the previous paragraph"
    assert passage.heading == "1. Background"


def test_short_fragment_at_document_end_merged_with_previous(section_passages: list[Passage]) -> None:
    passage = containing(section_passages, "Reserves remain adequate.")
    assert passage.text.startswith("The forecast outturn")
    assert passage.heading == "2. Finance"


def test_short_fragments_never_merge_across_headings(section_passages: list[Passage]) -> None:
    for passage in section_passages:
        assert not ("Savings are behind plan." in passage.text and "forecast outturn" in passage.text)
        assert "# 2. Finance" not in passage.text and "\n\n2. Finance" not in passage.text


# -- ids ---------------------------------------------------------------------------------------------

def test_passage_ids_stable_across_extractions_of_the_same_bytes(pdf_path: Path, segmenter: Segmenter) -> None:
    first = segmenter.passages(extract_document(pdf_path))
    second = segmenter.passages(extract_bytes(pdf_path.read_bytes(), "copy.pdf"))
    assert [p.id for p in first] == [p.id for p in second]
    assert len({p.id for p in first}) == len(first)


def test_passage_ids_differ_for_different_bytes(segmenter: Segmenter) -> None:
    body = "The Council agreed its revenue budget for the year in February after public consultation."
    first = segmenter.passages(text_document(body))
    second = segmenter.passages(text_document(body.replace("February", "March!!!")))
    assert [(p.start, p.end) for p in first] == [(p.start, p.end) for p in second]
    assert {p.id for p in first}.isdisjoint({p.id for p in second})


# -- boilerplate -------------------------------------------------------------------------------------

BOILERPLATE = [
    ("There are no legal implications arising from this report.", "template"),
    ("Contact officer: Jane Smith, Tel: 01234 567890", "contact"),
    ("Apologies for absence were received from Councillor Brown.", "procedural"),
    ("Click to select comment.", "template"),
]
SUBSTANTIVE = "The Council overspent its adult social care budget by £4.2m."


@pytest.fixture(scope="module")
def boilerplate_passages(segmenter: Segmenter) -> list[Passage]:
    lines = [SUBSTANTIVE] + [text for text, _ in BOILERPLATE]
    return segmenter.passages(text_document("# 4. Implications\n\n" + "\n\n".join(lines)))


@pytest.mark.parametrize(("line", "reason"), BOILERPLATE)
def test_boilerplate_passages_are_marked_and_kept(line: str, reason: str,
                                                 boilerplate_passages: list[Passage]) -> None:
    passage = containing(boilerplate_passages, line)
    assert passage.text == line, "kept as its own passage, not merged or dropped"
    assert passage.boilerplate is True
    assert passage.boilerplate_reason == reason


def test_substantive_sentence_is_not_boilerplate(boilerplate_passages: list[Passage]) -> None:
    passage = containing(boilerplate_passages, SUBSTANTIVE)
    assert passage.boilerplate is False
    assert passage.boilerplate_reason is None


@pytest.mark.parametrize(("text", "reason"), [
    *BOILERPLATE,
    ("Page 3 of 12", "furniture"),
    ("12", "furniture"),
    ("3.4 There are no financial implications arising from this report.", "template"),
    ("The minutes of the previous meeting were agreed as a correct record.", "procedural"),
])
def test_boilerplate_reason_names_the_rule(text: str, reason: str) -> None:
    assert boilerplate_reason(text) == reason


@pytest.mark.parametrize("text", [
    SUBSTANTIVE,
    "The legal implications of the new contract are set out in Appendix B.",
    "Councillor Brown asked why the contract had been extended without a procurement exercise.",
])
def test_substantive_text_has_no_boilerplate_reason(text: str) -> None:
    assert boilerplate_reason(text) is None


# -- CLI ---------------------------------------------------------------------------------------------

def test_cli_extract_prints_passages_as_json_lines(pdf_path: Path, pdf_passages: list[Passage]) -> None:
    result = CliRunner().invoke(app, ["extract", str(pdf_path)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [p.id for p in pdf_passages]
    assert [r["text"] for r in records] == [p.text for p in pdf_passages]
    assert {"id", "page", "heading", "start", "end", "text", "boilerplate", "boilerplate_reason",
            "block_type"} <= set(records[0])
