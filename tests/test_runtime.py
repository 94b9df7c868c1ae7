"""The run's processes (issue 15): document workers that fail as data, budgets enforced from
outside, dead workers replaced, nothing left behind when a run dies, one run per database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hostile import docx_truncated_xml, html_nested_divs, pdf_flate_bomb, pdf_many_glyphs, pdf_recursive_forms

from pipeline.domain import DocumentSource
from pipeline.errors import FailureReason
from pipeline.extract.limits import MIB, Limits
from pipeline.paths import DEMO_CORPUS
from pipeline.runtime import WorkerPool
from pipeline.store.lock import run_lock

UNBOUNDED_PAGES = Limits(max_page_objects=10**9, max_page_chars=10**9, max_page_content_bytes=2**40)

pytestmark = pytest.mark.slow  # worker processes and budgets of seconds, not pure logic


@pytest.fixture(autouse=True)
def _no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_OCR", "off")


def sources(*paths: Path) -> list[DocumentSource]:
    return [DocumentSource(path, "ferncastle") for path in paths]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_workers_prepare_in_order_and_fail_bad_documents_as_data(tmp_path: Path) -> None:
    good = DEMO_CORPUS / "ferncastle" / "2024-06-11-cabinet-peer-challenge-progress.html"
    given = sources(docx_truncated_xml(tmp_path), good, pdf_recursive_forms(tmp_path), html_nested_divs(tmp_path))
    with WorkerPool(2, embed=True) as pool:
        prepared = list(pool.prepare(given))
    assert [p.source for p in prepared] == given
    assert [p.error_reason for p in prepared] == [FailureReason.CORRUPT, None, FailureReason.TOO_LARGE, None]
    assert len(prepared[1].passages) > 10
    assert len(prepared[1].vectors) == len({x.text for x in prepared[1].passages if not x.boilerplate})
    assert pool.replaced == 0


def _wait_for(condition, seconds: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.slow
def test_documents_begun_early_are_prepared_while_the_caller_is_busy_and_handed_over_in_order(tmp_path: Path) -> None:
    good = DEMO_CORPUS / "ferncastle" / "2024-06-11-cabinet-peer-challenge-progress.html"
    given = sources(good, html_nested_divs(tmp_path), docx_truncated_xml(tmp_path))
    with WorkerPool(2, embed=False) as pool:
        pool.begin(given)  # what `triage run` does before Prefect starts
        _wait_for(lambda: pool.ready == len(given))
        assert pool.ready == len(given)  # all prepared with nobody asking yet
        prepared = list(pool.prepare(given))
        assert pool.ready == 0
    assert [p.source for p in prepared] == given
    assert [p.error_reason for p in prepared] == [None, None, FailureReason.CORRUPT]


@pytest.mark.slow
def test_workers_stay_a_bounded_number_of_documents_ahead_of_the_caller(tmp_path: Path) -> None:
    folders = [tmp_path / str(i) for i in range(4)]
    for folder in folders:
        folder.mkdir()
    given = sources(*[html_nested_divs(folder) for folder in folders])
    with WorkerPool(2, embed=False) as pool:
        pool.AHEAD = 1
        pool.begin(given)
        _wait_for(lambda: pool.ready == 1)
        time.sleep(1.0)  # time enough for more, were they allowed
        assert pool.ready == 1
        assert len(list(pool.prepare(given))) == len(given)


@pytest.mark.slow
def test_a_pool_begun_on_other_documents_prepares_the_ones_asked_for(tmp_path: Path) -> None:
    first, second = html_nested_divs(tmp_path), docx_truncated_xml(tmp_path)
    with WorkerPool(1, embed=False) as pool:
        pool.begin(sources(first, second))
        [only] = pool.prepare(sources(second))
    assert only.source == sources(second)[0] and only.error_reason == FailureReason.CORRUPT


def test_a_document_past_its_time_budget_fails_as_timeout_and_the_next_is_read(tmp_path: Path) -> None:
    """Scattered glyphs take pdfium about 30 s with the page limits lifted; the budget here is 2 s."""
    limits = Limits(**{**UNBOUNDED_PAGES.__dict__, "seconds": 2.0})
    started = time.monotonic()
    with WorkerPool(1, limits, embed=False) as pool:
        slow, fine = pool.prepare(sources(pdf_many_glyphs(tmp_path), html_nested_divs(tmp_path)))
    assert slow.error_reason == FailureReason.TIMEOUT and "2 s" in (slow.error or "")
    assert fine.error_reason is None and fine.passages
    assert pool.replaced == 1
    assert time.monotonic() - started < 30


def test_a_document_past_its_memory_budget_fails_as_too_large(tmp_path: Path) -> None:
    """Inflating streams with the page limits lifted grow past a 400 MB budget; the worker is stopped."""
    limits = Limits(**{**UNBOUNDED_PAGES.__dict__, "memory_bytes": 400 * MIB})
    with WorkerPool(1, limits, embed=False) as pool:
        bomb, fine = pool.prepare(sources(pdf_flate_bomb(tmp_path), html_nested_divs(tmp_path)))
    assert bomb.error_reason == FailureReason.TOO_LARGE and "memory budget" in (bomb.error or "")
    assert fine.error_reason is None


def test_a_worker_that_dies_fails_only_its_document(tmp_path: Path) -> None:
    limits = Limits(**{**UNBOUNDED_PAGES.__dict__, "seconds": 60.0})
    pool = WorkerPool(1, limits, embed=False)

    def kill_when_busy() -> None:
        while not any(w.running is not None for w in pool.workers):
            time.sleep(0.05)
        os.kill(pool.workers[0].process.pid, signal.SIGKILL)

    with pool:
        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        dead, fine = pool.prepare(sources(pdf_many_glyphs(tmp_path), html_nested_divs(tmp_path)))
        killer.join()
    assert dead.error_reason == FailureReason.CRASHED and "SIGKILL" in (dead.error or "")
    assert fine.error_reason is None and fine.passages
    assert pool.replaced == 1


def _start(script: str) -> tuple[subprocess.Popen[str], list[int]]:
    """Run a Python script that prints the pids it wants watched on its first line, then waits."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    line = process.stdout.readline() if process.stdout else ""
    return process, [int(pid) for pid in line.split()]


