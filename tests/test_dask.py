"""The ingest flow on a Dask LocalCluster with two workers (which prepare and embed) gives exactly the rows of
the default run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.classify import load_classifier
from pipeline.cli import app
from pipeline.collect.corpus import discover
from pipeline.embed import load_encoder
from pipeline.ingest import Ingestor, Outcome, prepare
from pipeline.store import Store
from pipeline.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow


def _rows(db: Path) -> dict[str, list]:
    with Store(db) as store:
        db_ = store.db
        return {
            "documents": sorted(db_.execute("select id, status, error_reason, title, kind, date, classifier_id "
                                            "from documents")),
            "passages": sorted(db_.execute("select id, document, ordinal, page, heading, text, boilerplate "
                                           "from passages")),
            "evidence": sorted(db_.execute("select passage, entry, classifier_id, round(score, 4), rank, flagged "
                                           "from evidence")),
            "classifications": sorted(db_.execute("select document, classifier_id, passages, evidence "
                                                  "from classifications")),
        }


def test_dask_local_cluster_gives_the_rows_of_the_default_run(small_corpus, tmp_path):
    runner = CliRunner()
    default = runner.invoke(app, ["run", str(small_corpus), "--db", str(tmp_path / "default.db")])
    assert default.exit_code == 0, default.output
    environment = dict(os.environ)
    dask = runner.invoke(app, ["run", str(small_corpus), "--db", str(tmp_path / "dask.db"), "--dask-workers", "2"])
    assert dask.exit_code == 0, dask.output
    expected = _rows(tmp_path / "default.db")
    assert expected["passages"] and expected["evidence"]
    assert _rows(tmp_path / "dask.db") == expected
    # Dask's nanny leaves OMP_NUM_THREADS=1 and the like in its parent's environment; the run takes them back
    assert dict(os.environ) == environment


def test_vectors_made_during_preparation_are_stored_as_if_made_by_the_writer(small_corpus, tmp_path, encoder):
    """What a Dask worker sends back (``on_cluster``): the writer embeds nothing and stores the same rows."""
    authorities, sources = discover([small_corpus])
    for name, embed_here in (("writer.db", False), ("workers.db", True)):
        classifier = load_classifier(load_encoder())  # fresh and unloaded
        with Store(tmp_path / name) as store:
            store.upsert_authorities(authorities)
            store.sync_taxonomy(load_taxonomy())
            prepared = [prepare(s, encoder=encoder if embed_here else None) for s in sources]
            assert all(bool(p.vectors) == embed_here for p in prepared)
            results = Ingestor(store, None, classifier).store_prepared(prepared)
            assert {r.outcome for r in results} == {Outcome.STORED}
            assert classifier.encoder.loaded is not embed_here
    assert _rows(tmp_path / "workers.db") == _rows(tmp_path / "writer.db")
