"""The model registry beside a database: learned classifiers and the pointer to the active one.

``models/<taxonomy>/`` in the repository holds the shipped default. ``triage learn`` writes
each refitted model to ``<database folder>/models/<taxonomy>/<artefact hash>/`` with its
report, and moves ``active.json`` to it only when it is not worse; every command that
classifies into that database loads the active model, so its classifier id (and so the stored
evidence) follows the pointer.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.classify.model import model_files_exist
from pipeline.errors import ModelError

POINTER = "active.json"


def registry_for(db: str | Path) -> Path:
    """The registry of the database at ``db``: a ``models`` folder beside it."""
    return Path(db).resolve().parent / "models"


def active_model_dir(registry: Path, taxonomy_id: str) -> Path | None:
    """The active learned model's folder, or None when the shipped default is in use."""
    pointer = registry / taxonomy_id / POINTER
    if not pointer.is_file():
        return None
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["model"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ModelError(f"{pointer} is not a valid model pointer; delete it to return to the shipped model") from e
    directory = registry / taxonomy_id / str(name)
    if Path(name).name != name or not model_files_exist(directory):
        raise ModelError(f"{pointer} points at {name!r}, which is not a model in {registry / taxonomy_id}")
    return directory


def activate(registry: Path, taxonomy_id: str, model_dir: Path, report: dict) -> None:
    """Point the registry at ``model_dir`` (a folder inside it), atomically."""
    if model_dir.parent != registry / taxonomy_id:
        raise ModelError(f"{model_dir} is not in the registry {registry / taxonomy_id}")
    pointer = registry / taxonomy_id / POINTER
    tmp = pointer.with_name(POINTER + ".tmp")
    tmp.write_text(json.dumps({"model": model_dir.name, "report": report}, indent=2) + "\n", encoding="utf-8")
    tmp.replace(pointer)


def write_report(model_dir: Path, report: dict) -> None:
    (model_dir / "learn-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

