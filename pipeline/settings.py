"""Process-wide environment the stack needs, set before Prefect or transformers load."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.paths import default_prefect_home

_DEFAULTS = {
    "PREFECT_HOME": str(default_prefect_home()),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}


def configure_environment() -> None:
    """Apply defaults without overriding what the user set (e.g. PREFECT_API_URL, PREFECT_HOME)."""
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ["HF_HUB_OFFLINE"] = "1"  # never download weights, whatever the caller set


CONTACT_ENV = "TRIAGE_CONTACT"


def scraper_contact(configured: str | None = None) -> str | None:
    """Who runs the scraper, for the User-Agent: ``TRIAGE_CONTACT``, else the source register's ``contact``
    setting. None when neither is set: the project ships no address of its own to stand in."""
    value = os.environ.get(CONTACT_ENV, "").strip() or (configured or "").strip()
    return value or None


@contextmanager
def environment_kept() -> Iterator[None]:
    """Restore this process's environment afterwards: Dask's nanny writes its workers' variables
    (``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``, ``PYTHONHASHSEED``...) into the parent's environment
    and leaves them there, so whatever the caller starts later would run its numerics on one thread."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