def test_workers_die_when_their_run_is_killed() -> None:
    process, pids = _start("""
        import time
        from pipeline.runtime import WorkerPool
        pool = WorkerPool(2, embed=False)
        pool.start()
        print(*[w.process.pid for w in pool.workers], flush=True)
        time.sleep(60)
    """)
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    process.kill()
    process.wait()
    assert gone_within(pids, 5)


def test_the_lifeline_kills_what_a_killed_run_started() -> None:
    """A process a library started (here `sleep`) is no child of ours to signal: the lifeline ends it."""
    process, pids = _start("""
        import subprocess, time
        from pipeline.runtime import Lifeline
        lifeline = Lifeline()
        sleeper = subprocess.Popen(["sleep", "60"])
        time.sleep(1)  # the lifeline looks at the run's processes four times a second
        print(sleeper.pid, lifeline.process.pid, flush=True)
        time.sleep(60)
    """)
    assert all(alive(pid) for pid in pids)
    process.kill()
    process.wait()
    assert gone_within(pids, 5)


def test_a_lifeline_that_is_told_goodbye_leaves_everything_alone() -> None:
    process, pids = _start("""
        import subprocess, time
        from pipeline.runtime import Lifeline
        with Lifeline():
            sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
            time.sleep(0.6)
        print(sleeper.pid, flush=True)
    """)
    process.wait()
    assert alive(pids[0])
    os.kill(pids[0], signal.SIGKILL)


def test_a_second_run_on_the_same_database_says_so_and_waits(tmp_path: Path) -> None:
    db = tmp_path / "triage.db"
    holder, _ = _start(f"""
        import time
        from pathlib import Path
        from pipeline.store.lock import run_lock
        with run_lock(Path({str(db)!r})):
            print(flush=True)
            time.sleep(1.5)
    """)
    said: list[str] = []
    started = time.monotonic()
    with run_lock(db, said.append):
        waited = time.monotonic() - started
    holder.wait()
    assert len(said) == 1 and "another run is writing to" in said[0] and f"pid {holder.pid}" in said[0]
    assert waited > 0.5
