"""The performance blocks written from benchmark results (issue 19), and the row comparison the Dask check uses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench import report
from bench.rows import differences

RESULTS = {
    "machine": {"processor": "Test CPU", "cpus": "2"},
    "date": "2026-12-02",
    "figures": [{"benchmark": "scale", "measure": "growth", "value": 1.1, "unit": "", "reference": "target",
                 "reference_value": 1.15, "ratio": 1.05}],
    "ingest": {"passages": 5000, "first_run_seconds": 50.0, "rerun_seconds": 1.0, "peak_tree_mib": 1000.0,
               "bare_int8_seconds": 40.0, "bare_fp32_seconds": 75.0,
               "budget": {"interpreter and imports": 1.0, "Prefect: start, tasks, finish": 9.0, "classification": 5.0},
               "worker_seconds": {"encoding": 60.0}},
    "scale": {"points": [
        {"share": 25, "documents": 20, "pages": 500, "passages": 4000, "seconds": 60.0, "seconds_per_page": 0.12,
         "peak_tree_mib": 900.0},
        {"share": 100, "documents": 100, "pages": 2000, "passages": 16000, "seconds": 210.0, "seconds_per_page": 0.105,
         "peak_tree_mib": 1100.0}],
        "marginal_seconds_per_page": 0.1, "growth": 0.875,
        "dask": {"workers": 2, "seconds": 230.0, "peak_tree_mib": 1300.0, "same_rows": True, "differences": []}},
}


def test_the_headline_sets_the_run_against_both_bare_encodes() -> None:
    text = report.performance(RESULTS)
    assert "**0.80** of a bare encode" in text  # 40 s / 50 s
    assert "1.50x a bare fp32 encode" in text
    assert "2.0% of the first run" in text and "the same rows as the local run" in text


def test_the_machine_line_names_the_kernel_features_int8_speed_depends_on() -> None:
    vnni = {**RESULTS, "machine": {**RESULTS["machine"], "kernels": "avx2 avx512_vnni"}}
    assert "(Test CPU with avx2 avx512_vnni, 2 CPUs, 2026-12-02;" in report.performance(vnni)
    assert "(Test CPU, 2 CPUs, 2026-12-02;" in report.performance(RESULTS)  # results recorded before kernels were


def test_the_time_budget_adds_up_to_the_run_with_what_the_clocks_do_not_see() -> None:
    text = report.time_budget(RESULTS)
    assert "| Prefect: start, tasks, finish | 9.0 | 18% |" in text
    assert "| process exit and what the clocks do not see | 35.0 | 70% |" in text
    assert "| encoding | 60.0 |" in text and "| the project's int8 encoder | 40.0 |" in text


def test_the_capacity_plan_is_computed_from_the_marginal_cost_and_the_fixed_start() -> None:
    text = report.capacity_plan(RESULTS)
    # fixed start = 60 s - 0.1 s/page x 500 pages = 10 s; 20 pages a document; 3,300 documents a night
    assert "costs 10 s to start and 0.100 s a page" in text
    assert "864,000 pages (43,200 such documents) a day" in text
    assert "(66,000 pages) takes about 1.8 hours on one machine: 1 machine for a 2-hour window" in text


def test_blocks_say_so_when_there_are_no_figures_yet() -> None:
    empty = {"machine": RESULTS["machine"], "figures": []}
    for block in (report.performance, report.time_budget, report.scale_curve, report.capacity_plan):
        assert "run `make bench`" in block(empty)


def _database(path: Path, score: float) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("create table passages (id, document, ordinal, page, heading, block_type, start, end, text, "
                   "boilerplate, boilerplate_reason, ocr, text_hash)")
        db.execute("create table evidence (passage, taxonomy, entry, classifier_id, score, rank, flagged, status, "
                   "reason, probability, created_at)")
        db.execute("insert into passages values ('p1', 'd1', 0, 1, '', 'paragraph', 0, 10, 'text', 0, null, 0, 'h')")
        db.execute("insert into evidence values ('p1', 'bv', 'R-F09', 'clf', ?, 1, 1, 'suggested', null, 0.9, ?)",
                   [score, str(path)])
    return path


def test_rows_compare_equal_whatever_the_run_times_and_differ_on_a_score(tmp_path: Path) -> None:
    one, same = _database(tmp_path / "one.db", 0.5), _database(tmp_path / "same.db", 0.5)
    other = _database(tmp_path / "other.db", 0.5000001)
    assert differences(one, same) == []  # created_at differs; it is not compared
    assert differences(one, other) == ["evidence: 1 rows vs 1"]
