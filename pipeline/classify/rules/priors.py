"""Where a passage stands: procedural passages, and document-type priors.

Two things, both cheap:

- ``procedural_reason``: headings, agenda items, report-template labels, "RESOLVED that the
  report be noted" and procedural section headings are never evidence, whatever they mention.
  It adds to ``pipeline.passages.boilerplate`` (template lines, contact details, attendance), which
  ``suppression_reason`` also applies.
- ``DocKindPriors``: how the document type (``doc_kind``: ombudsman_decision, risk_register,
  audit_report, ...) shifts the odds of evidence, of failure and of each theme, fitted from
  labelled passages with additive smoothing, so a kind seen a dozen times moves little. They
  apply only when a context gives ``doc_kind`` (or a ``title``/``heading`` names one); with
  text alone, nothing changes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.domain import DOCUMENT_KINDS, PassageContext
from pipeline.passages.boilerplate import boilerplate_reason
from pipeline.text import squash_space

DOC_KINDS = DOCUMENT_KINDS
NONE_CLASS = "none"

_LABEL_LINE = re.compile(
    r"^(?:\d[\d.]*\s+)?(?:report title|report author\(?s?\)?|consultees|wards? affected|key decision|"
    r"forward plan reference|exempt information|date of (?:the )?meeting|venue|time of meeting|"
    r"purpose of (?:the )?report|agenda item(?: no\.?)?|item no\.?)\s*[:\-–]", re.IGNORECASE)
_NOTED = re.compile(
    r"^(?:\d[\d.]*\s+)?(?:resolved|recommendations?\(?s?\)?|agreed|decision)\s*[:\-–]?\s*(?:that\s+)?"
    r"(?:the\s+)?(?:content|contents|report|update|information|minutes|annual report)\b[^.]{0,80}?"
    r"\b(?:be|was|were|is)\s+"
    r"(?:noted|received|agreed|approved)\b[^.]{0,60}\.?$", re.IGNORECASE)
# A report for information: nothing was decided, so nothing it mentions was decided badly ("It was noted that there
# were no decisions to be taken on this report, which was for information.").
_FOR_INFORMATION = re.compile(
    r"^(?:\d[\d.]*\s+)?(?:it was )?noted that there (?:were|was) no decisions? to be (?:taken|made) on (?:this|the) "
    r"report,? which was for information(?: only)?\.?$|^(?:\d[\d.]*\s+)?(?:this|the) report (?:is|was) for "
    r"information(?: only)?\.?$", re.IGNORECASE)
_HEADING_PREFIX = re.compile(
    r"^(?:item\s+\d+|annex\s+[a-z0-9]+|appendix\s+[a-z0-9]+|part\s+[a-z0-9]+|section\s+\d+|schedule\s+\d+|"
    r"table\s+\d+|figure\s+\d+)\s*[:\-–.]?\s", re.IGNORECASE)
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[a-z]\)|\([a-z0-9]+\))\s+", re.IGNORECASE)
_SENTENCE_PUNCT = re.compile(r"[.!?;]\s|[.!?;]$")
_PROCEDURAL_HEADING = re.compile(
    r"\b(?:apologies|declarations? of (?:interest|disclosable)|minutes of the (?:previous|last) meeting|"
    r"date of (?:the )?next meeting|exclusion of the (?:press|public)|urgent business|any other business|"
    r"public (?:questions|participation)|petitions|chair'?s announcements|contact (?:officer|details)|"
    r"background papers|glossary|substitutes?)\b", re.IGNORECASE)


def is_heading(text: str) -> bool:
    """A title, agenda item or label line: no sentence punctuation, short, and Title Case or numbered."""
    stripped = squash_space(text)
    if _HEADING_PREFIX.match(stripped) and not _SENTENCE_PUNCT.search(stripped.rstrip(".")):
        return len(stripped.split()) <= 16
    body = _NUMBERING.sub("", stripped)
    words = body.split()
    if not words or len(words) > 14 or _SENTENCE_PUNCT.search(body) or body.endswith("."):
        return False
    long_words = [w for w in words if sum(ch.isalpha() for ch in w) > 3]
    if not long_words:
        return True
    return sum(w[0].isupper() for w in long_words) / len(long_words) >= 0.6


def procedural_reason(text: str, heading: str | None = None) -> str | None:
    """Why a passage is procedural (never evidence), or None."""
    stripped = squash_space(text)
    if _LABEL_LINE.match(stripped):
        return "template"
    if _NOTED.match(stripped) or _FOR_INFORMATION.match(stripped):
        return "procedural"
    if is_heading(stripped):
        return "heading"
    if heading and _PROCEDURAL_HEADING.search(heading.split(">")[-1]):
        return "procedural"
    return None


THEME_RULES_TAXONOMY = "bv-2023-draft"
# LABELLING.md settles some ambiguities by fiat: the audit committee and council companies belong to
# R (even where the entry is G004, G007 or G-F09), member training to L. Added to a theme's score.
THEME_RULES: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (theme, re.compile(pattern, re.IGNORECASE), bonus) for theme, pattern, bonus in (
        ("R", r"\baudit(?:,| and| &)? (?:(?:risk|governance|standards|scrutiny)(?:,| and| &)? ){0,2}"
              r"committee\b", 3.0),
        ("R", r"\bshareholder (?:committee|board|panel|representative|function)\b|"
              r"\b(?:wholly[- ]owned|council[- ]owned|authority[- ]owned|trading|housing|energy) compan(?:y|ies)\b|"
              r"\bcompany (?:directors?|board)\b", 3.0),
        ("L", r"\b(?:member|members'|councillor|councillors') (?:training|development|induction)\b|"
              r"\btraining (?:for|of) (?:all )?(?:members|councillors)\b", 2.0),
    )
)


def theme_bonus(texts: Sequence[str], themes: Sequence[str]) -> np.ndarray:
    """(passages, themes) additive theme-score bonuses from ``THEME_RULES``."""
    bonus = np.zeros((len(texts), len(themes)), dtype=np.float64)
    column = {t: i for i, t in enumerate(themes)}
    for i, text in enumerate(texts):
        for theme, pattern, value in THEME_RULES:
            if theme in column and pattern.search(text):
                bonus[i, column[theme]] = max(bonus[i, column[theme]], value)
    return bonus


def suppression_reason(text: str, context: PassageContext | None = None) -> str | None:
    """Boilerplate (``pipeline.passages.boilerplate``) or procedural: the passage is never evidence."""
    heading = context.heading if context else None
    return boilerplate_reason(text) or procedural_reason(text, heading)


_KIND_FROM_TITLE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("ombudsman_decision", r"\bombudsman\b|\blgsco\b|\bdecision (?:statement|notice)\b"),
        ("risk_register", r"\brisk register\b|\b(?:corporate|strategic) risks?\b"),
        ("annual_governance_statement", r"\bannual governance statement\b"),
        ("audit_report", r"\bauditor'?s annual report\b|\bvalue for money\b|\bannual audit letter\b|"
                         r"\bexternal audit\b"),
        ("peer_challenge", r"\bpeer (?:challenge|review)\b"),
        ("inspection_report", r"\binspection\b|\bofsted\b|\bcqc\b|\bmonitoring visit\b"),
        ("budget_report", r"\bbudget\b|\bmedium[- ]term financial\b|\brevenue monitoring\b|\boutturn\b|"
                          r"\bcapital programme\b|\btreasury management\b|\bcouncil tax\b"),
        ("minutes", r"\bminutes\b"),
        ("agenda", r"\bagenda\b"),
    )
)


def doc_kind_of(context: PassageContext | None) -> str | None:
    """The context's ``doc_kind`` when it is a known kind, else one guessed from its title (then heading)."""
    if context is None:
        return None
    if context.doc_kind in DOC_KINDS:
        return context.doc_kind
    for value in (context.title, context.heading):
        if value:
            for guessed, pattern in _KIND_FROM_TITLE:
                if pattern.search(value):
                    return guessed
    return None


