"""OCR for pages with no text layer, through Debian's ``tesseract`` command when installed.

Set ``TRIAGE_OCR=off`` to skip OCR (scanned documents are then reported as needing it).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess

import pypdfium2 as pdfium

from pipeline.domain import Block, BlockType
from pipeline.errors import DocumentError, FailureReason
from pipeline.extract import layout

OCR_DPI = 300
OCR_TIMEOUT_SECONDS = 120
MIN_CONFIDENCE = 30.0


def ocr_enabled() -> bool:
    return os.environ.get("TRIAGE_OCR", "auto").lower() not in ("off", "0", "false", "no")


def ocr_available() -> bool:
    return ocr_enabled() and shutil.which("tesseract") is not None


def ocr_page(page: pdfium.PdfPage, number: int) -> list[Block]:
    """Render one page and read it with tesseract; paragraphs as tesseract groups them."""
    image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    try:
        result = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", "eng", "--psm", "3", "--dpi", str(OCR_DPI), "tsv"],
            input=buffer.getvalue(), capture_output=True, timeout=OCR_TIMEOUT_SECONDS, check=True,
        )
    except subprocess.TimeoutExpired as e:
        raise DocumentError(f"OCR of page {number} took over {OCR_TIMEOUT_SECONDS} s",
                            reason=FailureReason.OCR_FAILED) from e
    except subprocess.CalledProcessError as e:
        message = e.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise DocumentError(f"OCR of page {number} failed: {message[0]}", reason=FailureReason.OCR_FAILED) from e
    paragraphs: dict[tuple[str, str], list[list[str]]] = {}
    for row in csv.DictReader(io.StringIO(result.stdout.decode("utf-8", "replace")), delimiter="\t",
                              quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text or float(row.get("conf") or -1) < MIN_CONFIDENCE:
            continue
        lines = paragraphs.setdefault((row["block_num"], row["par_num"]), [])
        key = row["line_num"]
        if not lines or lines[-1][0] != key:
            lines.append([key])
        lines[-1].append(text)
    blocks = []
    for lines in paragraphs.values():
        text = layout.join_lines([" ".join(words[1:]) for words in lines])
        if layout.looks_like_page_number(text):
            kind = BlockType.PAGE_NUMBER
        elif layout.looks_like_heading(text):
            kind = BlockType.HEADING
        elif layout.looks_like_list_item(text):
            kind = BlockType.LIST_ITEM
        else:
            kind = BlockType.PARAGRAPH
        blocks.append(Block(kind, text, number, ocr=True, level=layout.heading_level(text) if kind is
                            BlockType.HEADING else 0))
    return blocks
