"""Guess a document's title, date and kind from its file name and content.

Each guess carries a confidence in [0, 1]; a manifest value overrides a guess and has
confidence 1. The guesses are rules, not a model: cheap, explainable, and good enough
to route filters and the feed until an analyst or a manifest says otherwise.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.domain import BlockType, DocumentMetadata, ExtractedDocument, Guess

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
_MONTHS.update({name[:3]: number for name, number in list(_MONTHS.items())})
_MONTHS["sept"] = 9

_ISO = re.compile(r"(?<!\d)(20\d\d|19\d\d)[-_.](0[1-9]|1[0-2])[-_.](0[1-9]|[12]\d|3[01])(?!\d)")
_DMY = re.compile(r"(?<!\d)(0?[1-9]|[12]\d|3[01])[/.](0?[1-9]|1[0-2])[/.](20\d\d|19\d\d)(?!\d)")
_WORDY = re.compile(r"(?<!\d)(0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(" + "|".join(sorted(_MONTHS, key=len,
                    reverse=True)) + r")[a-z]*\.?,?\s+(20\d\d|19\d\d)(?!\d)", re.IGNORECASE)

_DATE_LABEL = re.compile(r"\b(?:date(?: of meeting| of decision| of report)?|meeting date|decision date)\s*[:\-]",
                         re.IGNORECASE)

# (kind, pattern) in priority order: the first kind whose pattern matches wins.
_KIND_RULES: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in [
    ("ombudsman_decision", r"\b(?:ombudsman|lgsco|lgo)\b.{0,40}\b(?:decision|final|draft|complaint)|"
                           r"complaint reference|\bfault causing injustice\b"),
    ("annual_governance_statement", r"\bannual governance statement\b"),
    ("audit_report", r"auditor'?s?'? annual report|external audit(?:or)?'?s? report|value for money arrangements|"
                     r"annual audit letter|\bISA ?260\b|audit findings report"),
    ("risk_register", r"\brisks? register\b"),
    ("peer_challenge", r"\bpeer challenge\b|\bpeer review\b"),
    ("inspection_report", r"\binspection report\b|\bofsted\b|\bcqc\b|\bbest value inspection\b|\binspectorate\b"),
    ("minutes", r"\bminutes\b"),
    ("agenda", r"\bagenda\b(?! item)"),
    ("budget_report", r"\bbudget\b|\brevenue (?:and capital )?monitoring\b|\bmedium[- ]term financial\b|"
                      r"\bsection 25\b|\bcouncil tax setting\b|\bfinance monitoring\b|\boutturn\b"),
    ("decision", r"\bdecision notice\b|\bofficer decision\b|\bcabinet member decision\b|\brecord of decision\b"),
    ("committee_report", r"\breport\b|\brecommendations?\b"),
]]


def guess_metadata(document: ExtractedDocument, filename: str) -> DocumentMetadata:
    head = "\n".join(b.text for b in document.blocks[:40] if not b.type.is_furniture)[:4000]
    return DocumentMetadata(_title(document), _date(filename, head), _kind(filename, document.title or "", head))


def _title(document: ExtractedDocument) -> Guess:
    first_page = [b for b in document.blocks if b.page in (None, 1) and not b.type.is_furniture]
    heading = next((b.text for b in first_page if b.type is BlockType.HEADING and len(b.text) > 6), None)
    if document.title and document.format in ("html", "docx"):
        return Guess(document.title, 0.8)
    if heading:
        return Guess(heading, 0.7)
    first = next((b.text for b in first_page if b.type.is_body), None)
    return Guess(first[:120] if first else None, 0.3 if first else 0.0)


def _date(filename: str, head: str) -> Guess:
    if (found := _first_date(filename)) is not None:
        return Guess(found.isoformat(), 0.9)
    label = _DATE_LABEL.search(head)
    if label and (found := _first_date(head[label.end():label.end() + 60])) is not None:
        return Guess(found.isoformat(), 0.85)
    if (found := _first_date(head)) is not None:
        return Guess(found.isoformat(), 0.5)
    return Guess(None, 0.0)


def _first_date(text: str) -> date | None:
    candidates: list[tuple[int, date]] = []
    for match in _ISO.finditer(text):
        candidates += _valid(match.start(), int(match[1]), int(match[2]), int(match[3]))
    for match in _DMY.finditer(text):
        candidates += _valid(match.start(), int(match[3]), int(match[2]), int(match[1]))
    for match in _WORDY.finditer(text):
        month = _MONTHS.get(match[2].lower()[:4].rstrip(".")) or _MONTHS.get(match[2].lower()[:3])
        if month:
            candidates += _valid(match.start(), int(match[3]), month, int(match[1]))
    return min(candidates)[1] if candidates else None


def _valid(position: int, year: int, month: int, day: int) -> list[tuple[int, date]]:
    try:
        return [(position, date(year, month, day))]
    except ValueError:
        return []


def guess_kind(title: str, context: str = "") -> Guess:
    """A kind from a document's title (and, say, its agenda item), before it is downloaded."""
    return _kind("", title, context)


def _kind(filename: str, title: str, head: str) -> Guess:
    name = re.sub(r"[_\-.]+", " ", filename)
    for text, confidence in ((f"{name} {title}", 0.8), (head, 0.5)):
        for kind, pattern in _KIND_RULES:
            if pattern.search(text):
                return Guess(kind, confidence if kind != "committee_report" else confidence - 0.2)
    return Guess("other", 0.2)
