"""Domain errors. Every message says what went wrong and, where it can, how to fix it.

The CLI turns these into one-line messages; the ingest flow records them as a
document's failure reason.
"""

from __future__ import annotations


class TriageError(Exception):
    """Base class for errors a user can act on."""


class TaxonomyError(TriageError):
    """A taxonomy file is missing or invalid."""


class UnknownEntryError(TaxonomyError):
    """An entry or theme id is not in the taxonomy."""


class DocumentError(TriageError):
    """A document cannot be read. ``reason`` is a short machine-friendly code."""

    reason = "unreadable"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason:
            self.reason = reason


class UnsupportedFormatError(DocumentError):
    reason = "unsupported_format"


class EmptyDocumentError(DocumentError):
    reason = "empty"


class CorruptDocumentError(DocumentError):
    reason = "corrupt"


class EncryptedDocumentError(DocumentError):
    reason = "encrypted"


class NeedsOCRError(DocumentError):
    reason = "needs_ocr"


class TooLargeError(DocumentError):
    reason = "too_large"


class CorpusError(TriageError):
    """A manifest, authority register or input path is invalid."""


class ModelError(TriageError):
    """The embedding model cannot be loaded."""
