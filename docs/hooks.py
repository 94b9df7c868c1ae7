"""MkDocs hook: the model card and the labelling guide live beside what they describe (models/,
taxonomy/) and ship with the package, so the site includes them rather than keeping copies."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
INCLUDED = {"model-card.md": ROOT / "models" / "README.md", "labelling.md": ROOT / "taxonomy" / "LABELLING.md"}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for page, source in INCLUDED.items():
        files.append(File.generated(config, page, abs_src_path=str(source)))
    return files
