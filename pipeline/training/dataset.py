"""The labelled rows a model is fitted on (the development set, written non-evidence passages, exemplars), and
the training set that carries them with their vectors to the fit."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from pipeline.classify.entry_vectors import EntryBank, cached_vectors, load_entry_bank, texts_key, write_vectors
from pipeline.classify.model import NONE_CLASS
from pipeline.classify.rules.polarity import cue_counts, cue_features
from pipeline.domain import GoldPassage
from pipeline.errors import TaxonomyError
from pipeline.ids import short_hash
from pipeline.paths import DEVSET, REAL_DEVSET, TAXONOMY_DIR
from pipeline.taxonomy import Taxonomy
from pipeline.text import squash_space
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

    def gold(self) -> GoldPassage:
        """The row as the evaluation reads it (a row keeps only whether it is a failure, so others are neutral)."""
        polarity = "failure" if self.failure else ("neutral" if self.theme else None)
        return GoldPassage(self.id, self.text, self.theme, polarity, self.entries)


def load_devset(path: Path = DEVSET) -> list[LabelledRow]:
    """The labelled rows, with the ``doc_kind`` that ``pipeline.training.evaluate.load_gold`` leaves out."""
    from pipeline.training.evaluate import load_gold

    kinds = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            kinds[str(raw.get("gid", raw.get("id")))] = raw.get("doc_kind")
    return [LabelledRow(g.id, squash_space(g.text), g.theme, g.polarity == "failure", g.entries, kinds.get(g.id))
            for g in load_gold(path)]


def load_real_devset(path: Path = REAL_DEVSET) -> tuple[list[LabelledRow], RealLoad]:
    """The real-text rows with their text rebuilt from the shared documents (see ``pipeline.training.realtext``)."""
    loaded = load_real_rows(path)
    rows = [LabelledRow(p.ref.gid, squash_space(p.text), p.ref.theme, p.ref.polarity == "failure", p.ref.entries,
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


def _row_vector_files(rows: Sequence[LabelledRow]) -> Iterator[tuple[str, list[int], list[str]]]:
    """(file name, row indices, texts) of each vector file the rows are cached in."""
    for name, real in ROW_VECTOR_FILES:
        index = [i for i, r in enumerate(rows) if (r.group is not None) == real]
        if index:
            yield name, index, [rows[i].text for i in index]


def devset_vectors(encoder: Encoder, rows: Sequence[LabelledRow], directory: Path) -> np.ndarray:
    """Vectors of the rows in order: written ones cached as ``devset-vectors``, real ones as ``real-vectors``."""
    parts = [(index, cached_vectors(encoder, texts, texts_key(encoder.model_id, texts), name, directory))
             for name, index, texts in _row_vector_files(rows)]
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
    return [squash_space(str(t)) for t in data["passages"] if str(t).strip()]


def non_evidence_vectors(encoder: Encoder, texts: Sequence[str], directory: Path) -> np.ndarray:
    return cached_vectors(encoder, texts, texts_key(encoder.model_id, texts), "non-evidence-vectors", directory)


@dataclass(frozen=True)
class TrainingSet:
    """Everything a fit reads, carried together: the labelled rows and their vectors (row for row), the
    taxonomy's entry bank, and the written non-evidence passages with their vectors."""

    taxonomy: Taxonomy
    model_id: str  # the encoder every vector here comes from
    rows: tuple[LabelledRow, ...]
    vectors: np.ndarray  # (rows, dimensions) float32
    bank: EntryBank
    none_texts: tuple[str, ...] = ()
    none_vectors: np.ndarray | None = None  # (none_texts, dimensions); None stands for no rows

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.vectors):
            raise ValueError(f"{len(self.rows)} labelled rows but {len(self.vectors)} vectors")
        if self.none_vectors is None:
            object.__setattr__(self, "none_vectors", np.zeros((0, self.bank.vectors.shape[1]), dtype=np.float32))
        if len(self.none_texts) != len(self.none_vectors):
            raise ValueError(f"{len(self.none_texts)} non-evidence passages but {len(self.none_vectors)} vectors")

    @classmethod
    def load(cls, encoder: Encoder, taxonomy: Taxonomy, vectors_dir: Path, *,
             rows: Sequence[LabelledRow] | None = None, bank: EntryBank | None = None) -> TrainingSet:
        """The development rows (or ``rows``) with vectors shipped in or cached beside ``vectors_dir``, encoded
        when neither matches; the entry bank likewise unless given."""
        rows = load_training_rows() if rows is None else rows
        none_texts = load_non_evidence(taxonomy.id)
        return cls(taxonomy, encoder.model_id, tuple(rows), devset_vectors(encoder, rows, vectors_dir),
                   bank or load_entry_bank(encoder, taxonomy, shipped_dir=vectors_dir), tuple(none_texts),
                   non_evidence_vectors(encoder, none_texts, vectors_dir))

    def subset(self, index: Sequence[int]) -> TrainingSet:
        """The rows at ``index`` (in that order) with their vectors; bank and non-evidence passages unchanged."""
        return replace(self, rows=tuple(self.rows[i] for i in index), vectors=self.vectors[list(index)])

    def extended(self, rows: Sequence[LabelledRow], vectors: np.ndarray) -> TrainingSet:
        """These rows with ``rows`` after them."""
        return replace(self, rows=(*self.rows, *rows), vectors=np.vstack([self.vectors, vectors]))

    def stored(self) -> TrainingSet:
        """Every vector rounded to float16 as the artefacts store it, so a fit on it matches a fit on vectors
        read back bit for bit."""
        return replace(self, vectors=_half(self.vectors), none_vectors=_half(self.none_vectors),
                       bank=EntryBank(self.taxonomy, self.bank.texts, _half(self.bank.vectors), self.bank.key))

    def write_vectors(self, directory: Path) -> None:
        """The entry bank, row and non-evidence vectors as the files ``load`` reads from ``vectors_dir``."""
        directory.mkdir(parents=True, exist_ok=True)
        write_vectors(directory / "entry-vectors.npz", self.bank.vectors, self.bank.key)
        for name, index, texts in _row_vector_files(self.rows):
            write_vectors(directory / f"{name}.npz", self.vectors[index], texts_key(self.model_id, texts))
        write_vectors(directory / "non-evidence-vectors.npz", self.none_vectors,
                      texts_key(self.model_id, self.none_texts))

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.rows]

    @property
    def groups(self) -> list[str | None]:
        return [r.group for r in self.rows]

    @property
    def gold_evidence(self) -> np.ndarray:
        return np.array([r.theme is not None for r in self.rows])

    @property
    def gold_failure(self) -> np.ndarray:
        return np.array([r.failure for r in self.rows])

    @property
    def real(self) -> np.ndarray:
        """Which rows are real text (the others are written passages)."""
        return np.array([r.group is not None for r in self.rows])


