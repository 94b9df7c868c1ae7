"""The review app's domain errors; the CLI shows their messages as one line."""

from __future__ import annotations

from pipeline.errors import TriageError


class ReviewError(TriageError):
    """The review app cannot do what was asked."""


class ReviewerError(ReviewError):
    """A reviewer cannot be added: bad name, role or password, or the name is taken."""


class DecisionError(ReviewError):
    """A decision that cannot be applied as asked: missing reason, unknown entry, nothing to undo."""
