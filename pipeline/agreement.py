"""Agreement between two raters on the same items: raw and beyond chance (Cohen's kappa).

One definition for everyone who measures it: the review app's reviewers and the labellers of the real-text rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def raw_agreement(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """The share of items both raters answered alike (ValueError for no items: a share of nothing is no figure)."""
    pairs = list(zip(first, second, strict=True))
    if not pairs:
        raise ValueError("raw agreement of no items")
    return sum(a == b for a, b in pairs) / len(pairs)


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Agreement beyond chance, (observed - expected) / (1 - expected), where expected is the agreement two raters
    answering at random with these answer frequencies would reach. None when undefined: no items, or chance
    agreement 1 (both raters gave one and the same answer throughout)."""
    if not first and not second:
        return None
    observed = raw_agreement(first, second)
    n = len(first)
    counts_first, counts_second = Counter(first), Counter(second)
    alike = sum(counts_first[answer] * counts_second[answer] for answer in counts_first)
    if alike == n * n:  # counted in integers, so "always the same one answer" is exact
        return None
    expected = alike / (n * n)
    return (observed - expected) / (1 - expected)
