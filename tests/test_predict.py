"""The classifier and `triage predict` on the real model."""

import json

import numpy as np
import pytest
from offline import run_offline
from typer.testing import CliRunner

from pipeline.classify.similarity import SimilarityClassifier, Thresholds
from pipeline.cli import app
from pipeline.errors import InputError
from pipeline.predict import predict_records, read_records
from pipeline.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow


def test_fp32_model_loads_and_encodes_with_no_network(tmp_path):
    """Any attempt to open an internet socket fails the load (the int8 build: tests/test_classify.py)."""
    result = run_offline("""
        import os
        os.environ.pop("HF_HUB_OFFLINE", None)
        from pipeline.embed import load_encoder
        encoder = load_encoder("fp32")
        vectors = encoder.encode(["The Council set a balanced budget."])
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        print(vectors.shape)
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(1, 384)" in result.stdout


def test_embeddings_are_normalised_and_batch_invariant(encoder):
    texts = ["The budget is balanced.", "Reserves were drawn down to close a £6m gap.", "Apologies were received."]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-4)


def test_classifier_id_is_deterministic_and_tracks_what_changes_output(encoder, classifier):
    tax = load_taxonomy()
    similarity = SimilarityClassifier(encoder, tax)
    same = SimilarityClassifier(encoder, load_taxonomy())
    other_thresholds = SimilarityClassifier(encoder, tax, Thresholds(evidence=0.5, flag=0.6))
    other_taxonomy = SimilarityClassifier(encoder, load_taxonomy("wales-2013"))
    assert same.id == similarity.id
    assert len({classifier.id, similarity.id, other_thresholds.id, other_taxonomy.id}) == 4


def test_section_114_passage_matches_r_f09_first(classifier):
    [prediction] = classifier.predict_texts(
        ["The Chief Finance Officer has issued a Section 114 notice, halting all non-essential spending."])
    assert prediction.matches[0].entry.id == "R-F09"
    assert prediction.theme == "R"
    assert "R-F09" in prediction.flagged
    scores = [m.score for m in prediction.matches]
    assert scores == sorted(scores, reverse=True)


def test_predict_output_contract_for_any_input(classifier):
    records = [{"id": "a", "text": "The Ombudsman found fault causing injustice and upheld the complaint."},
               {"id": 7, "text": ""},
               {"id": "c", "text": "There are no legal implications arising from this report."},
               {"text": "No id given: the Council's scrutiny committee has not met since June."}]
    rows = list(predict_records(records, classifier, top_k=3))
    assert [r["id"] for r in rows] == ["a", 7, "c", None]
    for row in rows:
        assert list(row) == ["id", "theme", "matches", "flagged"]
        assert len(row["matches"]) <= 3
        for match in row["matches"]:
            assert set(match) == {"id", "theme", "kind", "score"}
            assert match["kind"] in ("characteristic", "failure_indicator")
        assert set(row["flagged"]) <= {m["id"] for m in row["matches"] if m["kind"] == "failure_indicator"}
    assert rows[0]["theme"] == "SD"
    assert rows[1] == {"id": 7, "theme": None, "matches": [], "flagged": []}
    assert rows[2]["theme"] is None and rows[2]["flagged"] == []  # boilerplate is never evidence


def test_read_records_reports_the_bad_line():
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        list(read_records(['{"id": 1, "text": "ok"}', "{not json"]))
    with pytest.raises(InputError, match="line 1: 'text' must be a string"):
        list(read_records(['{"id": 1, "text": 5}']))


def test_cli_predict_reads_stdin_and_writes_jsonl():
    lines = [json.dumps({"id": f"p{i}", "text": t}) for i, t in enumerate([
        "The external auditor reported a significant weakness in the Council's financial sustainability.",
        "The minutes of the meeting held on 3 March were agreed as a correct record.",
    ])]
    result = CliRunner().invoke(app, ["predict", "--top-k", "2"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["p0", "p1"]
    assert all(len(r["matches"]) == 2 for r in rows)
    assert rows[1]["theme"] is None


def test_cli_predict_files_and_bad_input(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text('{"id": "x", "text": "Interim Section 151 Officer appointed for the third time this year."}\n')
    ok = CliRunner().invoke(app, ["predict", "--input", str(source), "--output", str(target)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(target.read_text())["id"] == "x"
    source.write_text("not json\n")
    bad = CliRunner().invoke(app, ["predict", "--input", str(source)])
    assert bad.exit_code == 1 and "line 1 is not valid JSON" in bad.stderr
