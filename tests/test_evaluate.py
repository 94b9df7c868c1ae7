"""Evaluation metrics on hand-computed examples, cross-validation folds and the BM25 baseline."""

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.classify.bm25 import BM25Classifier, BM25Thresholds
from pipeline.domain import GoldPassage
from pipeline.errors import EvaluationError, GoldFileError, PredictionError
from pipeline.taxonomy import load_taxonomy
from pipeline.training.crossval import bm25_fit_predict
from pipeline.training.evaluate import (
    Answer,
    compare,
    cross_validate,
    format_report,
    load_gold,
    report_to_dict,
    score,
)


def gold(gid: str, theme: str | None = None, polarity: str | None = None, entries: tuple[str, ...] = (),
         text: str = "") -> GoldPassage:
    if theme and not polarity:
        polarity = "neutral"
    return GoldPassage(gid, text, theme, polarity, entries)


def pred(pid: str, theme: str | None = None, matches: tuple[str, ...] = (), flagged: tuple[str, ...] = ()) -> dict:
    return {"id": pid, "theme": theme, "matches": [{"id": m, "score": 0.5} for m in matches], "flagged": list(flagged)}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---- gold files ----

def test_load_gold_accepts_gid_or_id_and_skips_blank_lines(tmp_path):
    path = write_lines(tmp_path / "gold.jsonl", [
        json.dumps({"gid": "A1", "text": "Reserves fell.", "theme": "R", "polarity": "failure", "entries": ["R-F05"],
                    "confidence": "high"}),
        "",
        json.dumps({"id": 7, "text": "Apologies.", "theme": None, "polarity": None, "entries": []}),
    ])
    assert load_gold(path) == [GoldPassage("A1", "Reserves fell.", "R", "failure", ("R-F05",)),
                               GoldPassage("7", "Apologies.", None, None, ())]


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "line 2 is not valid JSON"),
    ("[1, 2]", "line 2 is not a JSON object"),
    ('{"text": "x", "theme": null, "polarity": null}', "line 2: needs a string or integer 'gid'"),
    ('{"gid": "B", "text": "x", "theme": "R", "polarity": "bad"}', "line 2: 'polarity' must be one of"),
    ('{"gid": "B", "text": "x", "theme": null, "polarity": "failure"}', "line 2: 'polarity' must be null exactly"),
    ('{"gid": "B", "text": "x", "theme": "R", "polarity": "failure", "entries": "R-F05"}', "line 2: 'entries'"),
    ('{"gid": "A", "text": "x", "theme": null, "polarity": null}', "line 2: id 'A' already used on line 1"),
])
def test_bad_gold_line_is_named(tmp_path, line, message):
    path = write_lines(tmp_path / "gold.jsonl", ['{"gid": "A", "text": "x", "theme": null, "polarity": null}', line])
    with pytest.raises(GoldFileError, match=f"gold.jsonl {message}"):
        load_gold(path)


def test_missing_or_empty_gold_file(tmp_path):
    with pytest.raises(GoldFileError, match="not found"):
        load_gold(tmp_path / "absent.jsonl")
    with pytest.raises(GoldFileError, match="no passages"):
        load_gold(write_lines(tmp_path / "empty.jsonl", [""]))


# ---- metrics ----

def test_failure_flag_f1():
    rows = [gold("a", "R", "failure"), gold("b", "R", "failure"), gold("c", "C", "failure"),
            gold("d", "G", "positive"), gold("e")]
    predictions = [pred("a", flagged=("R-F09",)), pred("b"), pred("c", flagged=("C-F02",)),
                   pred("d", flagged=("G-F01",)), pred("e")]
    # tp = a, c; fn = b; fp = d  ->  F1 = 2*2 / (2*2 + 1 + 1) = 4/6
    assert score(rows, predictions).failure_flag_f1 == pytest.approx(2 / 3)


