"""Block extraction (pdfium text + ruled tables, typed blocks) against pdfplumber's plain
``extract_text()`` on the same pages."""

from __future__ import annotations

from pathlib import Path

import pdfplumber

from bench.common import Figure, timed
from pipeline.errors import DocumentError
from pipeline.extract import extract_document


def pdfs(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf"))


def run(name: str, folder: Path) -> list[Figure]:
    ours = plain = 0.0
    pages = 0
    for path in pdfs(folder):
        try:
            seconds, document = timed(lambda p=path: extract_document(p))
        except DocumentError:
            continue  # scanned or unreadable: not a text-layer comparison
        if document.ocr_pages:
            continue
        ours += seconds
        pages += document.pages or 0

        def read_plain(p: Path = path) -> None:
            with pdfplumber.open(p) as pdf:
                for page in pdf.pages:
                    page.extract_text()

        plain += timed(read_plain)[0]
    if not pages:
        return []
    return [Figure(f"extraction ({name})", "pages/s, typed blocks incl. tables", pages / ours, "pages/s",
                   "pdfplumber extract_text() pages/s", pages / plain, plain / ours)]
