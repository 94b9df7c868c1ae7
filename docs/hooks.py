"""MkDocs hook: the model card (with its plots) and the labelling guide live beside what they describe
(models/, taxonomy/) and ship with the package, so the site includes them rather than keeping copies."""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
INCLUDED = {"model-card.md": ROOT / "models" / "README.md", "labelling.md": ROOT / "taxonomy" / "LABELLING.md",
            # the model card's plots, linked from models/README.md as images/...: the same path on the site
            **{f"images/{plot.name}": plot for plot in sorted((ROOT / "models" / "images").glob("*.svg"))}}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for page, source in INCLUDED.items():
        files.append(File.generated(config, page, abs_src_path=str(source)))
    return files
