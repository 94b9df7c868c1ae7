"""The entry side of scoring: every text that stands for a taxonomy entry, embedded once.

An entry is represented by several vectors: its guide text, its theme's description, and the
paraphrases and exemplar passages of ``taxonomy/<id>.exemplars.yaml``. A passage scores
against an entry by the best of the entry's own vectors (one matrix product and one gather
per batch); the theme descriptions are scored separately, per theme.

Embedding the ~1,200 texts takes about 20 s on two cores, so the vectors ship precomputed in
``models/<taxonomy>/entry-vectors.npz`` (float16), keyed by a hash of the model id and the
exact texts. When the texts change (a new exemplar, a corrected paraphrase) the key no longer
matches; the vectors are recomputed once and cached under ``data/models/``.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import yaml

from pipeline.errors import TaxonomyError
from pipeline.ids import short_hash
from pipeline.paths import MODELS_DIR, TAXONOMY_DIR, model_cache
from pipeline.taxonomy import Taxonomy
from pipeline.text import squash_space

if TYPE_CHECKING:
    from pipeline.embed import Encoder

TextKind = Literal["entry", "paraphrase", "exemplar", "theme"]
ENTRY_KINDS: tuple[str, ...] = ("entry", "paraphrase", "exemplar")


@dataclass(frozen=True)
class EntryText:
    owner: str  # an entry id, or a theme id for kind "theme"
    kind: TextKind
    text: str


def load_exemplars(taxonomy_id: str, directory: Path = TAXONOMY_DIR) -> dict[str, dict[str, list[str]]]:
    """``{entry id: {"paraphrases": [...], "exemplars": [...]}}``; empty when the taxonomy has no exemplar file."""
    path = directory / f"{taxonomy_id}.exemplars.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise TaxonomyError(f"{path.name} is not valid YAML: {e}") from e
    if not isinstance(data, dict) or data.get("taxonomy") != taxonomy_id or not isinstance(data.get("entries"), dict):
        raise TaxonomyError(f"{path.name} must declare taxonomy {taxonomy_id!r} and map entry ids to texts")
    out: dict[str, dict[str, list[str]]] = {}
    for entry_id, raw in data["entries"].items():
        raw = raw or {}
        out[str(entry_id)] = {key: [squash_space(str(t)) for t in raw.get(key) or []]
                              for key in ("paraphrases", "exemplars")}
    return out


def entry_texts(taxonomy: Taxonomy, exemplars: dict[str, dict[str, list[str]]] | None = None) -> list[EntryText]:
    """The texts to embed, in a fixed order: per entry its text, paraphrases, exemplars; then the themes."""
    exemplars = exemplars or {}
    unknown = sorted(set(exemplars) - {e.id for e in taxonomy.entries})
    if unknown:
        raise TaxonomyError(f"exemplars for unknown entries of {taxonomy.id}: {', '.join(unknown[:5])}")
    texts: list[EntryText] = []
    for entry in taxonomy.entries:
        texts.append(EntryText(entry.id, "entry", entry.text))
        extra = exemplars.get(entry.id, {})
        texts += [EntryText(entry.id, "paraphrase", t) for t in extra.get("paraphrases", []) if t]
        texts += [EntryText(entry.id, "exemplar", t) for t in extra.get("exemplars", []) if t]
    texts += [EntryText(theme.id, "theme", f"{theme.name}. {theme.description}") for theme in taxonomy.themes]
    return texts


def texts_key(model_id: str, texts: Sequence[EntryText] | Sequence[str]) -> str:
    """Identity of a set of vectors: the model and the exact texts (with their owners and kinds), in order."""
    parts = [t if isinstance(t, str) else f"{t.owner}|{t.kind}|{t.text}" for t in texts]
    return short_hash(model_id, len(parts), *parts, length=16)


def cached_vectors(encoder: Encoder, texts: Sequence[str], key: str, name: str,
                   shipped_dir: Path | None = None, cache_dir: Path | None = None) -> np.ndarray:
    """float32 vectors of ``texts`` from the shipped file or the cache when ``key`` matches, else encoded and cached.

    ``shipped_dir / f"{name}.npz"`` is what the repository ships; ``cache_dir / f"{name}-{key}.npz"``
    holds vectors computed here because the shipped ones were for other texts.
    """
    cache_dir = cache_dir or model_cache()
    candidates = ([shipped_dir / f"{name}.npz"] if shipped_dir else []) + [cache_dir / f"{name}-{key}.npz"]
    for path in candidates:
        vectors = read_vectors(path, key, len(texts))
        if vectors is not None:
            return vectors
    vectors = encoder.encode(list(texts))
    with contextlib.suppress(OSError):  # a read-only data dir only costs a re-encode next time
        write_vectors(cache_dir / f"{name}-{key}.npz", vectors, key)
    return vectors


def read_vectors(path: Path, key: str, rows: int | None = None) -> np.ndarray | None:
    """The vectors in ``path`` if it exists and was written for ``key`` (and has ``rows`` rows), else None."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        if str(data["key"]) != key or (rows is not None and data["vectors"].shape[0] != rows):
            return None
        return data["vectors"].astype(np.float32)


