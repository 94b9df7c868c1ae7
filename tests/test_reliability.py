"""Reliability diagrams of the cross-validation (``python -m pipeline.training --cv --plots DIR``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pipeline.training.__main__ import main
from pipeline.training.reliability import LEFT, SIZE, TOP, reliability_bins, reliability_svg, reliability_table

SVG = "{http://www.w3.org/2000/svg}"
# Two passages in the first bin (one a failure), one in the second, and two in the last, 1.0 itself included.
PROBABILITIES = [0.05, 0.05, 0.15, 0.95, 1.0]
GOLD = [False, True, False, True, False]


def test_bins_count_passages_and_rates_per_bin_with_one_in_the_last():
    bins = reliability_bins(PROBABILITIES, GOLD)
    assert len(bins) == 10
    filled = {(b.low, b.high): (b.passages, b.mean_probability, b.observed_rate) for b in bins if b.passages}
    assert filled == {(0.0, 0.1): (2, pytest.approx(0.05), 0.5), (0.1, 0.2): (1, pytest.approx(0.15), 0.0),
                      (0.9, 1.0): (2, pytest.approx(0.975), 0.5)}
    assert all(b.mean_probability is None and b.observed_rate is None for b in bins if not b.passages)


def test_bins_refuse_answers_that_do_not_pair_up():
    with pytest.raises(ValueError, match="3 probabilities against 2 gold answers"):
        reliability_bins([0.1, 0.2, 0.3], [True, False])


def test_table_shows_each_bin_with_its_bar():
    lines = reliability_table(reliability_bins(PROBABILITIES, GOLD), "the flag probability").splitlines()
    assert lines[0] == "Reliability of the flag probability (5 passages; bar: observed rate #, mean probability |)"
    assert lines[2] == "[0.0, 0.1)        2   0.050     0.500  |    #     "
    assert lines[3] == "[0.1, 0.2)        1   0.150     0.000  # |        "
    assert lines[4] == "[0.2, 0.3)        0       -         -"
    assert lines[11] == "[0.9, 1.0)        2   0.975     0.500       #    |"


def test_svg_places_a_dot_per_filled_bin_and_escapes_the_title():
    title = "P(evidence) <real text> & more"
    root = ET.fromstring(reliability_svg(reliability_bins(PROBABILITIES, GOLD), title))
    dots = [(float(c.get("cx")), float(c.get("cy"))) for c in root.iter(f"{SVG}circle") if c.get("class") == "mean"]
    assert dots == [(LEFT + 0.05 * SIZE, TOP + 0.5 * SIZE), (LEFT + 0.15 * SIZE, TOP + SIZE),
                    (LEFT + 0.975 * SIZE, TOP + 0.5 * SIZE)]
    bars = [float(r.get("height")) for r in root.iter(f"{SVG}rect") if r.get("class") == "observed"]
    assert bars == [0.5 * SIZE, 0.0, 0.5 * SIZE]
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "passages"] == ["2", "1", "2"]
    assert title in [t.text for t in root.iter(f"{SVG}text")]


def test_plots_need_the_cross_validation(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--plots", "somewhere"])
    assert stopped.value.code == 2
    assert "--plots needs --cv" in capsys.readouterr().err
