"""The encoder comparison's table and command line (the measuring itself runs in `bench/`, not in tests)."""

import pytest

from bench.encoder_comparison import CANDIDATES, main, table


def test_table_shows_each_speed_as_a_ratio_to_its_own_reference_and_dashes_for_what_was_not_run():
    results = {
        "e5-small-q4": {"real": {"failure_flag_f1": 0.3158, "theme_macro_f1": 0.3933, "entry_recall_at_5": 0.8082,
                                 "evidence_f1": 0.552, "flagged": 14, "false_flags": 11},
                        "speed": {"one_thread_passages_per_s": 3.7, "one_thread_reference_passages_per_s": 14.8,
                                  "two_workers_passages_per_s": 2.0, "two_workers_reference_passages_per_s": 10.0,
                                  "predict_s": 13.0, "reference_encode_s": 10.0}},
        "mpnet-int8": {"speed": {"one_thread_passages_per_s": 8.0, "one_thread_reference_passages_per_s": 10.0,
                                 "two_workers_passages_per_s": 9.0, "two_workers_reference_passages_per_s": 10.0}},
    }
    header, rule, e5, mpnet = table(results).splitlines()
    assert header.count("|") == rule.count("|") == e5.count("|") == mpnet.count("|")
    cells = [c.strip() for c in e5.strip("|").split("|")]
    assert cells[1:6] == ["0.316", "0.393", "0.808", "0.552", "14 (11)"]
    assert cells[6:10] == ["-"] * 4  # no written CV
    assert cells[10:] == ["3.7/s (0.25x)", "2.0/s (0.20x)", "1.30"]
    cells = [c.strip() for c in mpnet.strip("|").split("|")]
    assert cells[1] == "-" and cells[10:] == ["8.0/s (0.80x)", "9.0/s (0.90x)", "-"]


def test_unknown_candidates_are_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bge-small"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "unknown candidate bge-small" in error and all(name in error for name in CANDIDATES)
