"""Robustness on real council papers (../shared/evaldocs). These documents are held out
for evaluating classification: here they only check that extraction copes."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.extract.ocr import ocr_available

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout

EVALDOCS = PROJECT_ROOT.parent / "shared" / "evaldocs"
DOCUMENTS = sorted(p for p in EVALDOCS.glob("*") if p.suffix in (".pdf", ".html")) if EVALDOCS.is_dir() else []
pytestmark = [pytest.mark.skipif(not DOCUMENTS, reason="../shared/evaldocs is not present on this machine"),
              pytest.mark.slow]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name[:60])
def test_extract_cli_gives_passages_or_a_reason(path: Path):
    result = CliRunner().invoke(app, ["extract", str(path)])
    if "SCANNED" in path.name and not ocr_available():
        assert result.exit_code == 2, result.output
        assert "needs_ocr" in result.stderr and len(result.stderr.strip().splitlines()) == 1
        return
    assert result.exit_code == 0, result.output
    passages = [json.loads(line) for line in result.stdout.splitlines()]
    assert passages
    if "SCANNED" in path.name:
        assert all(p["ocr"] for p in passages)
    for passage in passages:
        assert {"id", "page", "heading", "start", "end", "text", "boilerplate"} <= set(passage)
        assert passage["text"].strip()
        if path.suffix == ".pdf":
            assert isinstance(passage["page"], int) and passage["page"] >= 1
    assert len({p["id"] for p in passages}) == len(passages)


TEXT_PDFS = [p for p in DOCUMENTS if p.suffix == ".pdf" and "SCANNED" not in p.name]


@pytest.mark.parametrize("path", TEXT_PDFS, ids=lambda p: p.name[:60])
def test_words_are_kept_and_furniture_never_reaches_a_passage(path: Path, segmenter):
    """At least 95% of the words pdfplumber's plain extract_text() finds are in some block;
    no passage is a page number, a running header or a footer."""
    import re
    from collections import Counter

    import pdfplumber

    from pipeline.extract import extract_document
    from pipeline.extract.layout import furniture_key, looks_like_page_number

    document = extract_document(path)
    with pdfplumber.open(path) as pdf:
        reference = Counter(re.findall(r"\w+", " ".join(p.extract_text() or "" for p in pdf.pages).lower()))
    ours = Counter(re.findall(r"\w+", document.text.lower()))
    kept = sum(min(n, ours[w]) for w, n in reference.items()) / max(1, sum(reference.values()))
    assert kept >= 0.95, f"only {kept:.1%} of the words kept"
    furniture = {furniture_key(b.text) for b in document.blocks if b.type.is_furniture}
    for passage in segmenter.passages(document):
        assert not looks_like_page_number(passage.text), passage.text
        assert furniture_key(passage.text) not in furniture, passage.text