def test_theme_macro_f1_counts_only_classes_with_five_gold_passages():
    rows = ([gold(f"r{i}", "R") for i in range(1, 6)] + [gold(f"n{i}") for i in range(1, 6)]
            + [gold("s1", "SD"), gold("s2", "SD")])
    predictions = ([pred(f"r{i}", "R") for i in range(1, 5)] + [pred("r5")]
                   + [pred(f"n{i}") for i in range(1, 5)] + [pred("n5", "R")] + [pred("s1", "R"), pred("s2", "SD")])
    report = score(rows, predictions)
    # R:    tp = r1-r4 (4), fp = n5, s1 (2), fn = r5 (1)  ->  F1 = 8/11
    # none: tp = n1-n4 (4), fp = r5 (1),     fn = n5 (1)  ->  F1 = 8/10
    # SD:   2 gold passages < 5, so left out of the average (its F1 would be 2/3)
    assert report.macro_classes == ("R", "none")
    assert report.theme_macro_f1 == pytest.approx((8 / 11 + 0.8) / 2)
    assert report.per_theme["R"].precision == pytest.approx(4 / 6)
    assert report.per_theme["R"].recall == pytest.approx(4 / 5)
    assert report.per_theme["R"].support == 5
    assert report.per_theme["SD"].f1 == pytest.approx(2 / 3)
    assert report.confusion == {"R": {"R": 4, "SD": 0, "none": 1},
                                "SD": {"R": 1, "SD": 1, "none": 0},
                                "none": {"R": 1, "SD": 0, "none": 4}}
    # gold has a theme: r1-r5, s1, s2; predicted a theme: r1-r4, n5, s1, s2
    # tp = r1-r4, s1, s2 (6); fp = n5; fn = r5  ->  evidence F1 = 12/14
    assert report.evidence_f1 == pytest.approx(6 / 7)


def test_entry_recall_at_5_uses_first_five_matches_of_passages_with_entries():
    rows = [gold("p1", "R", entries=("R-F09",)), gold("p2", "G", entries=("G004", "G-F09")),
            gold("p3", "R"), gold("p4", "L", entries=("L008",)), gold("p5", "SD", entries=("SD001",))]
    predictions = [pred("p1", matches=("R-F09", "R-F01")),
                   pred("p2", matches=("R001", "R002", "R003", "R004", "R005", "G-F09")),  # 6th: too late
                   pred("p3", matches=("R001",)),  # no gold entries: not counted
                   pred("p4"),
                   pred("p5", matches=("SD002", "SD003", "SD004", "SD005", "SD001"))]  # 5th: counts
    # hits: p1, p5 out of p1, p2, p4, p5  ->  2/4
    assert score(rows, predictions).entry_recall_at_5 == pytest.approx(0.5)


def test_undefined_metrics_are_none():
    report = score([gold("a"), gold("b")], [pred("a"), pred("b")])
    assert report.entry_recall_at_5 is None  # no gold entries
    assert report.failure_flag_f1 is None  # no failures, none flagged
    assert report.theme_macro_f1 is None  # no class with 5 gold passages
    assert report_to_dict(report)["evidence_f1"] is None


def test_a_label_is_a_failure_by_its_polarity_and_a_prediction_by_any_flag():
    """What ``score`` reads from gold rows and predictions, ``compare`` scores; two labels compare the same way."""
    assert Answer.of_label("R", "failure", ["R-F02"]) == Answer("R", True, ("R-F02",))
    assert Answer.of_label("R", "positive", []).failure is False
    assert Answer.of_prediction(pred("a", "G", matches=("G004", "R-F02"), flagged=("R-F02",))) == \
        Answer("G", True, ("G004", "R-F02"))
    first = [Answer.of_label("R", "failure", ["R-F02"]), Answer.of_label(None, None, [])]
    second = [Answer.of_label("R", "neutral", ["R010", "R-F02"]), Answer.of_label("G", "neutral", [])]
    report = compare(first, second)
    # failure: first says one, second none -> F1 0; evidence: tp 1, fp 1 -> 2/3; the entry R-F02 is found
    assert (report.failure_flag_f1, report.evidence_f1, report.entry_recall_at_5) == (0.0, pytest.approx(2 / 3), 1.0)
    with pytest.raises(ValueError):
        compare(first, second[:1])


