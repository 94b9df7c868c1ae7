"""fp32 PyTorch through sentence-transformers: the reference encoder the benchmarks compare against."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.embed.model import set_offline
from pipeline.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_BATCH_SIZE = 32


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
