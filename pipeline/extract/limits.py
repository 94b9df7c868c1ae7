"""Limits that keep one hostile or huge document from exhausting the machine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 60 * 1024 * 1024
    max_pages: int = 1500
    max_decompressed_bytes: int = 200 * 1024 * 1024  # DOCX (zip) members, inflated
    max_text_chars: int = 5_000_000


DEFAULT_LIMITS = Limits()
