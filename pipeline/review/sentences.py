"""Pick the sentence of a passage that best matches an entry, so the analyst sees why it was linked.

A cheap token-overlap measure (no model): the share of the entry's content words, crudely
stemmed, that the sentence contains, with a small bonus for overlap density.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[]?[A-Z0-9£])")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "by", "for", "from", "has", "have", "in", "into", "is", "it",
    "its", "of", "on", "or", "that", "the", "their", "there", "this", "to", "was", "were", "which", "with", "within",
    "without", "not", "no", "authority", "council", "councils",
})


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace kept, so joining them gives back the text."""
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        parts.append(text[start:match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p]


def _stems(text: str) -> set[str]:
    return {word[:6] for word in _WORD.findall(text.lower()) if word not in _STOP and len(word) > 1}


def overlap(sentence: str, entry_text: str) -> float:
    """Share of the entry's stems found in the sentence, plus a little for how dense the match is."""
    entry, found = _stems(entry_text), _stems(sentence)
    if not entry or not found:
        return 0.0
    shared = len(entry & found)
    return shared / len(entry) + 0.1 * shared / len(found)


def highlight(text: str, entry_text: str) -> list[tuple[str, bool]]:
    """The passage as (sentence, is_best) pieces; no sentence is marked when nothing overlaps."""
    sentences = split_sentences(text)
    scores = [overlap(s, entry_text) for s in sentences]
    best = max(range(len(sentences)), key=scores.__getitem__) if sentences and max(scores) > 0 else -1
    return [(s, i == best) for i, s in enumerate(sentences)]
