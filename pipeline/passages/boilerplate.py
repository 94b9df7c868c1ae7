"""Recognise passages that carry no evidence: report-template lines, contact details,
procedural minutes. They are kept and marked, never deleted, and never classified."""

from __future__ import annotations

import re

from pipeline.text import squash_space

_RULES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in [
        ("template", r"^(?:\d[\d.]*\s+)?there are no (?:direct |significant |specific )?"
                     r"(?:legal|financial|equalit\w+|environmental|staffing|human resources?|hr|property|"
                     r"procurement|risk|health and safety|data protection|climate)[\w\s,/&]*"
                     r"(?:implications?|issues?|considerations?)\b[^.]{0,80}\.?$"),
        ("template", r"^(?:\d[\d.]*\s+)?(?:none|not applicable|n/a)\.?$"),
        ("template", r"click (?:or tap )?(?:here )?to (?:select|enter)"),
        ("template", r"^(?:background papers?|list of background papers|appendices|supporting documents?)"
                     r"\s*[:\-]?\s*(?:none|nil|n/a|not applicable)?\.?$"),
        ("template", r"^(?:\d[\d.]*\s+)?(?:financial|legal|equalit\w+|risk|staffing) implications?\s*[:\-]\s*"
                     r"(?:none|nil|n/a|not applicable)[^.]{0,60}\.?$"),
        ("contact", r"(?:^|\b)(?:contact officer|report author|lead officer|tel(?:ephone)?|e-?mail)\s*[:\-]"),
        ("contact", r"^[^.]{0,120}\b[\w.+-]+@[\w-]+\.[\w.]+\b[^.]{0,60}$"),
        ("contact", r"^[^.]{0,80}\b(?:0\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4})\b[^.]{0,40}$"),
        ("procedural", r"^(?:\d[\d.]*\s+)?apologies(?: for absence)? (?:were |had been )?"
                       r"(?:received|submitted|given|noted)\b"),
        ("procedural", r"^(?:\d[\d.]*\s+)?(?:there were )?no (?:apologies|declarations of interest|"
                       r"disclosable pecuniary interests)\b"),
        ("procedural", r"minutes of the (?:last |previous )?meeting[^.]{0,80}(?:agreed|approved|confirmed|signed)"
                       r"[^.]{0,40}(?:correct|accurate|true) record"),
        ("procedural", r"^(?:\d[\d.]*\s+)?the meeting (?:closed|ended|finished|concluded) at\b"),
        ("procedural", r"^(?:\d[\d.]*\s+)?(?:for|against|abstentions?|abstained)\s*[:(]\s*[\d\w]"),
        ("procedural", r"^(?:date of (?:the )?next meeting|any other business)\b[^.]{0,80}\.?$"),
        ("furniture", r"^(?:page \d+(?: of \d+)?|printed on recycled paper|this page is intentionally left blank)"
                      r"\.?$"),
    ]
]
_MIN_LETTERS = 3


def boilerplate_reason(text: str) -> str | None:
    """The rule a passage matches, or None when it may carry evidence."""
    stripped = squash_space(text)
    if sum(ch.isalpha() for ch in stripped) < _MIN_LETTERS:
        return "furniture"
    for name, pattern in _RULES:
        if pattern.search(stripped):
            return name
    return None