def test_theme_order_follows_the_given_themes_then_none():
    report = score([gold("a", "R"), gold("b", "XX")], [pred("a", "CI"), pred("b")], themes=["CI", "L", "R"])
    assert list(report.per_theme) == ["CI", "L", "R", "XX", "none"]
    assert list(report.confusion) == ["CI", "L", "R", "XX", "none"]


def test_predictions_pair_by_id_and_extra_ids_are_ignored():
    rows = [gold("a", "R"), gold("b")]
    assert score(rows, [pred("x", "G"), pred("b"), pred("a", "R")]).evidence_f1 == 1.0


def test_missing_prediction_is_an_error():
    with pytest.raises(PredictionError, match=r"no prediction for 1 gold passage\(s\): b"):
        score([gold("a"), gold("b")], [pred("a")])


@pytest.mark.parametrize(("row", "message"), [
    ({"theme": None, "matches": [], "flagged": []}, "prediction 1 has no 'id'"),
    ({"id": "a", "theme": None, "matches": [{"score": 1}], "flagged": []}, "'matches' must be"),
    ({"id": "a", "theme": None, "matches": []}, "'flagged' must be"),
])
def test_bad_prediction_row_is_named(row, message):
    with pytest.raises(PredictionError, match=message):
        score([gold("a")], [row])


def test_duplicate_prediction_is_an_error():
    with pytest.raises(PredictionError, match="prediction 2: id 'a' predicted twice"):
        score([gold("a")], [pred("a"), pred("a")])


# ---- cross-validation ----

def cv_gold() -> list[GoldPassage]:
    themes = ["R"] * 10 + ["G"] * 7 + [None] * 6
    return [gold(f"g{i:02d}", theme) for i, theme in enumerate(themes)]


def recorded_folds(rows: list[GoldPassage], seed: int) -> list[tuple[list[str], list[str]]]:
    calls: list[tuple[list[str], list[str]]] = []

    def fit_predict(train: list[GoldPassage], test: list[GoldPassage]) -> list[dict]:
        calls.append(([g.id for g in train], [g.id for g in test]))
        return [pred(g.id, g.theme) for g in test]

    report = cross_validate(rows, fit_predict, folds=5, seed=seed)
    assert report.evidence_f1 == 1.0  # the echoing system is scored on every row
    return calls


def test_cross_validation_predicts_each_row_once_out_of_fold():
    rows = cv_gold()
    calls = recorded_folds(rows, seed=0)
    tested = [gid for _, test in calls for gid in test]
    assert sorted(tested) == [g.id for g in rows]
    for train, test in calls:
        assert not set(train) & set(test)
        assert sorted(train + test) == [g.id for g in rows]
    # stratified: each of the 5 folds has exactly 2 of the 10 R rows
    r_ids = {g.id for g in rows if g.theme == "R"}
    assert [len(r_ids & set(test)) for _, test in calls] == [2] * 5


def test_cross_validation_is_deterministic_and_seeded():
    rows = cv_gold()
    assert recorded_folds(rows, seed=0) == recorded_folds(rows, seed=0)
    assert recorded_folds(rows, seed=0) != recorded_folds(rows, seed=1)


def test_cross_validation_rejects_impossible_fold_counts():
    with pytest.raises(EvaluationError, match="cannot make 5 folds from 3"):
        cross_validate(cv_gold()[:3], lambda train, test: [], folds=5)


# ---- BM25 baseline ----

@pytest.fixture(scope="module")
def bm25() -> BM25Classifier:
    return BM25Classifier(load_taxonomy())


