"""Whitespace normalisation: the one definition of "the same text" (cache keys, labels, matching)."""

from __future__ import annotations


def squash_space(text: str) -> str:
    """Runs of whitespace (spaces, tabs, newlines) as one space, none at either end."""
    return " ".join(text.split())
