"""The real-text development rows: references into real council papers plus labels, text rebuilt on load.

``corpus/devset/real.jsonl`` holds, per labelled passage of a real document, the document's path
under the shared folder (``TRIAGE_SHARED_DIR``, default ``../shared``), its sha256, the passage's
page and offsets in ``triage extract``'s output, the sha256 of the passage text, and the labels.
The repository holds no sentence of those documents: ``load_real_rows`` re-extracts each document
once with the project's extractor and segmenter and takes the passage at the recorded offsets.
A row whose document is absent, whose bytes changed, or whose passage text no longer matches is
skipped, and the reasons are returned, so training and tests can say exactly what they left out.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.paths import REAL_DEVSET, SHARED_DIR

if TYPE_CHECKING:
    from pipeline.passages.segment import Segmenter


def text_sha256(text: str) -> str:
    """The identity of a passage's text that a row records and loading checks: both sides must hash alike."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RealRef:
    gid: str
    file: str  # relative to the shared folder
    sha256: str  # of the document's bytes
    page: int | None
    start: int
    end: int
    text_sha256: str
    sampled: str  # "random" | "near:embedding" | "near:keywords"
    theme: str | None
    polarity: str | None
    entries: tuple[str, ...]
    confidence: str
    agreement: str  # "agreed" | "adjudicated"


@dataclass(frozen=True)
class RealPassage:
    ref: RealRef
    text: str  # as `triage extract` gives it


@dataclass(frozen=True)
class RealLoad:
    passages: list[RealPassage]
    skipped: dict[str, str]  # gid -> why it was left out

    def summary(self) -> str:
        """One line: how many rows were rebuilt and why any were left out."""
        if not self.skipped:
            return f"{len(self.passages)} real-text rows rebuilt from {SHARED_DIR}"
        reasons = Counter(self.skipped.values()).most_common(3)
        shown = "; ".join(f"{n} x {reason}" for reason, n in reasons)
        return f"{len(self.passages)} real-text rows rebuilt, {len(self.skipped)} skipped ({shown})"


def read_refs(path: Path = REAL_DEVSET) -> list[RealRef]:
    refs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            refs.append(RealRef(
                gid=str(raw["gid"]), file=raw["file"], sha256=raw["sha256"], page=raw.get("page"),
                start=int(raw["start"]), end=int(raw["end"]), text_sha256=raw["text_sha256"], sampled=raw["sampled"],
                theme=raw["theme"], polarity=raw["polarity"], entries=tuple(raw["entries"]),
                confidence=raw["confidence"], agreement=raw["agreement"],
            ))
    return refs


def load_real_rows(path: Path = REAL_DEVSET, shared: Path | None = None) -> RealLoad:
    """Rebuild every row's text from the shared documents; rows that cannot be rebuilt are skipped with a reason."""
    return rebuild(read_refs(path), shared)


def rebuild(refs: Sequence[RealRef], shared: Path | None = None) -> RealLoad:
    """The passages of ``refs`` re-extracted from the shared documents (each document once), or why not."""
    shared = shared or SHARED_DIR
    by_file: dict[str, list[RealRef]] = {}
    for ref in refs:
        by_file.setdefault(ref.file, []).append(ref)
    passages: list[RealPassage] = []
    skipped: dict[str, str] = {}
    for file, group in sorted(by_file.items()):
        texts, problem = _passage_texts(shared, file, group[0].sha256)
        for ref in group:
            text = texts.get((ref.start, ref.end)) if problem is None else None
            if problem is not None:
                skipped[ref.gid] = problem
            elif text is None:
                skipped[ref.gid] = "no passage at the recorded offsets (extractor changed?)"
            elif text_sha256(text) != ref.text_sha256:
                skipped[ref.gid] = "the passage text changed (extractor changed?)"
            else:
                passages.append(RealPassage(ref, text))
    return RealLoad(passages, skipped)


def _passage_texts(shared: Path, file: str, sha256: str) -> tuple[dict[tuple[int, int], str], str | None]:
    """The document's passages by (start, end), or the reason they cannot be had."""
    from pipeline.errors import DocumentError
    from pipeline.extract import extract_document

    path = shared / file
    if not path.is_file():
        return {}, f"{shared} is absent" if not shared.is_dir() else f"document {file} is absent"
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        return {}, f"document {file} changed since labelling"
    try:
        document = extract_document(path)
    except DocumentError as e:
        return {}, f"document {file} cannot be extracted: {e}"
    return {(p.start, p.end): p.text for p in _segmenter().passages(document)}, None


@cache
def _segmenter() -> Segmenter:
    """One spaCy segmenter per process: loading it costs a second, and every document needs it."""
    from pipeline.passages.segment import Segmenter

    return Segmenter()
