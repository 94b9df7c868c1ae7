"""The int8 ONNX build of the model: the default encoder.

It is exported locally from the bundled weights (never downloaded) with ``torch.onnx.export``,
quantised with onnxruntime's dynamic per-channel int8, and cached under the data directory;
the export (about 20 s, the only time torch is imported) happens once per machine.
Tokenisation uses the model's own ``tokenizer.json``; pooling is the model's mean pooling
followed by normalisation.

The weights are quantised to 7 bits of the 8 (``reduce_range``) so that a vector does not depend on
the processor. Unsigned 8-bit activations times signed 8-bit weights are summed in pairs into 16 bits
on x86 processors without VNNI (AVX2, AVX-512 before Cascade Lake), which saturates, and without
saturation on those with it, so the same text got vectors as far apart as cosine 0.971 (0.991 on
average) on two machines, and the demo run 4% more evidence links on one of them. With 7-bit weights
the pairs cannot overflow and both sum exactly; what is left differs in the last bits of the float
operations around them (cosine 0.997 at least, 0.9999 on average, on 252 development passages: a
VNNI machine against one emulated without VNNI). They are as close to fp32 as 8 bits were (cosine
0.992 on average, against 0.991-0.993) and as fast.

Each text is run on its own. Dynamic quantisation scales activations over the whole input
tensor, so in a padded batch a text's vector depends on its neighbours (cosine as low as 0.97
between the same text encoded in two batches); alone, a text always gets the same vector, and
with no padding to compute it is as fast as batching here. ``bench/encoders.py`` measures
speed, agreement with fp32 and the classifier's development-set metrics on each.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import platform
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.embed.model import set_offline
from pipeline.errors import ModelError
from pipeline.paths import model_cache

THREADS_VARIABLE = "TRIAGE_ENCODER_THREADS"
MAX_TOKENS = 256
BUILD = "+onnx-int8-w7"  # a model id's suffix for this build: int8, weights in 7 bits
KERNEL_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")  # they pick onnxruntime's kernels
INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # those the transformer takes (MPNet: no token types)


class OnnxEncoder:
    """Normalised int8 embeddings, one text per inference run; the session loads on first use.

    Subclasses for other weights override how the model is built and how texts become token ids."""

    max_tokens = MAX_TOKENS

    def __init__(self, model_path: Path, model_id: str, cache: Path | None = None) -> None:
        self.model_path = model_path
        self.model_id = model_id
        self.cache = cache or model_cache() / "onnx"
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: list[str] = []

    @property
    def loaded(self) -> bool:
        return self._session is not None

    @property
    def dimension(self) -> int:
        return int(json.loads((self.model_path / "config.json").read_text(encoding="utf-8"))["hidden_size"])

    @property
    def file(self) -> Path:
        """The int8 model, built here from ``model_path`` on first use."""
        return self.cache / self.model_id.replace("@", "-").replace("+", "-") / "model.int8.onnx"

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._load()
        out = np.zeros((len(texts), session.get_outputs()[0].shape[-1]), dtype=np.float32)
        for i, text_ids in enumerate(self._ids(texts)):
            ids = np.array([text_ids], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, {name: feed[name] for name in self._inputs})[0][0]
            pooled = hidden.mean(axis=0)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out

    def _load(self) -> Any:
        if self._session is None:
            try:
                import onnxruntime
                import tokenizers  # noqa: F401  (checked here so a missing package fails before the build)
            except ImportError as e:
                raise ModelError(f"the ONNX encoder needs onnxruntime and tokenizers ({e}); run `make setup`") from e
            if not self.file.is_file():
                self._build()
            options = onnxruntime.SessionOptions()
            # A run's document workers each encode on one thread (TRIAGE_ENCODER_THREADS=1), so the
            # cores run one session each instead of two sessions fighting over both.
            options.intra_op_num_threads = int(os.environ.get(THREADS_VARIABLE) or 0) or os.cpu_count() or 1
            self._session = onnxruntime.InferenceSession(str(self.file), options, providers=["CPUExecutionProvider"])
            self._inputs = [i.name for i in self._session.get_inputs()]
            self._tokenizer = self._tokenizer_for(self.max_tokens)
        return self._session

    def _build(self) -> None:
        build_onnx(self.model_path, self.file)

    def _tokenizer_for(self, max_tokens: int) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        tokenizer.enable_truncation(max_tokens)
        tokenizer.no_padding()
        return tokenizer

    def _ids(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]


def kernel_features(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """This processor's extensions among ``KERNEL_FEATURES`` ("avx2 avx512f avx512_vnni", say): onnxruntime picks its
    int8 and float kernels by them, and a vector's last bits depend on the kernels. The machine's architecture where
    /proc/cpuinfo does not list them."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8").splitlines()
        flags = set(next(line for line in lines if line.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        return platform.machine()
    return " ".join(f for f in KERNEL_FEATURES if f in flags) or platform.machine()


def build_onnx(model_path: Path, target: Path) -> Path:
    """Export the sentence-transformers model at ``model_path`` to int8 ONNX in ``target``."""
    set_offline()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ModelError(f"building the ONNX encoder needs sentence-transformers ({e}); run `make setup`") from e
    return export_int8(SentenceTransformer(str(model_path), device="cpu", local_files_only=True)[0].auto_model, target)


def export_int8(transformer: Any, target: Path) -> Path:
    """Export a transformers encoder (its last hidden state) to ONNX and quantise it into ``target``, atomically:
    processes that build at the same time each write their own temporary folder, and the file appears whole."""
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ModelError(f"building the ONNX encoder needs torch and onnxruntime ({e}); run `make setup`") from e
    transformer = transformer.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        names = [n for n in INPUTS if n in inspect.signature(transformer.forward).parameters]

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, *inputs):  # type: ignore[no-untyped-def]
                return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

        sample = torch.ones((1, 8), dtype=torch.long)
        fp32, int8 = work / "model.onnx", work / "model.int8.onnx"
        axes = {0: "batch", 1: "tokens"}
        with warnings.catch_warnings():  # the tracer's notes about shapes do not apply to this model
            warnings.simplefilter("ignore")
            _export(torch, Hidden().eval(), names, sample, fp32, axes)
        logging.getLogger().disabled, was = True, logging.getLogger().disabled  # quantize_dynamic's advice
        try:
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=True)
        finally:
            logging.getLogger().disabled = was
        int8.replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _export(torch, module, names: list[str], sample, path: Path, axes: dict) -> None:  # type: ignore[no-untyped-def]
    values = {"input_ids": sample, "attention_mask": sample, "token_type_ids": torch.zeros_like(sample)}
    torch.onnx.export(module, tuple(values[n] for n in names), str(path), input_names=names,
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={**dict.fromkeys(names, axes), "last_hidden_state": axes})
