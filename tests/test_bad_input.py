"""Unreadable documents: each fails with the right reason code, and the CLI exits 2 with
one line on stderr naming the reason."""

from __future__ import annotations

import functools
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from documents import inflate_docx, make_docx, make_html, make_pdf, png_bytes, write, write_scanned_pdf
from typer.testing import CliRunner

import pipeline.extract
from pipeline.cli import app
from pipeline.errors import DocumentError
from pipeline.extract import extract_bytes, extract_document
from pipeline.extract.limits import DEFAULT_LIMITS, Limits


@pytest.fixture(autouse=True)
def _no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """These cases are about reasons for failing; OCR of scanned pages is tested in test_ocr.py."""
    monkeypatch.setenv("TRIAGE_OCR", "off")


def good_pdf(path: Path, pages: int = 3) -> Path:
    return make_pdf(path, [
        [("heading", f"{n}. Section {n}"),
         ("paragraph", f"{n}.1 The Council reviewed the budget position for section {n} in some detail.")]
        for n in range(1, pages + 1)
    ])


def zero_bytes(folder: Path) -> Path:
    return write(folder / "empty.pdf", b"")


def corrupt_pdf(folder: Path) -> Path:
    return write(folder / "corrupt.pdf", b"%PDF-1.4\n" + random.Random(7).randbytes(4096))


def truncated_pdf(folder: Path) -> Path:
    data = good_pdf(folder / "whole.pdf").read_bytes()
    return write(folder / "truncated.pdf", data[: len(data) // 2])


def encrypted_pdf(folder: Path) -> Path:
    return make_pdf(folder / "encrypted.pdf", [[("heading", "1. Confidential"),
                                                ("paragraph", "1.1 The settlement figure is not public.")]],
                    encrypt="userpw")


def scanned_pdf(folder: Path) -> Path:
    return write_scanned_pdf(folder / "scanned.pdf", pages=2)


def html_named_pdf(folder: Path) -> Path:
    page = make_html(sections=[("1. Background", ["The Council agreed its budget in February."])])
    return write(folder / "agenda.pdf", page)


def docx_named_pdf(folder: Path) -> Path:
    data = make_docx(folder / "real.docx", sections=[("1. Background", ["Some text."])]).read_bytes()
    return write(folder / "report.pdf", data)


def png_named_xyz(folder: Path) -> Path:
    return write(folder / "picture.xyz", png_bytes())


def plain_zip_named_docx(folder: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes/readme.txt", "not a Word document")
    return write(folder / "archive.docx", buffer.getvalue())


def blank_text(folder: Path) -> Path:
    return write(folder / "blank.txt", "   \n\n\t\n  ")


def script_only_html(folder: Path) -> Path:
    return write(folder / "empty.html", "<html><head><script>var x = 1;</script></head><body>\n</body></html>")


def oversized(folder: Path) -> Path:
    return good_pdf(folder / "big.pdf", pages=1)


def too_many_pages(folder: Path) -> Path:
    return good_pdf(folder / "long.pdf", pages=3)


def docx_bomb(folder: Path) -> Path:
    path = make_docx(folder / "bomb.docx", sections=[("1. Background", ["The Council agreed its budget."])])
    return inflate_docx(path, 4_000_000)


# (case id, builder, expected reason, limits)
CASES: list[tuple[str, Callable[[Path], Path], str, Limits]] = [
    ("zero-byte file", zero_bytes, "empty", DEFAULT_LIMITS),
    ("blank text file", blank_text, "empty", DEFAULT_LIMITS),
    ("html with only a script", script_only_html, "empty", DEFAULT_LIMITS),
    ("corrupt pdf", corrupt_pdf, "corrupt", DEFAULT_LIMITS),
    ("truncated pdf", truncated_pdf, "corrupt", DEFAULT_LIMITS),
    ("encrypted pdf", encrypted_pdf, "encrypted", DEFAULT_LIMITS),
    ("scanned pdf", scanned_pdf, "needs_ocr", DEFAULT_LIMITS),
    ("html named .pdf", html_named_pdf, "mislabelled", DEFAULT_LIMITS),
    ("docx named .pdf", docx_named_pdf, "mislabelled", DEFAULT_LIMITS),
    ("png named .xyz", png_named_xyz, "unsupported_format", DEFAULT_LIMITS),
    ("plain zip named .docx", plain_zip_named_docx, "unsupported_format", DEFAULT_LIMITS),
    ("oversized file", oversized, "too_large", Limits(max_bytes=1_000)),
    ("too many pages", too_many_pages, "too_large", Limits(max_pages=2)),
    ("docx zip bomb", docx_bomb, "too_large", Limits(max_decompressed_bytes=1_000_000)),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(("builder", "reason", "limits"), [case[1:] for case in CASES], ids=IDS)
def test_bad_input_raises_document_error_with_reason(builder: Callable[[Path], Path], reason: str,
                                                     limits: Limits, tmp_path: Path) -> None:
    path = builder(tmp_path)
    with pytest.raises(DocumentError) as caught:
        extract_document(path, limits)
    assert caught.value.reason == reason
    assert str(caught.value).strip(), "the error says what went wrong"


@pytest.mark.parametrize(("builder", "reason", "limits"), [case[1:] for case in CASES], ids=IDS)
def test_bad_input_from_bytes_gives_the_same_reason(builder: Callable[[Path], Path], reason: str,
                                                    limits: Limits, tmp_path: Path) -> None:
    path = builder(tmp_path)
    with pytest.raises(DocumentError) as caught:
        extract_bytes(path.read_bytes(), path.name, limits)
    assert caught.value.reason == reason


@pytest.mark.parametrize(("builder", "reason", "limits"), [case[1:] for case in CASES], ids=IDS)
def test_cli_exits_2_with_one_line_naming_the_reason(builder: Callable[[Path], Path], reason: str, limits: Limits,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = builder(tmp_path)
    if limits != DEFAULT_LIMITS:  # the CLI has no limit options; lower them for this run
        monkeypatch.setattr(pipeline.extract, "extract_document",
                            functools.partial(pipeline.extract.extract_document, limits=limits))
    result = CliRunner().invoke(app, ["extract", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert reason in lines[0]
    assert path.name in lines[0]
    assert result.stdout == ""


def test_cli_reports_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "missing.pdf")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "missing.pdf" in result.stderr


def test_limits_that_are_not_exceeded_do_not_fail(tmp_path: Path) -> None:
    path = too_many_pages(tmp_path)
    document = extract_document(path, Limits(max_pages=3, max_bytes=path.stat().st_size))
    assert document.pages == 3


def test_docx_within_decompressed_limit_is_read(tmp_path: Path) -> None:
    path = docx_bomb(tmp_path)
    document = extract_document(path, Limits(max_decompressed_bytes=10_000_000))
    assert "The Council agreed its budget." in document.text
