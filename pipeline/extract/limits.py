"""Limits that keep one hostile or huge document from exhausting the machine.

The extractors enforce the size limits as they read, so a document that breaks one fails
early with reason ``too_large`` (or, for one PDF page, has that page skipped and recorded).
``seconds`` and ``memory_bytes`` are the budget of the worker process that prepares a
document; the ingest runtime enforces them from outside (reasons ``timeout`` and
``too_large``), because no code inside a parser can be trusted to stop itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from pipeline.errors import TooLargeError, TriageError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 60 * MIB
    max_pages: int = 1500
    max_decompressed_bytes: int = 200 * MIB  # DOCX (zip) members, inflated, in total
    max_text_chars: int = 5_000_000  # extracted text of one document
    max_blocks: int = 100_000  # typed blocks (paragraphs, headings, tables, ...) of one document
    max_passages: int = 50_000  # passages of one document
    max_page_chars: int = 50_000  # glyphs on one PDF page (a dense table page holds about 10,000)
    max_page_objects: int = 20_000  # drawing objects on one PDF page, Form XObjects multiplied out
    max_page_content_bytes: int = 32 * MIB  # one PDF page's inflated content streams, forms multiplied out
    max_image_pixels: int = 100_000_000  # one image on a PDF page (A4 at 600 dpi is 35 million)
    seconds: float = 120.0  # wall-clock budget for preparing one document
    memory_bytes: int = 2048 * MIB  # resident memory budget of the process preparing one document

    def check_size(self, blocks: int, chars: int) -> None:
        """Raise TooLargeError when a document's blocks or text go past their limits."""
        if blocks > self.max_blocks:
            raise TooLargeError(f"document has {blocks:,} blocks; the limit is {self.max_blocks:,}")
        if chars > self.max_text_chars:
            raise TooLargeError(f"document text has {chars:,} characters; the limit is {self.max_text_chars:,}")


DEFAULT_LIMITS = Limits()
SECONDS_VARIABLE = "TRIAGE_DOCUMENT_SECONDS"
MEMORY_VARIABLE = "TRIAGE_DOCUMENT_MEMORY_MB"


def limits_from_environment(base: Limits = DEFAULT_LIMITS) -> Limits:
    """The default limits with the per-document budgets from ``TRIAGE_DOCUMENT_SECONDS`` and
    ``TRIAGE_DOCUMENT_MEMORY_MB`` when set."""
    seconds, memory = os.environ.get(SECONDS_VARIABLE), os.environ.get(MEMORY_VARIABLE)
    try:
        limits = replace(base, seconds=float(seconds)) if seconds else base
        limits = replace(limits, memory_bytes=int(memory) * MIB) if memory else limits
    except ValueError as e:
        raise TriageError(f"{SECONDS_VARIABLE} and {MEMORY_VARIABLE} must be numbers ({e})") from e
    if limits.seconds <= 0 or limits.memory_bytes < 256 * MIB:
        raise TriageError(f"{SECONDS_VARIABLE} must be positive and {MEMORY_VARIABLE} at least 256")
    return limits