def write_vectors(path: Path, vectors: np.ndarray, key: str) -> None:
    """float16 on disk (half the size; cosine changes by < 1e-3), written atomically."""
    save_npz(path, vectors=vectors.astype(np.float16), key=np.array(key))


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez_compressed``, but byte-identical for identical arrays (fixed zip timestamps), and atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[name]), allow_pickle=False)
            archive.writestr(info, buffer.getvalue())
    tmp.replace(path)


class EntryBank:
    """Entry-side vectors with the index that maps them to entries and themes.

    ``entry_scores`` is each entry's best cosine over its own vectors: one matrix product and a
    gather per batch. The theme descriptions' vectors are in the bank too (the theme head's
    training rows) but no entry scores against them.
    """

    def __init__(self, taxonomy: Taxonomy, texts: Sequence[EntryText], vectors: np.ndarray, key: str) -> None:
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} entry texts but {len(vectors)} vectors")
        self.taxonomy = taxonomy
        self.texts = list(texts)
        self.key = key
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        entry_ids = [e.id for e in taxonomy.entries]
        rows: dict[str, list[int]] = {e: [] for e in entry_ids}
        for i, t in enumerate(self.texts):
            if t.kind != "theme":
                rows[t.owner].append(i)
        width = max(len(r) for r in rows.values())
        pad = len(self.texts)  # a column of -inf appended at scoring time
        self._index = np.full((len(entry_ids), width), pad, dtype=np.int64)
        for j, entry_id in enumerate(entry_ids):
            self._index[j, : len(rows[entry_id])] = rows[entry_id]
        self._kind_index = {
            kind: self._masked_index(np.array([t.kind == kind for t in self.texts] + [False]), pad)
            for kind in ENTRY_KINDS
        }
        self.counts = {kind: int(sum(t.kind == kind for t in self.texts)) for kind in (*ENTRY_KINDS, "theme")}

    def _masked_index(self, keep: np.ndarray, pad: int) -> np.ndarray:
        return np.where(keep[self._index], self._index, pad)

    def similarities(self, passages: np.ndarray) -> np.ndarray:
        """Cosine of each passage to every entry-side vector, plus a last column of -inf for padding."""
        sims = passages @ self.vectors.T
        return np.hstack([sims, np.full((len(passages), 1), -np.inf, dtype=sims.dtype)])

    def entry_scores(self, sims: np.ndarray, kind: str | None = None) -> np.ndarray:
        """Best cosine per entry (columns in taxonomy order) over its vectors, or over those of one kind."""
        index = self._index if kind is None else self._kind_index[kind]
        best = sims[:, index].max(axis=2)
        return np.where(np.isfinite(best), best, 0.0)


def load_entry_bank(encoder: Encoder, taxonomy: Taxonomy, shipped_dir: Path | None = None,
                    cache_dir: Path | None = None,
                    exemplars: dict[str, dict[str, list[str]]] | None = None) -> EntryBank:
    """The taxonomy's entry bank: shipped vectors when their key matches, else cached or freshly encoded ones."""
    if exemplars is None:
        exemplars = load_exemplars(taxonomy.id)
    texts = entry_texts(taxonomy, exemplars)
    key = texts_key(encoder.model_id, texts)
    shipped = shipped_dir if shipped_dir is not None else MODELS_DIR / taxonomy.id
    vectors = cached_vectors(encoder, [t.text for t in texts], key, "entry-vectors", shipped, cache_dir)
    return EntryBank(taxonomy, texts, vectors, key)
