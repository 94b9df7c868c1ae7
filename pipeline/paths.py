"""Where the project's data lives. Everything is relative to the checkout, so an
editable install finds the bundled taxonomy, corpus and models."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TAXONOMY_DIR = PROJECT_ROOT / "taxonomy"
CORPUS_DIR = PROJECT_ROOT / "corpus"
DEMO_CORPUS = CORPUS_DIR / "demo"
MODELS_DIR = PROJECT_ROOT / "models"
DATA_DIR = Path(os.environ.get("TRIAGE_DATA_DIR", PROJECT_ROOT / "data"))
DEFAULT_DB = DATA_DIR / "triage.db"
DEFAULT_HEATMAP = DATA_DIR / "summary.html"
DEFAULT_OUTBOX = DATA_DIR / "outbox"
DEVSET = CORPUS_DIR / "devset" / "devset.jsonl"