def _half(vectors: np.ndarray) -> np.ndarray:
    return vectors.astype(np.float16).astype(np.float32)


@dataclass
class Exemplars:
    """Written training rows: the bank's exemplar passages (every head), all its entry texts (entry head) and
    the non-evidence passages (theme head as "none", failure head as not failure)."""

    vectors: np.ndarray
    texts: list[str]
    themes: list[str]  # NONE_CLASS for non-evidence passages
    failures: np.ndarray
    cues: np.ndarray  # polarity cue features of the texts
    sims: np.ndarray  # entry similarities with each exemplar's own vector left out
    entry_vectors: np.ndarray  # entry text, paraphrases and exemplars
    entry_labels: list[str]

    @classmethod
    def of(cls, data: TrainingSet) -> Exemplars:
        bank, none_texts = data.bank, list(data.none_texts)
        by_id = {e.id: e for e in data.taxonomy.entries}
        rows = [i for i, t in enumerate(bank.texts) if t.kind == "exemplar"]
        sims_all = bank.similarities(bank.vectors[rows])
        sims_all[np.arange(len(rows)), rows] = -np.inf  # an exemplar must not match itself
        entry_rows = [i for i, t in enumerate(bank.texts) if t.kind != "theme"]
        texts = [bank.texts[i].text for i in rows] + none_texts
        return cls(
            vectors=np.vstack([bank.vectors[rows], data.none_vectors]), texts=texts,
            themes=[by_id[bank.texts[i].owner].theme for i in rows] + [NONE_CLASS] * len(none_texts),
            failures=np.array([by_id[bank.texts[i].owner].is_failure for i in rows] + [False] * len(none_texts)),
            cues=cue_features(texts, [cue_counts(text) for text in texts]),
            sims=np.vstack([bank.entry_scores(sims_all), bank.entry_scores(bank.similarities(data.none_vectors))]),
            entry_vectors=bank.vectors[entry_rows], entry_labels=[bank.texts[i].owner for i in entry_rows],
        )