@dataclass(frozen=True)
class KindOffsets:
    evidence: float  # added to the evidence logit
    failure: float  # added to the failure logit
    themes: tuple[float, ...]  # added to each theme's score, in taxonomy theme order


@dataclass(frozen=True)
class DocKindPriors:
    themes: tuple[str, ...]
    offsets: Mapping[str, KindOffsets] = field(default_factory=dict)

    def get(self, kind: str | None) -> KindOffsets | None:
        return self.offsets.get(kind) if kind else None

    def as_dict(self) -> dict:
        return {"themes": list(self.themes),
                "offsets": {k: {"evidence": round(v.evidence, 6), "failure": round(v.failure, 6),
                                "themes": [round(x, 6) for x in v.themes]} for k, v in sorted(self.offsets.items())}}

    @classmethod
    def from_dict(cls, data: Mapping) -> DocKindPriors:
        return cls(tuple(data["themes"]), {k: KindOffsets(float(v["evidence"]), float(v["failure"]),
                                                          tuple(float(x) for x in v["themes"]))
                                           for k, v in data["offsets"].items()})


def fit_doc_kind_priors(kinds: Sequence[str | None], themes: Sequence[str | None], failures: Sequence[bool],
                        theme_ids: Sequence[str], smoothing: float = 30.0) -> DocKindPriors:
    """Log-odds shifts per document kind, smoothed towards the overall rates with ``smoothing`` pseudo-passages.

    The overall rates are those of the rows whose kind is known: a shift measures how one kind differs from
    the others in the same population, not how that population (written passages, three quarters evidence)
    differs from rows without a kind (real text, a fifth evidence), which would raise every kind alike.
    """
    known = [i for i, k in enumerate(kinds) if k]
    n = len(known)
    overall_evidence = (sum(themes[i] is not None for i in known) + 1) / (n + 2)
    overall_failure = (sum(failures[i] for i in known) + 1) / (n + 2)
    evidence_rows = [themes[i] for i in known if themes[i] is not None]
    theme_rate = {t: (sum(x == t for x in evidence_rows) + 1) / (len(evidence_rows) + len(theme_ids))
                  for t in theme_ids}
    offsets: dict[str, KindOffsets] = {}
    for kind in sorted({k for k in kinds if k}):
        rows = [i for i, k in enumerate(kinds) if k == kind]
        m = len(rows)
        ev = (sum(themes[i] is not None for i in rows) + smoothing * overall_evidence) / (m + smoothing)
        fa = (sum(failures[i] for i in rows) + smoothing * overall_failure) / (m + smoothing)
        kind_evidence = [themes[i] for i in rows if themes[i] is not None]
        shifts = tuple(
            math.log((sum(x == t for x in kind_evidence) + smoothing * theme_rate[t])
                     / (len(kind_evidence) + smoothing)) - math.log(theme_rate[t])
            for t in theme_ids
        )
        offsets[kind] = KindOffsets(_logit(ev) - _logit(overall_evidence), _logit(fa) - _logit(overall_failure), shifts)
    return DocKindPriors(tuple(theme_ids), offsets)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def rules_key() -> str:
    """Identity of the hand-written rules that change predictions (polarity cues, procedural and theme rules)."""
    from pipeline.classify.rules import polarity
    from pipeline.ids import short_hash

    cues = [value for _, value in sorted(vars(polarity).items()) if isinstance(value, re.Pattern)]  # all of them
    patterns = [p.pattern for p in (*cues, _LABEL_LINE, _NOTED, _FOR_INFORMATION, _HEADING_PREFIX, _NUMBERING,
                                    _PROCEDURAL_HEADING)]
    patterns += [f"{theme}:{p.pattern}:{bonus}" for theme, p, bonus in THEME_RULES]
    patterns += [f"{kind}:{p.pattern}" for kind, p in _KIND_FROM_TITLE]
    return short_hash("rules", *patterns, length=12)
