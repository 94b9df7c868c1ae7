"""OCR of pages without a text layer, through the installed tesseract."""

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from pipeline.errors import NeedsOCRError
from pipeline.extract import extract_document
from pipeline.extract.ocr import ocr_available
from pipeline.passages.segment import Segmenter

pytestmark = pytest.mark.slow  # tesseract reads rendered pages

LINES = ["1. Budget position", "", "The Council overspent its adult social care",
         "budget by 4.2 million pounds in the year."]


def scanned_letter(path: Path, with_text_page: bool = False) -> Path:
    """A PDF whose first page is a picture of typed text (no text layer)."""
    image = Image.new("L", (1700, 1000), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    for row, line in enumerate(LINES):
        draw.text((120, 120 + row * 90), line, fill=0, font=font)
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(image), 40, 400, width=515, height=303)
    c.showPage()
    if with_text_page:
        c.setFont("Helvetica", 11)
        c.drawString(72, 760, "The second page has an ordinary text layer about the capital programme.")
        c.showPage()
    c.save()
    return path


@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed (apt-get install tesseract-ocr)")
def test_scanned_page_is_read_by_ocr_and_marked(tmp_path):
    document = extract_document(scanned_letter(tmp_path / "scan.pdf", with_text_page=True))
    assert document.ocr_pages == [1]
    assert document.unread_pages == []
    text = " ".join(document.text.split()).lower()
    assert "overspent its adult social care" in text
    assert "capital programme" in text
    passages = Segmenter().passages(document)
    ocr = [p for p in passages if p.ocr]
    assert ocr and all(p.page == 1 for p in ocr)
    assert [p for p in passages if not p.ocr and p.page == 2]


def test_without_ocr_a_scanned_document_needs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_OCR", "off")
    with pytest.raises(NeedsOCRError, match="install tesseract-ocr"):
        extract_document(scanned_letter(tmp_path / "scan.pdf"))
    document = extract_document(scanned_letter(tmp_path / "mixed.pdf", with_text_page=True))
    assert document.unread_pages == [1] and document.ocr_pages == []
