"""Scraping errors. Each says which URL failed and why, so a run log is actionable."""

from __future__ import annotations

from pipeline.errors import TriageError


class ScrapeError(TriageError):
    """A source could not be fetched or understood."""


class ForbiddenHost(ScrapeError):
    """The URL is not on an allowed host (or scheme), or resolves to a private address."""


class DisallowedByRobots(ScrapeError):
    """The site's robots.txt does not let us fetch this URL."""


class FetchTimeout(ScrapeError):
    """Connecting, reading or the whole download took longer than allowed."""


class TooLarge(ScrapeError):
    """The response is bigger than the per-download byte limit."""


class FetchFailed(ScrapeError):
    """The request failed: a network error, or a final status that is not 2xx/304.

    ``status`` is the HTTP status (None for network errors); ``retry_after`` is the
    server's requested wait in seconds when it asked for longer than we are willing to wait.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class SourceFormatError(ScrapeError):
    """A page or web-service response does not have the expected structure."""


class InvalidBlobId(ScrapeError, ValueError):
    """A blob id is not a lowercase sha256 hex digest."""


class BlobNotFound(ScrapeError):
    """No blob with this id is stored."""
