"""The embedding cache: a text under a model is embedded once, keyed by ``pipeline.ids.vector_key``."""

from __future__ import annotations

import numpy as np

from pipeline.ids import vector_key
from pipeline.store.base import StoreBase


class CacheMixin(StoreBase):
    def cached_vectors(self, model_id: str, texts: list[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for these texts by this model, keyed by ``vector_key``."""
        keys = sorted({vector_key(model_id, t) for t in texts})
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(f"select key, vector from embeddings where key in ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _put_vectors(self, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        if vectors:
            self.db["embeddings"].insert_all(
                [{"key": key, "model_id": model_id, "dim": int(v.shape[0]),
                  "vector": np.asarray(v, dtype=np.float32).tobytes()} for key, v in vectors.items()],
                pk="key", ignore=True)
