"""Every error a user can act on, in one catalogue. Each message says what went wrong and, where it
can, how to fix it.

The CLI turns these into one-line messages; the ingest flow records a ``DocumentError``'s reason
as the document's failure reason.
"""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    """Why a document was not stored: one code per cause, each documented in the README's "Bad
    input" section. ``RETRIED`` ones are tried again on every run; the others only when the
    document's bytes (or the extractor) change."""

    EMPTY = "empty"  # no text at all
    CORRUPT = "corrupt"  # damaged: the format's parser cannot read it
    ENCRYPTED = "encrypted"  # needs a password
    NEEDS_OCR = "needs_ocr"  # scanned, and OCR is off or not installed
    OCR_FAILED = "ocr_failed"  # tesseract failed or timed out on a page
    TOO_LARGE = "too_large"  # past a size limit, or past the memory budget while being prepared
    UNSUPPORTED_FORMAT = "unsupported_format"  # not PDF, DOCX, HTML or text
    MISLABELLED = "mislabelled"  # its name says one format, its bytes another
    UNREADABLE = "unreadable"  # the file system would not give its bytes
    SYMLINK = "symlink"  # a symbolic link inside a folder given to a run: not followed
    OUTSIDE_FOLDER = "outside_folder"  # its real path lies outside the folder given to a run
    TIMEOUT = "timeout"  # preparing it took longer than its time budget
    CRASHED = "crashed"  # the process preparing it died (a crash in a parser)
    INTERNAL_ERROR = "internal_error"  # a bug in bv-triage: the message names the exception


RETRIED = frozenset({FailureReason.UNREADABLE, FailureReason.TIMEOUT, FailureReason.CRASHED,
                     FailureReason.INTERNAL_ERROR})


class TriageError(Exception):
    """Base class for errors a user can act on."""

    def __init_subclass__(cls, *, reason: str | None = None, **kwargs: object) -> None:
        """``class X(Base, reason=CODE)`` sets the code a whole kind of failure is recorded under, beside its name."""
        super().__init_subclass__(**kwargs)
        if reason is not None:
            cls.reason = reason


class TaxonomyError(TriageError):
    """A taxonomy file is missing or invalid."""


class UnknownEntryError(TaxonomyError):
    """An entry or theme id is not in the taxonomy."""


class DocumentError(TriageError):
    """A document cannot be read. ``reason`` says why, as a ``FailureReason`` code."""

    reason: FailureReason = FailureReason.UNREADABLE

    def __init__(self, message: str, *, reason: FailureReason | None = None) -> None:
        super().__init__(message)
        if reason:
            self.reason = FailureReason(reason)


class UnsupportedFormatError(DocumentError, reason=FailureReason.UNSUPPORTED_FORMAT):
    """Not PDF, DOCX, HTML or text, by its name or its bytes."""


class EmptyDocumentError(DocumentError, reason=FailureReason.EMPTY):
    """The document holds no text at all."""


class CorruptDocumentError(DocumentError, reason=FailureReason.CORRUPT):
    """The format's parser cannot read the damaged file."""


class EncryptedDocumentError(DocumentError, reason=FailureReason.ENCRYPTED):
    """The document needs a password."""


class NeedsOCRError(DocumentError, reason=FailureReason.NEEDS_OCR):
    """The document is scanned and OCR is off or not installed."""


class TooLargeError(DocumentError, reason=FailureReason.TOO_LARGE):
    """The document is past a size limit, or past the memory budget while being prepared."""


class CorpusError(TriageError):
    """A manifest, authority register or input path is invalid."""


class ModelError(TriageError):
    """The embedding model cannot be loaded."""


# -- evaluation, training, prediction and the feed -------------------------------------------------------

class EvaluationError(TriageError):
    """Gold labels and predictions cannot be scored together."""


class GoldFileError(EvaluationError):
    """A gold file is missing or a line of it is invalid."""


class PredictionError(EvaluationError):
    """A prediction row is invalid or a gold passage has no prediction."""


class LearnError(TriageError):
    """Nothing to learn from, or no model to refit."""


class LabellingError(TriageError):
    """A labelling batch cannot be sampled or merged: a held-out or in-repository path, or a bad label file."""


class FeedError(TriageError):
    """A cursor or export option is invalid."""


class InputError(TriageError):
    """Predict input cannot be read, or a line of it is not a JSON object with a string ``text``."""


# -- collecting: each says which URL failed and why, so a run log is actionable, and carries a short ------------
# ``reason`` code that the store records and ``triage scrape --report`` groups by

class ScrapeError(TriageError):
    """A source could not be fetched or understood."""

    reason: str = "scrape_error"


class ForbiddenHost(ScrapeError, reason="forbidden_host"):
    """The URL is not on an allowed host (or scheme), or resolves to a private address."""


class DisallowedByRobots(ScrapeError, reason="robots_disallowed"):
    """The site's robots.txt does not let us fetch this URL."""


class FetchTimeout(ScrapeError, reason="timeout"):
    """Connecting, reading or the whole download took longer than allowed."""


class TooLarge(ScrapeError, reason="too_large"):
    """The response is bigger than the per-download byte limit."""


class FetchFailed(ScrapeError):
    """The request failed: a network error, or a final status that is not 2xx/304.

    ``status`` is the HTTP status (None for network errors); ``retry_after`` is the
    server's requested wait in seconds when it asked for longer than we are willing to wait.
    ``reason`` follows the status (``not_found``, ``forbidden``, ``rate_limited``, ``server_error``,
    ``http_error``) or, without one, the network fault (``connect_error``, ``tls_error``).
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 reason: str = "connect_error") -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.reason = reason if status is None else status_reason(status)


def status_reason(status: int) -> str:
    """The reason code of a final HTTP status that is not a success."""
    if status in (404, 410):
        return "not_found"
    if status in (401, 403):
        return "forbidden"
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "http_error"


class NotADocument(ScrapeError, reason="not_a_document"):
    """A document URL answered with a web page (a sign-in form, an error page) instead of the file."""


class BackingOff(ScrapeError, reason="backing_off"):
    """The URL failed on several runs in a row; it is not asked for again until its back-off runs out."""


class SourceFormatError(ScrapeError, reason="malformed"):
    """A page or web-service response does not have the expected structure."""


class InvalidBlobId(ScrapeError, ValueError):
    """A blob id is not a lowercase sha256 hex digest."""


class BlobNotFound(ScrapeError):
    """No blob with this id is stored."""


# -- the review app -----------------------------------------------------------------------------------------

class ReviewError(TriageError):
    """The review app cannot do what was asked."""


class ReviewerError(ReviewError):
    """A reviewer cannot be added: bad name, role or password, or the name is taken."""


class DecisionError(ReviewError):
    """A decision that cannot be applied as asked: missing reason, unknown entry, nothing to undo."""
