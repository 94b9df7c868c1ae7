"""The SQLite evidence store, through sqlite-utils.

Schema changes are ordered migrations applied on open (``schema``). Every write of a document
(its row, passages, evidence and new embeddings) is one transaction, so a reader or a crash never
sees half a document. ``Store`` is one open database; each concern is a module of its own
(``documents``, ``evidence``, ``reviews``, ``team``, ``access``, ``cache``, ``fetches``, ``runs``), mixed into
it so that callers hold one handle and every write shares one connection and one transaction.
"""

from __future__ import annotations

from pipeline.store.access import AccessMixin
from pipeline.store.documents import DocumentsMixin
from pipeline.store.evidence import EvidenceMixin
from pipeline.store.fetches import FetchesMixin
from pipeline.store.runs import RunsMixin
from pipeline.store.team import TeamMixin


class Store(DocumentsMixin, EvidenceMixin, TeamMixin, AccessMixin, FetchesMixin, RunsMixin):
    """One open database. Use as a context manager, or call ``close``."""
