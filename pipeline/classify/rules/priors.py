"""Where a passage stands: procedural passages, and the labelling rules' theme bonuses.

- ``procedural_reason``: headings, agenda items, report-template labels, "RESOLVED that the
  report be noted", reports for information and procedural section headings are never evidence,
  whatever they mention. It adds to ``pipeline.passages.boilerplate`` (template lines, contact
  details, attendance), which ``suppression_reason`` also applies.
- ``guidance_reason``: a passage about authorities in general and none in particular, or a checklist of
  conditions, is no evidence about this authority (LABELLING.md: the sector in general).
- ``instructions_reason``: a form's instructions to its reader ("you", no first person, no particular council)
  are report furniture.
- ``theme_bonus``: the ambiguities LABELLING.md settles by fiat (the audit committee and council
  companies are R, member training is L, the constitution is G).

The document's kind moves nothing: document-kind priors (log-odds shifts per kind) were removed because
real-text cross-validation, with each real document's kind guessed as a run guesses it, was worse with
them on every measure (models/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from pipeline.classify.rules.polarity import SPECIFIC_SUBJECT, CueCounts
from pipeline.domain import PassageContext
from pipeline.passages.boilerplate import boilerplate_reason
from pipeline.text import squash_space

NONE_CLASS = "none"

_NUMBERED = r"^(?:\d[\d.]*\s+)?"  # a line may start with its paragraph number ("5.2 ")


def _numbered_line(*alternatives: str) -> re.Pattern[str]:
    """Whole-line patterns that may open with a paragraph number, case-insensitive."""
    return re.compile("|".join(_NUMBERED + alternative for alternative in alternatives), re.IGNORECASE)


_LABEL_LINE = _numbered_line(
    r"(?:report title|report author\(?s?\)?|consultees|wards? affected|key decision|forward plan reference|"
    r"exempt information|date of (?:the )?meeting|venue|time of meeting|purpose of (?:the )?report|"
    r"agenda item(?: no\.?)?|item no\.?)\s*[:\-–]")
_NOTED = _numbered_line(
    r"(?:resolved|recommendations?\(?s?\)?|agreed|decision)\s*[:\-–]?\s*(?:that\s+)?(?:the\s+)?"
    r"(?:content|contents|report|update|information|minutes|annual report)\b[^.]{0,80}?\b(?:be|was|were|is)\s+"
    r"(?:noted|received|agreed|approved)\b[^.]{0,60}\.?$")
# A report for information: nothing was decided, so nothing it mentions was decided badly ("It was noted that there
# were no decisions to be taken on this report, which was for information.").
_FOR_INFORMATION = _numbered_line(
    r"(?:it was )?noted that there (?:were|was) no decisions? to be (?:taken|made) on (?:this|the) report,? which was "
    r"for information(?: only)?\.?$",
    r"(?:this|the) report (?:is|was) for information(?: only)?\.?$")
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
# R (even where the entry is G004, G007 or G-F09), member training to L, and its theme table puts the
# constitution under G (even where the entry is a culture one: access to information C004, urgency C-F12).
# Added to a theme's score.
THEME_RULES: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (theme, re.compile(pattern, re.IGNORECASE), bonus) for theme, pattern, bonus in (
        ("R", r"\baudit(?:,| and| &)? (?:(?:risk|governance|standards|scrutiny)(?:,| and| &)? ){0,2}"
              r"committee\b", 3.0),
        ("R", r"\bshareholder (?:committee|board|panel|representative|function)\b|"
              r"\b(?:wholly[- ]owned|council[- ]owned|authority[- ]owned|trading|housing|energy) compan(?:y|ies)\b|"
              r"\bcompany (?:directors?|board)\b", 3.0),
        ("G", r"\bconstitution\b", 2.0),
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


def guidance_reason(cues: CueCounts) -> str | None:
    """The reason "guidance" for a passage about authorities in general and none in particular, or a checklist of
    conditions (``CueCounts.general``): by LABELLING.md the sector in general is no evidence about this authority."""
    return "guidance" if cues.general else None


# A form's instructions speak to whoever fills it in or reads it ("You will need to consult ...", "Your external
# auditor will ask for ..."): addressed to "you", with no first person and no particular council speaking.
_ADDRESSED = re.compile(r"\b(?:you|your)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\bI\b|\b(?i:me|my|we|our|us)\b")


def instructions_reason(text: str) -> str | None:
    """The reason "instructions" for a form's instructions to its reader: report furniture by LABELLING.md, like the
    template's fixed lines. A reply to a complainant ("I uphold your complaint") or a council's answer ("the Council
    will write to you") speaks in the first person or names the council, so it is not one."""
    if _ADDRESSED.search(text) and not _FIRST_PERSON.search(text) and not SPECIFIC_SUBJECT.search(text):
        return "instructions"
    return None


def suppression_reason(text: str, cues: CueCounts, context: PassageContext | None = None) -> str | None:
    """Boilerplate (``pipeline.passages.boilerplate``), procedural, guidance or a form's instructions: the passage is
    never evidence. ``cues`` are the passage's ``cue_counts``, counted once by the caller (the evidence model counts
    them for its features, and the tripwires read them too)."""
    heading = context.heading if context else None
    return (boilerplate_reason(text) or procedural_reason(text, heading) or guidance_reason(cues)
            or instructions_reason(text))


def rules_key() -> str:
    """Identity of the hand-written rules that change predictions (polarity cues, procedural and theme rules)."""
    from pipeline.classify.rules import polarity
    from pipeline.ids import short_hash

    cues = [value for _, value in sorted(vars(polarity).items()) if isinstance(value, re.Pattern)]  # all of them
    patterns = [p.pattern for p in (*cues, _LABEL_LINE, _NOTED, _FOR_INFORMATION, _HEADING_PREFIX, _NUMBERING,
                                    _PROCEDURAL_HEADING)]
    patterns += [f"{theme}:{p.pattern}:{bonus}" for theme, p, bonus in THEME_RULES]
    # The guidance rule's patterns (``CueCounts.general``: GENERIC_SUBJECT, SPECIFIC_SUBJECT and the checklist's
    # _LIST_ITEM, _BULLET, _NUMBERING and _PARTICULARS) are polarity's, so already among ``cues``; what no pattern
    # says is that ``general`` suppresses a passage, which this marker records (dropping it would change every
    # classifier id for no change in a prediction).
    patterns += ["suppressed:guidance", _ADDRESSED.pattern, _FIRST_PERSON.pattern]  # guidance, instructions_reason
    return short_hash("rules", *patterns, length=12)
