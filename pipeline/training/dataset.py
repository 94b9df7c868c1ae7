"""The labelled rows a model is fitted on: the development set, written non-evidence passages, exemplars."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from pipeline.classify.entry_vectors import EntryBank, cached_vectors, texts_key
from pipeline.classify.model import NONE_CLASS
from pipeline.errors import TaxonomyError
from pipeline.ids import short_hash
from pipeline.paths import DEVSET, REAL_DEVSET, TAXONOMY_DIR
from pipeline.taxonomy import Taxonomy
from pipeline.training.realtext import RealLoad, load_real_rows

if TYPE_CHECKING:
    from pipeline.embed import Encoder


@dataclass(frozen=True)
class LabelledRow:
    id: str
    text: str  # whitespace-normalised, as `triage predict` sees it
    theme: str | None
    failure: bool
    entries: tuple[str, ...]
    doc_kind: str | None = None
    group: str | None = None  # the real document a real-text row comes from; None for a written passage


def normalise(text: str) -> str:
    return " ".join(text.split())


def load_devset(path: Path = DEVSET) -> list[LabelledRow]:
    """The labelled rows, with the ``doc_kind`` that ``pipeline.training.evaluate.load_gold`` leaves out."""
    from pipeline.training.evaluate import load_gold

    kinds = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            kinds[str(raw.get("gid", raw.get("id")))] = raw.get("doc_kind")
    return [LabelledRow(g.id, normalise(g.text), g.theme, g.polarity == "failure", g.entries, kinds.get(g.id))
            for g in load_gold(path)]


def load_real_devset(path: Path = REAL_DEVSET) -> tuple[list[LabelledRow], RealLoad]:
    """The real-text rows with their text rebuilt from the shared documents (see ``pipeline.training.realtext``)."""
    loaded = load_real_rows(path)
    rows = [LabelledRow(p.ref.gid, normalise(p.text), p.ref.theme, p.ref.polarity == "failure", p.ref.entries,
                        None, p.ref.file) for p in loaded.passages]
    return rows, loaded


def load_training_rows(devset: Path = DEVSET, real: Path | None = REAL_DEVSET) -> list[LabelledRow]:
    """The written development set, then the real-text rows that can be rebuilt here (say which cannot)."""
    rows = load_devset(devset)
    if real is not None:
        real_rows, loaded = load_real_devset(real)
        if loaded.skipped:
            print(f"real-text rows: {loaded.summary()}", file=sys.stderr)
        rows += real_rows
    return rows


def training_hash(rows: Sequence[LabelledRow]) -> str:
    """Identity of the labels a model was trained on (texts, themes, polarity, entries, kinds, documents)."""
    parts = sorted(f"{r.id}|{r.text}|{r.theme}|{r.failure}|{','.join(r.entries)}|{r.doc_kind}|{r.group}"
                   for r in rows)
    return short_hash("training-rows", len(parts), *parts, length=16)


ROW_VECTOR_FILES = (("devset-vectors", False), ("real-vectors", True))  # (file name, holds the real-text rows)


def devset_vectors(encoder: Encoder, rows: Sequence[LabelledRow], directory: Path) -> np.ndarray:
    """Vectors of the rows in order: written ones cached as ``devset-vectors``, real ones as ``real-vectors``."""
    parts: list[tuple[list[int], np.ndarray]] = []
    for name, real in ROW_VECTOR_FILES:
        index = [i for i, r in enumerate(rows) if (r.group is not None) == real]
        if index:
            texts = [rows[i].text for i in index]
            parts.append((index, cached_vectors(encoder, texts, texts_key(encoder.model_id, texts), name, directory)))
    out = np.zeros((len(rows), parts[0][1].shape[1]), dtype=np.float32)
    for index, vectors in parts:
        out[index] = vectors
    return out


def load_non_evidence(taxonomy_id: str, directory: Path = TAXONOMY_DIR) -> list[str]:
    """The written non-evidence passages of ``taxonomy/<id>.non-evidence.yaml`` (none when absent)."""
    path = directory / f"{taxonomy_id}.non-evidence.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("taxonomy") != taxonomy_id or not isinstance(data.get("passages"), list):
        raise TaxonomyError(f"{path.name} must declare taxonomy {taxonomy_id!r} and a list of passages")
    return [normalise(str(t)) for t in data["passages"] if str(t).strip()]


@dataclass
class Exemplars:
    """Written training rows: the bank's exemplar passages (every head), all its entry texts (entry head) and
    the non-evidence passages (theme head as "none", failure head as not failure)."""

    vectors: np.ndarray
    texts: list[str]
    themes: list[str]  # NONE_CLASS for non-evidence passages
    failures: np.ndarray
    sims: np.ndarray  # entry similarities with each exemplar's own vector left out
    entry_vectors: np.ndarray  # entry text, paraphrases and exemplars
    entry_labels: list[str]

    @classmethod
    def from_bank(cls, bank: EntryBank, taxonomy: Taxonomy, none_texts: Sequence[str] = (),
                  none_vectors: np.ndarray | None = None) -> Exemplars:
        by_id = {e.id: e for e in taxonomy.entries}
        rows = [i for i, t in enumerate(bank.texts) if t.kind == "exemplar"]
        sims_all = bank.similarities(bank.vectors[rows])
        sims_all[np.arange(len(rows)), rows] = -np.inf  # an exemplar must not match itself
        entry_rows = [i for i, t in enumerate(bank.texts) if t.kind != "theme"]
        if none_vectors is None:
            none_vectors = np.zeros((0, bank.vectors.shape[1]), dtype=np.float32)
        return cls(
            vectors=np.vstack([bank.vectors[rows], none_vectors]),
            texts=[bank.texts[i].text for i in rows] + list(none_texts),
            themes=[by_id[bank.texts[i].owner].theme for i in rows] + [NONE_CLASS] * len(none_texts),
            failures=np.array([by_id[bank.texts[i].owner].is_failure for i in rows] + [False] * len(none_texts)),
            sims=np.vstack([bank.entry_scores(sims_all), bank.entry_scores(bank.similarities(none_vectors))]),
            entry_vectors=bank.vectors[entry_rows], entry_labels=[bank.texts[i].owner for i in entry_rows],
        )


def non_evidence_vectors(encoder: Encoder, texts: Sequence[str], directory: Path) -> np.ndarray:
    return cached_vectors(encoder, texts, texts_key(encoder.model_id, texts), "non-evidence-vectors", directory)
