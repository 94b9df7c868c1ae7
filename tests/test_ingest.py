"""The ingest slice end to end: real documents, model, SQLite file and Prefect flow."""

import json
import re
import sqlite3

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.classify import load_classifier
from pipeline.cli import app
from pipeline.collect.blobs import BlobStore
from pipeline.collect.corpus import discover
from pipeline.domain import Passage
from pipeline.embed import load_encoder
from pipeline.extract import EXTRACTOR_VERSION, extract_document
from pipeline.extract.metadata import guess_metadata
from pipeline.ingest import Ingestor, Outcome
from pipeline.report.summary import authority_summaries
from pipeline.store import Store
from pipeline.store.schema import SCHEMA_VERSION
from pipeline.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow


def _add_bad_documents(root):
    (root / "brackenmoor" / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    (root / "brackenmoor" / "empty.pdf").write_bytes(b"")
    manifest = yaml.safe_load((root / "manifest.yaml").read_text())
    manifest["documents"] += [{"file": "brackenmoor/corrupt.pdf", "authority": "brackenmoor", "kind": "minutes"},
                              {"file": "brackenmoor/empty.pdf", "authority": "brackenmoor", "kind": "minutes"}]
    (root / "manifest.yaml").write_text(yaml.safe_dump(manifest))


def test_run_flow_stores_documents_isolates_failures_and_reruns_idempotently(small_corpus, db_path):
    _add_bad_documents(small_corpus)
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(small_corpus), "--db", str(db_path), "--timings"], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "5 documents (2 failed, 3 stored)" in first.stdout
    assert "Where the run's time went" in first.stderr and "encoding" in first.stderr

    with Store(db_path) as store:
        db = store.db
        statuses = {row[0]: (row[1], row[2]) for row in db.execute(
            "select path, status, error_reason from documents")}
        assert sorted(s for s, _ in statuses.values()) == ["failed", "failed", "ok", "ok", "ok"]
        assert {r for s, r in statuses.values() if s == "failed"} == {"corrupt", "empty"}
        # no partial rows for failed documents
        assert db.execute("select count(*) from passages p join documents d on d.id = p.document "
                          "where d.status = 'failed'").fetchone()[0] == 0
        assert db.execute("select count(*) from passages where page is null and document in "
                          "(select id from documents where format = 'pdf')").fetchone()[0] == 0
        evidence = db.execute("select count(*) from evidence").fetchone()[0]
        assert evidence > 0
        assert db.execute("select count(*) from evidence e left join taxonomy_entries t on t.taxonomy = e.taxonomy "
                          "and t.id = e.entry where t.id is null").fetchone()[0] == 0
        # the printed summary is what the database holds
        for summary in authority_summaries(store):
            passages = db.execute("select count(*) from passages p join documents d on d.id = p.document "
                                  "where d.authority = ?", [summary.slug]).fetchone()[0]
            assert summary.passages == passages
            assert re.search(rf"{summary.slug}\s.*\b{summary.documents}\b.*\b{passages}\b", first.stdout)
        counts = store.table_counts()
        [run] = list(db["runs"].rows)
        assert run["outcome"] == "completed" and run["classifier_id"].startswith("clf-")
        recorded = json.loads(run["counts"])  # the run's time budget, from its own clocks
        for phase in ("Prefect: start, tasks, finish", "classification", "writes and indexes", "summary"):
            assert recorded["timings"][phase] > 0, phase
        for phase in ("worker start: interpreter, imports, models", "extraction", "segmentation", "encoding"):
            assert recorded["worker_seconds"][phase] > 0, phase

    second = runner.invoke(app, ["run", str(small_corpus), "--db", str(db_path)], env={"COLUMNS": "200"})
    assert second.exit_code == 0, second.output
    assert "5 documents (2 failed, 3 skipped)" in second.stdout  # the same bytes fail the same way: not retried
    assert "Prefect not started" in second.stderr  # nothing to do needs no flow
    with Store(db_path) as store:
        again = store.table_counts()
        assert {k: v for k, v in again.items() if k != "runs"} == {k: v for k, v in counts.items() if k != "runs"}
        assert again["runs"] == counts["runs"] + 1
        last = store.db.execute("select outcome, classifier_id from runs order by id desc limit 1").fetchone()
        assert last == ("completed", run["classifier_id"])