def test_bm25_ranks_section_114_notice_first(bm25):
    [prediction] = bm25.predict([{"id": "x", "text": "The Section 151 officer issued a Section 114 notice"}])
    assert list(prediction) == ["id", "theme", "matches", "flagged"]
    assert "R-F09" in [m["id"] for m in prediction["matches"][:3]]
    scores = [m["score"] for m in prediction["matches"]]
    assert scores == sorted(scores, reverse=True)


def test_bm25_scores_shape_and_empty_text(bm25):
    scores = bm25.scores(["Reserves were drawn down to balance the budget.", ""])
    assert scores.shape == (2, len(bm25.entries))
    assert np.all(scores[1] == 0)
    assert bm25.predict([{"id": 3, "text": ""}]) == [{"id": 3, "theme": None, "matches": [], "flagged": []}]


SYNTHETIC = [
    ("f1", "The Section 151 officer issued a Section 114 notice.", "R", "failure"),
    ("f2", "The external auditor found significant weaknesses and issued a public interest report.", "G", "failure"),
    ("f3", "The Audit Committee meets infrequently and its effectiveness is undermined.", "G", "failure"),
    ("f4", "A culture of bullying, distrust and broken relationships exists.", "C", "failure"),
    ("p1", "The scrutiny function is challenging and robust.", "G", "positive"),
    ("p2", "The Council is committed to transparency and shares information with the public.", "C", "positive"),
    ("p3", "Lessons are learned from complaints.", "G", "positive"),
    ("n1", "Apologies for absence were received from Councillor Smith.", None, None),
    ("n2", "The weather in July was sunny.", None, None),
    ("n3", "Item 4: any other business.", None, None),
]


def test_fit_thresholds_beats_extreme_thresholds():
    rows = [GoldPassage(gid, text, theme, polarity, ()) for gid, text, theme, polarity in SYNTHETIC]
    records = [{"id": g.id, "text": g.text} for g in rows]
    classifier = BM25Classifier(load_taxonomy())

    def f1s(thresholds: BM25Thresholds) -> tuple[float, float]:
        classifier.thresholds = thresholds
        report = score(rows, classifier.predict(records))
        return report.evidence_f1, report.failure_flag_f1

    lowest, highest = f1s(BM25Thresholds(0.0, 0.0)), f1s(BM25Thresholds(np.inf, np.inf))
    fitted = classifier.fit_thresholds(rows)
    evidence_f1, flag_f1 = f1s(fitted)
    assert evidence_f1 > max(lowest[0], highest[0])
    assert flag_f1 > max(lowest[1], highest[1])
    assert BM25Classifier(load_taxonomy()).fit_thresholds(rows) == fitted  # deterministic


def test_bm25_cross_validation_runs_end_to_end():
    rows = [GoldPassage(gid, text, theme, polarity, ()) for gid, text, theme, polarity in SYNTHETIC]
    first = cross_validate(rows, bm25_fit_predict(load_taxonomy()), folds=2)
    assert first == cross_validate(rows, bm25_fit_predict(load_taxonomy()), folds=2)
    assert first.passages == len(rows)


# ---- report ----

def test_format_report_names_metrics_and_systems():
    rows = [gold(f"r{i}", "R", "failure", ("R-F09",)) for i in range(5)] + [gold(f"n{i}") for i in range(5)]
    ours = [pred(g.id, g.theme, matches=g.entries, flagged=g.entries) for g in rows]
    baseline = [pred(g.id, "G") for g in rows]
    text = format_report({"bv-triage": score(rows, ours), "bm25": score(rows, baseline)})
    for needle in ("bv-triage", "bm25", "failure flag F1", "theme macro-F1", "entry recall@5", "evidence F1",
                   "Per-theme", "Confusion matrix of bv-triage"):
        assert needle in text
    assert "R*" in text and "none*" in text
    json.dumps(report_to_dict(score(rows, ours)))  # JSON-ready
