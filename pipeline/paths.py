"""Where bv-triage's files are: the one module that knows.

Bundled data (taxonomies, model artefacts, the demo corpus, the source register, the development set,
the labelling guide) is package data, read through ``importlib.resources`` from ``pipeline.bundled``
(links to the repository's taxonomy/, models/ and corpus/), so a checkout's editable install and an
installed wheel find it the same way.

What the tool writes goes to the data directory: ``triage --data-dir DIR`` (which sets
``TRIAGE_DATA_DIR`` for the whole process and its workers); else ``TRIAGE_DATA_DIR`` when set; else
``data/`` when running from a checkout (what ``make run`` uses); else the platform's user data
directory (``~/.local/share/bv-triage`` on Linux). It is read when a path is needed, never at import,
so a command line chosen after import still counts. Prefect's home is ``.prefect/`` in a checkout,
else in the user data directory.
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


DATA_DIR_ENV = "TRIAGE_DATA_DIR"


def default_data_dir() -> Path:
    """Where data goes when neither ``--data-dir`` nor ``TRIAGE_DATA_DIR`` says."""
    return CHECKOUT / "data" if CHECKOUT else USER_DATA_DIR


def default_prefect_home() -> Path:
    return CHECKOUT / ".prefect" if CHECKOUT else USER_DATA_DIR / "prefect"


def use_data_dir(path: Path) -> None:
    """Make ``path`` the data directory of this process and of every process it starts (document
    workers, Prefect flow runs): ``--data-dir`` wins over an inherited ``TRIAGE_DATA_DIR``."""
    os.environ[DATA_DIR_ENV] = str(path)


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or default_data_dir())


def default_db() -> Path:
    return data_dir() / "triage.db"


def default_register() -> Path:
    """The bundled register (the demo corpus's folders, placeholder sites) is a checkout's default; an
    installed tool keeps its own register in the data directory, never inside site-packages."""
    return CORPUS_DIR / "sources.yaml" if CHECKOUT else data_dir() / "sources.yaml"


def default_heatmap() -> Path:
    return data_dir() / "summary.html"


def default_outbox() -> Path:
    return data_dir() / "outbox"


def model_cache() -> Path:
    """Built once per machine and data directory: the int8 encoder, entry vectors of learned models."""
    return data_dir() / "models"


def path_text(path: Path | str) -> str:
    """A path as text that SQLite, JSON and terminals accept: bytes that are not UTF-8 (kept by
    ``os.fsdecode`` as lone surrogates) become ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