def test_run_without_authority_fails_before_any_work(tmp_path, db_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "paper.txt").write_text("The Council set a balanced budget for 2024/25.")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "docs"), "--db", str(db_path)])
    assert result.exit_code == 1
    assert "pass --authority SLUG" in result.stderr
    assert not db_path.exists()


def _ingestor(store, segmenter, classifier):
    return Ingestor(store, segmenter, classifier)


def test_document_write_is_all_or_nothing(small_corpus, db_path, segmenter, classifier):
    """A failure inside the write rolls back the document row and its passages."""
    authorities, sources = discover([small_corpus])
    source = sources[0]
    document = extract_document(source.path)
    passages = segmenter.passages(document)
    ghost = Passage("ghost", "not-a-document", 0, 1, "", passages[0].block_type, 0, 1, "x")
    metadata = guess_metadata(document, source.path.name)
    with Store(db_path) as store:
        store.upsert_authorities(authorities)
        store.sync_taxonomy(load_taxonomy())
        with pytest.raises(sqlite3.IntegrityError):
            store.save_document(source, document, metadata, [*passages, ghost], EXTRACTOR_VERSION, {}, "m")
        assert store.table_counts()["documents"] == 0
        assert store.table_counts()["passages"] == 0
        store.save_document(source, document, metadata, passages, EXTRACTOR_VERSION, {}, "m")
        assert store.table_counts()["passages"] == len(passages)


def test_ingestor_records_unreadable_documents_and_skips_done_ones(small_corpus, db_path, segmenter, classifier):
    authorities, sources = discover([small_corpus])
    with Store(db_path) as store:
        store.upsert_authorities(authorities)
        store.sync_taxonomy(load_taxonomy())
        ingestor = _ingestor(store, segmenter, classifier)
        results = [ingestor.process(s) for s in sources]
        assert {r.outcome for r in results} == {Outcome.STORED}
        assert all(r.passages > 0 and r.embedded > 0 for r in results)
        blobs = BlobStore(db_path.parent / "blobs")  # the copies the review app serves, by content
        assert all(blobs.path(r.sha256).read_bytes() == s.path.read_bytes() for r, s in zip(results, sources,
                                                                                          strict=True))
        fresh = _ingestor(store, segmenter, load_classifier(load_encoder()))
        again = [fresh.process(s) for s in sources]
        assert {r.outcome for r in again} == {Outcome.SKIPPED}
        assert sum(r.embedded for r in again) == 0
        assert not fresh.classifier.encoder.loaded  # nothing to embed: the weights never load
        sources[0].path.write_bytes(b"<html><body></body></html>")
        failed = ingestor.process(sources[0])
        assert failed.outcome is Outcome.FAILED and failed.reason in ("mislabelled", "empty")


def test_schema_is_migrated_once_with_wal_and_foreign_keys(db_path):
    with Store(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.db.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("pragma foreign_keys").fetchone()[0] == 1
        assert "passages_fts" in store.db.table_names()
    with Store(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION


def test_scanned_document_is_retried_once_ocr_is_available(tmp_path, db_path, segmenter, classifier, monkeypatch):
    """A needs_ocr failure is settled while OCR is off, and tried again when it is on."""
    from test_ocr import scanned_letter

    from pipeline.domain import Authority, DocumentSource
    from pipeline.extract.ocr import ocr_available

    source = DocumentSource(scanned_letter(tmp_path / "scan.pdf"), "brackenmoor", kind="minutes")
    with Store(db_path) as store:
        store.upsert_authorities([Authority("brackenmoor", "Brackenmoor Borough Council", "district")])
        store.sync_taxonomy(load_taxonomy())
        ingestor = _ingestor(store, segmenter, classifier)
        monkeypatch.setenv("TRIAGE_OCR", "off")
        failed = ingestor.process(source)
        assert failed.outcome is Outcome.FAILED and failed.reason == "needs_ocr"
        assert ingestor.settle(source)[0] == "failed"
        again = ingestor.process(source)
        assert again.outcome is Outcome.FAILED and again.reason == "needs_ocr"
        monkeypatch.delenv("TRIAGE_OCR")
        if not ocr_available():
            pytest.skip("tesseract is not installed (apt-get install tesseract-ocr): cannot show the retry")
        assert ingestor.settle(source)[0] == "new"
        read = ingestor.process(source)
        assert read.outcome is Outcome.STORED and read.passages > 0
