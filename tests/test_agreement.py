"""Cohen's kappa and raw agreement, the one definition the review app and the labelling both use."""

from __future__ import annotations

import pytest

from pipeline.agreement import cohen_kappa, raw_agreement


def test_cohen_kappa_matches_a_worked_example():
    """50 items: both say yes on 20, both no on 15 (observed 0.7); A says yes 25 times, B 30 times, so chance
    agreement is 0.5 x 0.6 + 0.5 x 0.4 = 0.5 and kappa (0.7 - 0.5) / (1 - 0.5) = 0.4."""
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert raw_agreement(first, second) == pytest.approx(0.7)
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_kappa_of_answers_of_any_kind_counts_each_answer_apart():
    """Labellers' answers may be None (no theme) or booleans; three answers, 4 items: A R R None None, B R G None
    None, observed 3/4; chance (2 x 1 + 0 x 1 + 2 x 2) / 16 = 6/16; kappa (12/16 - 6/16) / (10/16) = 0.6."""
    first, second = ["R", "R", None, None], ["R", "G", None, None]
    assert cohen_kappa(first, second) == pytest.approx(0.6)
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)


def test_kappa_is_undefined_without_items_or_when_one_answer_is_given_throughout():
    assert cohen_kappa(["yes"] * 3, ["yes"] * 3) is None
    assert raw_agreement(["yes"] * 3, ["yes"] * 3) == 1.0
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["yes", "no"], ["yes", "yes"]) == pytest.approx(0.0)  # one rater constant: defined, 0


def test_answers_of_different_lengths_and_a_share_of_no_items_are_refused():
    with pytest.raises(ValueError):
        cohen_kappa(["yes", "no"], ["yes"])
    with pytest.raises(ValueError):
        cohen_kappa([], ["yes"])
    with pytest.raises(ValueError, match="no items"):
        raw_agreement([], [])
