"""Properties of the pure logic, over generated inputs: identifiers, offsets, text keys, cursors,
calibration and the replay of analysts' decisions. No model, no Prefect: part of ``make test-fast``."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.classify.calibration import THRESHOLD_GRID, Platt, best_threshold, binary_f1, fit_platt
from pipeline.domain import (
    DOCUMENT_BLOCK_SEPARATOR,
    Block,
    BlockType,
    EvidenceKey,
    ExtractedDocument,
    ReviewDecision,
    ReviewRecord,
    assign_offsets,
    standing_decisions,
)
from pipeline.errors import FeedError
from pipeline.feed.events import parse_cursor
from pipeline.ids import short_hash, text_key, vector_key
from pipeline.text import squash_space

ALPHABET = set("0123456789abcdefghjkmnpqrstvwxyz")
words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40)
spacing = st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003", min_size=1, max_size=3)


# -- identifiers --------------------------------------------------------------------------------------

@given(st.lists(st.one_of(words, st.integers()), min_size=1, max_size=5), st.integers(min_value=1, max_value=52))
def test_short_hash_is_deterministic_and_uses_the_unambiguous_alphabet(parts, length):
    value = short_hash(*parts, length=length)
    assert value == short_hash(*parts, length=length)
    assert len(value) == length and set(value) <= ALPHABET


@given(words, words)
def test_short_hash_keeps_its_parts_apart(a, b):
    """Joining is unambiguous: ("ab", "c") and ("a", "bc") are different inputs."""
    if (a, b) != (a + b, "") and "\x1f" not in a + b:
        assert short_hash(a, b) != short_hash(a + b, "")


@given(st.lists(st.text(alphabet="abc xyz.", min_size=1, max_size=8), min_size=1, max_size=6), spacing)
def test_text_keys_ignore_how_the_words_are_spaced(tokens, gap):
    plain = " ".join(tokens)
    spaced = gap + gap.join(tokens) + gap
    assert squash_space(spaced) == squash_space(plain)
    assert text_key(spaced) == text_key(plain)
    assert vector_key("model", spaced) == vector_key("model", plain)
    assert vector_key("model", plain) != vector_key("other-model", plain)


# -- offsets ------------------------------------------------------------------------------------------

@given(st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=12))
def test_block_offsets_index_the_document_text(texts):
    blocks = assign_offsets([Block(BlockType.PARAGRAPH, text) for text in texts])
    document = ExtractedDocument("0" * 64, "text", blocks)
    for block in blocks:
        assert document.text[block.start:block.end] == block.text
    assert all(a.end + len(DOCUMENT_BLOCK_SEPARATOR) == b.start for a, b in pairwise(blocks))
    assert blocks[-1].end == len(document.text)


# -- the feed's cursor --------------------------------------------------------------------------------

@given(st.integers(min_value=0, max_value=2**62), st.sampled_from(["", " ", "\n"]))
def test_a_cursor_reads_back_as_written(cursor, padding):
    assert parse_cursor(f"{padding}{cursor}{padding}") == cursor


@given(st.integers(max_value=-1))
def test_a_negative_cursor_is_refused(cursor):
    with pytest.raises(FeedError, match="negative"):
        parse_cursor(str(cursor))


@given(st.text(min_size=1).filter(lambda t: t.strip() and not t.strip().lstrip("+-").isdigit()))
def test_a_cursor_that_is_not_a_whole_number_is_refused_in_one_line(text):
    with pytest.raises(FeedError) as caught:
        parse_cursor(text)
    assert "whole number" in str(caught.value)


def test_no_cursor_starts_at_the_beginning():
    assert parse_cursor(None) == parse_cursor("") == 0


# -- evidence keys ------------------------------------------------------------------------------------

identifier = st.text(alphabet="abcdefghjkmnpqrstvwxyz0123456789-", min_size=1, max_size=20)


@given(identifier, identifier, identifier)
def test_an_evidence_id_parses_back_to_its_key(passage, taxonomy, entry):
    key = EvidenceKey(passage, taxonomy, entry)
    assert EvidenceKey.parse(key.id) == key


@pytest.mark.parametrize("parts", [("", "bv-2023-draft", "R-F09"), ("p1", "a:b", "R-F09")])
def test_an_evidence_key_refuses_impossible_parts(parts):
    with pytest.raises(ValueError):
        EvidenceKey(*parts)


# -- calibration --------------------------------------------------------------------------------------

@given(st.lists(st.floats(min_value=-20, max_value=20), min_size=2, max_size=40), st.data())
def test_platt_scaling_never_gives_a_higher_score_a_lower_probability(scores, data):
    labels = data.draw(st.lists(st.booleans(), min_size=len(scores), max_size=len(scores)))
    platt = fit_platt(scores, labels)
    assert platt.slope >= 0
    grid = np.linspace(-25, 25, 51)
    assert np.all(np.diff(platt(grid)) >= 0)
    assert np.all((platt(grid) >= 0) & (platt(grid) <= 1))


@given(st.lists(st.tuples(st.floats(min_value=0, max_value=1), st.booleans()), min_size=1, max_size=60))
def test_the_chosen_threshold_is_on_the_grid_and_within_tolerance_of_the_best(pairs):
    probabilities = np.array([p for p, _ in pairs])
    gold = np.array([g for _, g in pairs])
    threshold = best_threshold(probabilities, gold)
    assert threshold in THRESHOLD_GRID
    if gold.any():
        f1 = [binary_f1(list(gold), list(probabilities >= t)) or 0.0 for t in THRESHOLD_GRID]
        assert f1[list(THRESHOLD_GRID).index(threshold)] >= max(f1) - 0.005 - 1e-9


def test_platt_is_the_logistic_of_its_line():
    assert float(Platt(2.0, -1.0)(0.5)) == pytest.approx(0.5)


# -- the replay of analysts' decisions ----------------------------------------------------------------

KEY = EvidenceKey("p1", "bv-2023-draft", "R-F09")
decisions = st.lists(st.sampled_from(list(ReviewDecision)), max_size=30)


def _log(sequence: list[ReviewDecision]) -> list[ReviewRecord]:
    return [ReviewRecord(i, KEY, decision, reviewer="a") for i, decision in enumerate(sequence, start=1)]


@given(decisions)
def test_replay_matches_a_stack_of_decisions_with_undo(sequence):
    """A confirm, reject or reassign is pushed; an undo pops the latest still standing; a note does nothing."""
    stack: list[int] = []
    for i, decision in enumerate(sequence, start=1):
        if decision in (ReviewDecision.CONFIRM, ReviewDecision.REJECT, ReviewDecision.REASSIGN):
            stack.append(i)
        elif decision is ReviewDecision.UNDO and stack:
            stack.pop()
    standing = standing_decisions(_log(sequence)).get(KEY)
    assert ([r.id for r in standing.decisions] if standing else []) == stack


@given(decisions)
def test_replay_does_not_depend_on_the_order_rows_arrive_in(sequence):
    log = _log(sequence)
    assert standing_decisions(log) == standing_decisions(list(reversed(log)))


def test_a_blind_second_review_never_stands():
    log = [ReviewRecord(1, KEY, ReviewDecision.CONFIRM, "a"), ReviewRecord(2, KEY, ReviewDecision.REJECT, "b",
                                                                           blind=True)]
    assert standing_decisions(log)[KEY].latest.reviewer == "a"
    assert standing_decisions(log[1:]) == {}
