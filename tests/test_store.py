"""The evidence store's promises: incremental work, versions, re-classification from the cache,
analysts' decisions that survive it, and consistency after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.classify.similarity import SimilarityClassifier, Thresholds
from pipeline.collect.corpus import discover
from pipeline.ingest import Ingestor, Outcome
from pipeline.paths import DEMO_CORPUS
from pipeline.store import Store
from pipeline.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow

PARAGRAPHS = [
    "The Council's revenue budget for 2024/25 was set at £212.4m and is balanced without use of reserves.",
    "The Audit Committee received the external auditor's annual report and noted no significant weaknesses.",
    "Scrutiny called in the decision on library closures and the Cabinet amended it after the review.",
    "The Ombudsman upheld a complaint about delays in adult social care assessments and found fault.",
]


def _write_report(folder: Path, paragraphs: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    path.write_text(f"<html><head><title>Cabinet report</title></head><body><h1>Budget report</h1>{body}"
                    "</body></html>")
    return path


def _ingestor(store: Store, segmenter, classifier) -> Ingestor:
    return Ingestor(store, segmenter, classifier)


def _open(db_path: Path, folder: Path) -> tuple[Store, list]:
    authorities, sources = discover([folder], authority="testshire")
    store = Store(db_path)
    store.upsert_authorities(authorities)
    store.sync_taxonomy(load_taxonomy())
    return store, sources


def test_changed_document_is_a_new_version_and_reembeds_only_the_changed_passage(tmp_path, db_path, segmenter,
                                                                                 classifier):
    folder = tmp_path / "docs"
    _write_report(folder, PARAGRAPHS)
    store, sources = _open(db_path, folder)
    with store:
        ingestor = _ingestor(store, segmenter, classifier)
        first = ingestor.process(sources[0])
        assert first.outcome is Outcome.STORED and first.embedded == len(PARAGRAPHS)
        changed = [*PARAGRAPHS[:2], "Scrutiny has not met since June and no call-in has been heard.",
                   PARAGRAPHS[3]]
        _write_report(folder, changed)
        second = ingestor.process(sources[0])
        assert second.outcome is Outcome.STORED
        assert second.embedded == 1
        old = store.db["documents"].get(first.sha256)
        new = store.db["documents"].get(second.sha256)
        assert new["previous_version"] == first.sha256
        assert old["superseded_by"] == second.sha256 and old["status"] == "ok"  # kept, not deleted


def test_new_classifier_reclassifies_from_the_cache_and_keeps_decisions(tmp_path, db_path, segmenter, classifier,
                                                                        encoder):
    _write_report(tmp_path / "docs", PARAGRAPHS)
    store, sources = _open(db_path, tmp_path / "docs")
    with store:
        first = _ingestor(store, segmenter, classifier).process(sources[0])
        link = store.db.execute("select passage, taxonomy, entry from evidence order by score desc limit 1").fetchone()
        rejected = store.db.execute("select passage, taxonomy, entry from evidence order by score asc limit 1"
                                    ).fetchone()
        store.add_review(*link, decision="confirm", reviewer="ana")
        store.add_review(*rejected, decision="reject", reviewer="ana", reason="wrong_entry")

        strict = SimilarityClassifier(encoder, load_taxonomy(), Thresholds(evidence=0.99, flag=0.99))
        assert strict.id != classifier.id
        result = _ingestor(store, segmenter, strict).process(sources[0])
        assert result.outcome is Outcome.RECLASSIFIED
        assert result.embedded == 0  # every vector came from the cache
        rows = {(r["entry"], r["passage"]): r for r in store.db["evidence"].rows_where(
            "classifier_id = ?", [strict.id])}
        confirmed = rows[(link[2], link[0])]
        assert confirmed["status"] == "confirmed" and confirmed["reason"] == "analyst"
        assert (rejected[2], rejected[0]) not in rows  # a rejected link the classifier no longer suggests
        assert store.db["classifications"].count == 2
        assert first.sha256 == result.sha256


def test_repeated_template_text_across_an_authoritys_documents_is_boilerplate(tmp_path, db_path, segmenter,
                                                                              classifier):
    template = "This report has been prepared in accordance with the Council's report writing template."
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(4):
        (folder / f"report-{n}.html").write_text(
            f"<html><body><h1>Report {n}</h1><p>{template}</p><p>The Council's housing service received "
            f"{40 + n} complaints in quarter {n + 1}, of which {n + 3} were upheld by the Ombudsman.</p>"
            "</body></html>")
    store, sources = _open(db_path, folder)
    with store:
        ingestor = _ingestor(store, segmenter, classifier)
        for source in sources:
            ingestor.process(source)
        rows = list(store.db.execute("select boilerplate, boilerplate_reason from passages where text = ?",
                                     [template]))
        assert len(rows) == 4 and all(r == (1, "repeated") for r in rows)
        assert store.db.execute("select count(*) from evidence e join passages p on p.id = e.passage "
                                "where p.text = ?", [template]).fetchone()[0] == 0
        substantive = store.db.execute("select count(*) from passages where boilerplate = 0").fetchone()[0]
        assert substantive == 4


KILL_SCRIPT = """
import sys
from pathlib import Path
from pipeline.settings import configure_environment
configure_environment()
from pipeline.classify.similarity import SimilarityClassifier
from pipeline.collect.corpus import discover
from pipeline.embed import load_encoder
from pipeline.ingest import Ingestor
from pipeline.passages.segment import Segmenter
from pipeline.store import Store
from pipeline.taxonomy import load_taxonomy

