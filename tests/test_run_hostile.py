"""Hostile input in one `triage run`, and `triage run` killed at random points (issue 15).

Every good document is stored and every bad one fails with a documented reason, the run exits
0 within its budgets, and no process of the run outlives it, however it ends.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hostile import HOSTILE, ODD, byte_flipped_pdfs, run_measured, symlink_outside

from pipeline.errors import FailureReason
from pipeline.paths import DEMO_CORPUS
from pipeline.store import Store

pytestmark = pytest.mark.slow
TRIAGE = Path(sys.executable).parent / "triage"
EVALDOCS = Path(__file__).resolve().parent.parent.parent / "shared" / "evaldocs"  # beside the checkout
REAL_PDFS = sorted(p for p in EVALDOCS.glob("*.pdf") if "SCANNED" not in p.name) if EVALDOCS.is_dir() else []
GOOD = ["ferncastle/2024-06-11-cabinet-peer-challenge-progress.html",
        "ferncastle/2024-07-23-annual-governance-statement-2023-24.docx",
        "brackenmoor/2024-05-08-lgsco-decision-23-008-517.pdf"]
MEMORY_BUDGET = 2 * 1024**3


def run_group(args: list[str], folder: Path, kill_after: float | None = None) -> tuple[int, str, int, int]:
    """`triage ARGS` as the leader of its own process group: exit status, stderr, peak RSS of the largest
    process in the run (bytes; 0 when killed), and the group id (the processes the run started stay in it)."""
    env = {**os.environ, "TRIAGE_OCR": "off"}
    with tempfile.TemporaryFile() as err:
        if kill_after is None:  # measured from a small parent (see run_measured), in a group of its own
            process, peak = run_measured([str(TRIAGE), *args], folder, stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True, env=env)
            process.wait()
            err.seek(0)
            return process.returncode, err.read().decode(), int(peak.read_text()), process.pid
        process = subprocess.Popen([str(TRIAGE), *args], stdout=subprocess.DEVNULL, stderr=err,
                                   start_new_session=True, env=env)
        time.sleep(kill_after)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return process.returncode, "", 0, process.pid


def group_members(group: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                members.append(int(entry))
    return members


def nothing_left(group: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while group_members(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def documents(db: Path) -> dict[str, tuple[str, str | None]]:
    with Store(db) as store:
        return {Path(path).name: (status, reason) for path, status, reason in
                store.db.execute("select path, status, error_reason from documents")}


def test_one_run_stores_the_good_and_fails_the_hostile_with_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(DEMO_CORPUS / name, folder / Path(name).name)
    bad = {build(folder).name: reason for build, reason in HOSTILE.values()}
    odd = [build(folder).name for build in ODD.values()]
    bad[symlink_outside(folder).name] = FailureReason.SYMLINK
    flipped = [p.name for p in byte_flipped_pdfs(REAL_PDFS, folder)] if REAL_PDFS else []
    started = time.monotonic()
    status, stderr, peak, group = run_group(["run", str(folder), "--db", str(tmp_path / "t.db"),
                                             "--authority", "hostile-borough"], tmp_path)
    assert status == 0, stderr
    assert nothing_left(group)
    assert peak < MEMORY_BUDGET, f"{peak // 2**20} MB"
    assert time.monotonic() - started < 900
    stored = documents(tmp_path / "t.db")
    shown = {os.fsencode(name).decode("utf-8", "backslashreplace"): name for name in (*odd, *GOOD)}
    for name in [Path(g).name for g in GOOD] + [n for n in shown if shown[n] in odd]:
        assert stored[name] == ("ok", None), name
    for name, reason in bad.items():
        assert stored[name] == ("failed", reason), name
    documented = set(FailureReason)
    for name in flipped:
        status_, reason = stored[name]
        assert status_ == "ok" or reason in documented, (name, reason)
    assert "\x1b" not in stderr
    with Store(tmp_path / "t.db") as store:
        skipped = store.db.execute("select skipped_pages from documents where path like ?",
                                   ["%partly-damaged.pdf"]).fetchone()[0]
    assert [(s["page"], s["reason"]) for s in json.loads(skipped)] == [(2, "too_large"), (3, "too_large"),
                                                                       (4, "corrupt")]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list]]:
    """Four bundled documents of one authority and a hostile one; the rows of their clean run."""
    root = tmp_path_factory.mktemp("kill") / "corpus"
    manifest = yaml.safe_load((DEMO_CORPUS / "manifest.yaml").read_text())
    rows = [r for r in manifest["documents"] if r["authority"] == "brackenmoor"][:4]
    for row in rows:
        (root / row["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO_CORPUS / row["file"], root / row["file"])
    HOSTILE["docx with truncated document.xml"][0](root / "brackenmoor")
    rows.append({"file": "brackenmoor/truncated-xml.docx", "authority": "brackenmoor"})
    (root / "manifest.yaml").write_text(yaml.safe_dump({"documents": rows}))
    shutil.copy(DEMO_CORPUS / "authorities.yaml", root / "authorities.yaml")
    db = tmp_path_factory.mktemp("clean") / "clean.db"
    status, stderr, _, group = run_group(["run", str(root), "--db", str(db)], db.parent)
    assert status == 0, stderr
    assert nothing_left(group)
    return root, rows_of(db)


def rows_of(db: Path) -> dict[str, list]:
    with Store(db) as store:
        return {table: sorted(store.db.execute(sql)) for table, sql in {
            "documents": "select id, status, error_reason, extractor_version, classifier_id from documents",
            "passages": "select id, document, ordinal, text, boilerplate from passages",
            "evidence": "select passage, entry, classifier_id, round(score, 4), flagged, status from evidence",
            "integrity": "pragma integrity_check",
        }.items()}


@pytest.mark.parametrize("seed", [1, 2])
def test_a_run_killed_at_a_random_point_leaves_no_process_and_a_rerun_gives_the_clean_rows(
        seed: int, small_run: tuple[Path, dict[str, list]], tmp_path: Path) -> None:
    root, clean = small_run
    db = tmp_path / "killed.db"
    kill_after = random.Random(seed).uniform(2.0, 14.0)  # from start-up to the middle of storing
    _, _, _, group = run_group(["run", str(root), "--db", str(db)], tmp_path, kill_after=kill_after)
    assert nothing_left(group), f"left running after a kill at {kill_after:.1f} s: {group_members(group)}"
    status, stderr, _, group = run_group(["run", str(root), "--db", str(db)], tmp_path)
    assert status == 0, stderr
    assert nothing_left(group)
    assert rows_of(db) == clean
