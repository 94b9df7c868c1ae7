"""The training set a fit reads, as pure logic: rows and vectors stay aligned through subsets and extensions,
vectors round as the artefacts store them, and written vectors load back without encoding anything."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.classify.entry_vectors import EntryBank, entry_texts, load_exemplars
from pipeline.taxonomy import load_taxonomy
from pipeline.training.dataset import Exemplars, LabelledRow, TrainingSet, load_non_evidence

TAXONOMY = load_taxonomy()
DIMENSION = 8
MODEL = "test-model"


class NoEncoding:
    """The encoder's boundary: a model id, and a failure if anything would be encoded (all must load)."""

    model_id = MODEL

    def encode(self, texts: list[str]) -> np.ndarray:
        raise AssertionError(f"{len(texts)} texts encoded; the written vectors should have been read")


def unit_rows(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@cache
def bank() -> EntryBank:
    texts = entry_texts(TAXONOMY, load_exemplars(TAXONOMY.id))
    return EntryBank(TAXONOMY, texts, unit_rows(len(texts), 1), "bank-key")


def rows(count: int) -> tuple[LabelledRow, ...]:
    """Written rows, then real-text rows of two documents (every third row)."""
    return tuple(LabelledRow(f"r{i}", f"passage number {i}", "R" if i % 2 else None, i % 4 == 1,
                             ("R-F02",) if i % 2 else (), None, f"doc-{i % 2}.pdf" if i % 3 == 0 else None)
                 for i in range(count))


@cache
def twelve_rows() -> TrainingSet:
    return training_set(12)


def training_set(count: int = 12) -> TrainingSet:
    none_texts = tuple(load_non_evidence(TAXONOMY.id))
    return TrainingSet(TAXONOMY, MODEL, rows(count), unit_rows(count, 2), bank(), none_texts,
                       unit_rows(len(none_texts), 3))


@settings(deadline=None)  # the first example builds the shared set
@given(st.lists(st.integers(min_value=0, max_value=11), max_size=20))
def test_a_subset_keeps_each_row_with_its_vector(index):
    data = twelve_rows()
    part = data.subset(index)
    assert [r.id for r in part.rows] == [f"r{i}" for i in index]
    assert np.array_equal(part.vectors, data.vectors[index].reshape(len(index), DIMENSION))
    assert part.bank is data.bank and part.none_texts == data.none_texts


def test_extended_rows_follow_and_misaligned_sets_are_refused():
    data = training_set(4)
    more = rows(6)[4:]
    longer = data.extended(more, unit_rows(2, 5))
    assert [r.id for r in longer.rows] == [f"r{i}" for i in range(6)] and longer.vectors.shape == (6, DIMENSION)
    with pytest.raises(ValueError, match="6 labelled rows but 5 vectors"):
        data.extended(more, unit_rows(1, 5))
    with pytest.raises(ValueError, match="non-evidence"):
        TrainingSet(TAXONOMY, MODEL, data.rows, data.vectors, data.bank, ("one",), unit_rows(2, 6))


def test_stored_vectors_are_rounded_once_as_the_files_hold_them():
    data = training_set()
    stored = data.stored()
    for before, after in ((data.vectors, stored.vectors), (data.none_vectors, stored.none_vectors),
                          (data.bank.vectors, stored.bank.vectors)):
        assert np.array_equal(after, before.astype(np.float16).astype(np.float32)) and not np.array_equal(after, before)
    assert np.array_equal(stored.stored().vectors, stored.vectors)  # rounding twice changes nothing


def test_written_vectors_load_back_without_encoding(tmp_path: Path):
    data = training_set()
    data.write_vectors(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"entry-vectors.npz", "devset-vectors.npz", "real-vectors.npz",
                                                    "non-evidence-vectors.npz"}
    loaded = TrainingSet.load(NoEncoding(), TAXONOMY, tmp_path, rows=data.rows, bank=data.bank)
    assert loaded.rows == data.rows and loaded.none_texts == data.none_texts
    assert np.array_equal(loaded.vectors, data.stored().vectors)  # float16 on disk
    assert np.array_equal(loaded.none_vectors, data.stored().none_vectors)


def test_exemplars_are_the_banks_exemplars_then_the_non_evidence_passages():
    data = training_set()
    ex = Exemplars.of(data)
    exemplars = sum(t.kind == "exemplar" for t in data.bank.texts)
    assert len(ex.texts) == len(ex.vectors) == len(ex.cues) == len(ex.sims) == exemplars + len(data.none_texts)
    assert ex.themes[exemplars:] == ["none"] * len(data.none_texts) and not ex.failures[exemplars:].any()
    assert ex.sims.shape[1] == len(TAXONOMY.entries)


def test_a_row_reads_as_gold_with_its_pole():
    failure, healthy, nothing = (LabelledRow("a", "t", "R", True, ("R-F02",)), LabelledRow("b", "t", "R", False, ()),
                                 LabelledRow("c", "t", None, False, ()))
    assert [r.gold().polarity for r in (failure, healthy, nothing)] == ["failure", "neutral", None]
    assert failure.gold().entries == ("R-F02",) and nothing.gold().theme is None