authorities, sources = discover([Path(sys.argv[1])])
encoder = load_encoder()
classifier = SimilarityClassifier(encoder, load_taxonomy())
with Store(sys.argv[2]) as store:
    store.upsert_authorities(authorities)
    store.sync_taxonomy(load_taxonomy())
    ingestor = Ingestor(store, Segmenter(), classifier)
    print("ready", flush=True)
    for source in sources:
        ingestor.process(source)
print("done", flush=True)
"""


def _snapshot(db_path: Path) -> dict[str, list]:
    with Store(db_path) as store:
        db = store.db
        return {
            "documents": sorted(db.execute("select id, status, error_reason, extractor_version, classifier_id, "
                                           "previous_version, superseded_by from documents")),
            "passages": sorted(db.execute("select id, document, ordinal, text, boilerplate from passages")),
            "evidence": sorted(db.execute("select passage, entry, classifier_id, round(score, 4), flagged, status "
                                          "from evidence")),
            "classifications": sorted(db.execute("select document, classifier_id, passages, evidence "
                                                 "from classifications")),
            "embeddings": sorted(db.execute("select key from embeddings")),
            "integrity": list(db.execute("pragma integrity_check")),
            "foreign_keys": list(db.execute("pragma foreign_key_check")),
        }


def _run(corpus: Path, db_path: Path, kill_after: float | None = None) -> None:
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(corpus), str(db_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr.read() if process.stderr else ""
    if kill_after is None:
        assert process.wait(timeout=600) == 0, process.stderr.read() if process.stderr else ""
        return
    time.sleep(kill_after)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


@pytest.fixture(scope="module")
def kill_corpus(tmp_path_factory) -> Path:
    """Six bundled documents of two authorities (about 15 s of ingest work)."""
    import shutil

    root = tmp_path_factory.mktemp("kill") / "corpus"
    manifest = yaml.safe_load((DEMO_CORPUS / "manifest.yaml").read_text())
    rows = [r for r in manifest["documents"] if r["authority"] in ("brackenmoor",)]
    for row in rows:
        (root / row["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO_CORPUS / row["file"], root / row["file"])
    (root / "manifest.yaml").write_text(yaml.safe_dump({"documents": rows}))
    shutil.copy(DEMO_CORPUS / "authorities.yaml", root / "authorities.yaml")
    return root


@pytest.fixture(scope="module")
def clean_snapshot(kill_corpus, tmp_path_factory) -> dict[str, list]:
    db_path = tmp_path_factory.mktemp("clean") / "clean.db"
    _run(kill_corpus, db_path)
    return _snapshot(db_path)


@pytest.mark.parametrize("kill_after", [0.3, 1.5, 4.0])
def test_sigkill_then_rerun_gives_exactly_the_rows_of_a_clean_run(kill_corpus, clean_snapshot, tmp_path, kill_after):
    db_path = tmp_path / "killed.db"
    _run(kill_corpus, db_path, kill_after=kill_after)
    interrupted = _snapshot(db_path)
    assert interrupted["integrity"] == [("ok",)] and interrupted["foreign_keys"] == []
    finished = {d[0] for d in interrupted["classifications"]}
    assert {p[1] for p in interrupted["passages"]} <= finished  # no document without its evidence
    _run(kill_corpus, db_path)
    assert _snapshot(db_path) == clean_snapshot


def test_run_summary_records_counts(tmp_path, db_path, segmenter, classifier):
    _write_report(tmp_path / "docs", PARAGRAPHS)
    store, _ = _open(db_path, tmp_path / "docs")
    with store:
        run_id = store.start_run("ingest", {"paths": ["x"]}, "0", "m", classifier.id)
        store.finish_run(run_id, "completed", {"documents": 1})
        run = store.db["runs"].get(run_id)
        assert run["outcome"] == "completed" and json.loads(run["counts"]) == {"documents": 1}
        assert run["ended_at"] >= run["started_at"]


def test_reassignments_and_undos_are_replayed_on_reclassification(tmp_path, db_path, segmenter, classifier,
                                                                    encoder):
    _write_report(tmp_path / "docs", PARAGRAPHS)
    store, sources = _open(db_path, tmp_path / "docs")
    with store:
        _ingestor(store, segmenter, classifier).process(sources[0])
        links = store.db.execute("select passage, taxonomy, entry from evidence order by score desc limit 2"
                                 ).fetchall()
        moved, undone = links
        store.add_review(*moved, decision="reassign", reviewer="ana", new_entry="R-F09")
        store.add_review(*undone, decision="confirm", reviewer="ana")
        store.add_review(*undone, decision="reject", reviewer="ana", reason="wrong_entry")
        store.add_review(*undone, decision="undo", reviewer="ana")  # back to the confirmation

        other = SimilarityClassifier(encoder, load_taxonomy(), Thresholds(evidence=0.3, flag=0.4))
        _ingestor(store, segmenter, other).process(sources[0])
        status = {(r["passage"], r["entry"]): r["status"] for r in store.db["evidence"].rows_where(
            "classifier_id = ?", [other.id])}
        assert status.get((moved[0], moved[2])) in (None, "rejected")
        assert status[(undone[0], undone[2])] == "confirmed"


def test_decisions_follow_the_crosswalk_to_a_new_taxonomy_version(tmp_path, db_path, segmenter, classifier,
                                                                  encoder):
    """A made-up successor version renames every entry id; a confirmed link carries over."""
    from pipeline.taxonomy import TAXONOMY_DIR, load_crosswalk, parse_taxonomy

    data = yaml.safe_load((TAXONOMY_DIR / "bv-2023-draft.yaml").read_text())
    renamed = {e["id"]: f"N{e['id'].replace('-', '')}" for e in data["entries"]}
    data["taxonomy"] = "test-2099"
    for entry in data["entries"]:
        entry["id"] = renamed[entry["id"]]
    folder = tmp_path / "taxonomy"
    (folder / "crosswalks").mkdir(parents=True)
    (folder / "test-2099.yaml").write_text(yaml.safe_dump(data))
    (folder / "crosswalks" / "bv-2023-draft__test-2099.yaml").write_text(yaml.safe_dump(renamed))
    successor = parse_taxonomy((folder / "test-2099.yaml").read_text())
    crosswalk = load_crosswalk("test-2099", folder)
    assert crosswalk[("bv-2023-draft", "R-F09")] == "NRF09"

    _write_report(tmp_path / "docs", PARAGRAPHS)
    store, sources = _open(db_path, tmp_path / "docs")
    with store:
        _ingestor(store, segmenter, classifier).process(sources[0])
        passage, taxonomy, entry = store.db.execute(
            "select passage, taxonomy, entry from evidence order by score desc limit 1").fetchone()
        store.add_review(passage, taxonomy, entry, decision="confirm", reviewer="ana")
        store.sync_taxonomy(successor)
        new = SimilarityClassifier(encoder, successor)
        result = Ingestor(store, segmenter, new,
                          crosswalk=crosswalk).process(sources[0])
        assert result.outcome is Outcome.RECLASSIFIED and result.embedded == 0
        row = store.db["evidence"].get((passage, "test-2099", renamed[entry], new.id))
        assert row["status"] == "confirmed"
