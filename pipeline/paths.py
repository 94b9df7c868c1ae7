"""Where bv-triage's files are: the one module that knows.

Bundled data (taxonomies, model artefacts, the demo corpus, the source register, the development set,
the labelling guide) is package data, read through ``importlib.resources`` from ``pipeline.bundled``
(links to the repository's taxonomy/, models/ and corpus/), so a checkout's editable install and an
installed wheel find it the same way.

What the tool writes goes to the data directory: ``TRIAGE_DATA_DIR`` when set; else ``data/``
when running from a checkout (what ``make run`` uses); else the platform's user data directory
(``~/.local/share/bv-triage`` on Linux). Prefect's home follows the same rule.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from platformdirs import user_data_dir

from pipeline.errors import TriageError

APP_NAME = "bv-triage"


def _bundled(name: str) -> Path:
    root = files("pipeline.bundled")
    if not isinstance(root, Path):  # a zipped install: nothing here can read data from a zip
        raise TriageError("bv-triage's bundled data must be installed as files on disk, not in a zip")
    return root / name


def _checkout() -> Path | None:
    """The repository this code runs from, if it does (an editable install), else None."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "taxonomy").is_dir() else None


CHECKOUT = _checkout()
TAXONOMY_DIR = _bundled("taxonomy")
CORPUS_DIR = _bundled("corpus")
MODELS_DIR = _bundled("models")
DEMO_CORPUS = CORPUS_DIR / "demo"
DEVSET = CORPUS_DIR / "devset" / "devset.jsonl"
# Real-text rows: references into the shared documents plus labels, never their text.
REAL_DEVSET = CORPUS_DIR / "devset" / "real.jsonl"
# The shared real documents the real-text rows point into (not part of the repository or the package).
SHARED_DIR = Path(os.environ.get("TRIAGE_SHARED_DIR") or ((CHECKOUT or Path.cwd()).parent / "shared"))
LABELLING_GUIDE = TAXONOMY_DIR / "LABELLING.md"
USER_DATA_DIR = Path(user_data_dir(APP_NAME, appauthor=False))


def default_data_dir() -> Path:
    """Where data goes when neither ``--data-dir`` nor ``TRIAGE_DATA_DIR`` says."""
    return CHECKOUT / "data" if CHECKOUT else USER_DATA_DIR


def default_prefect_home() -> Path:
    return CHECKOUT / ".prefect" if CHECKOUT else USER_DATA_DIR / "prefect"


DATA_DIR = Path(os.environ.get("TRIAGE_DATA_DIR") or default_data_dir())
# The bundled register (the demo corpus's folders, placeholder sites) is a checkout's default; an
# installed tool keeps its own register in the data directory, never inside site-packages.
DEFAULT_REGISTER = CORPUS_DIR / "sources.yaml" if CHECKOUT else DATA_DIR / "sources.yaml"
DEFAULT_DB = DATA_DIR / "triage.db"
DEFAULT_HEATMAP = DATA_DIR / "summary.html"
DEFAULT_OUTBOX = DATA_DIR / "outbox"


def path_text(path: Path | str) -> str:
    """A path as text that SQLite, JSON and terminals accept: bytes that are not UTF-8 (kept by
    ``os.fsdecode`` as lone surrogates) become ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
