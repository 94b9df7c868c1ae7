"""The repository holds no copied sentences of the real documents in ../shared: labelled rows keep references,
and everything written here (demo corpus, exemplars, written passages, tests) is our own wording.

A run of RUN consecutive words shared with a real document fails the test. Shorter runs are allowed: councils and
the Ombudsman repeat stock statutory formulas ("whether any fault has had an adverse impact on the person making
the complaint", 15 words) that any text about them uses. The statutory guide (seeds/000) and the Welsh protocol
(seeds/002) are the taxonomy's sources (taxonomy/build.py builds the taxonomy files from them, with attribution):
their words are allowed, also where a council paper quotes them, and so are the words of statute (public law that
every annual governance statement quotes).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pipeline.paths import SHARED_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_DIR.is_dir(), reason=f"{SHARED_DIR} (the real documents) is not present; "
                                                       "set TRIAGE_SHARED_DIR"),
]

RUN = 20
REPO = Path(__file__).resolve().parent.parent
SOURCES_OF_THE_TAXONOMY = ("seeds/000_", "seeds/002_")
# The Best Value duty, Local Government Act 1999, section 3(1); taken out of both sides before comparing.
STATUTE = re.compile(r"make arrangements to secure continuous improvement in the way in which its functions are "
                     r"exercised having regard to a combination of economy efficiency and effectiveness")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".jsonl", ".tsv", ".csv", ".txt", ".html", ".toml"}
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[a-z0-9£%]+")


def _words(text: str) -> list[str]:
    return STATUTE.sub(" ", " ".join(_WORD.findall(_TAG.sub(" ", text).lower()))).split()


def _document_text(path: Path) -> str:
    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            return " ".join(page.get_textpage().get_text_range() for page in pdf)
        finally:
            pdf.close()
    return path.read_text(encoding="utf-8", errors="replace")


def _windows(words: list[str]) -> list[str]:
    return [" ".join(words[i:i + RUN]) for i in range(len(words) - RUN + 1)]


def _real_runs() -> dict[str, str]:
    """Every RUN-word window of every real document (held-out ones included) that is not the taxonomy sources'
    own wording, mapped to its document."""
    documents = [path for path in sorted(SHARED_DIR.rglob("*"))
                 if path.is_file() and path.suffix.lower() in {".pdf", ".txt", ".html", ".xml"}]
    runs: dict[str, str] = {}
    allowed: set[str] = set()
    for path in documents:
        name = path.relative_to(SHARED_DIR).as_posix()
        windows = _windows(_words(_document_text(path)))
        if name.startswith(SOURCES_OF_THE_TAXONOMY):
            allowed.update(windows)
        else:
            for window in windows:
                runs.setdefault(window, name)
    return {window: name for window, name in runs.items() if window not in allowed}


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in listed.decode().split("\0") if name and Path(name).suffix in TEXT_SUFFIXES]


def test_no_file_of_the_repository_copies_a_run_of_words_from_a_real_document():
    real = _real_runs()
    assert len(real) > 100_000  # the documents were read
    copies = []
    for path in _tracked_text_files():
        for window in _windows(_words(path.read_text(encoding="utf-8", errors="replace"))):
            if window in real:
                copies.append(f"{path.relative_to(REPO)} copies {real[window]}: {window!r}")
                break
    assert not copies, "\n".join(copies)
