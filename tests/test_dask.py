"""The ingest flow on a Dask LocalCluster with two workers gives exactly the rows of the default run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.store import Store

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
    dask = runner.invoke(app, ["run", str(small_corpus), "--db", str(tmp_path / "dask.db"), "--dask-workers", "2"])
    assert dask.exit_code == 0, dask.output
    expected = _rows(tmp_path / "default.db")
    assert expected["passages"] and expected["evidence"]
    assert _rows(tmp_path / "dask.db") == expected
