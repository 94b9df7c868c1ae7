"""`triage learn`: decisions become labels, the refit is judged on held-back decisions, and only a model that
is not worse becomes active. Real model, real SQLite file, real refit."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.classify import load_classifier
from pipeline.classify.evidence import EvidenceClassifier
from pipeline.classify.registry import POINTER, active_model_dir, registry_for
from pipeline.cli import app
from pipeline.domain import Authority, DocumentSource, StoredPassage
from pipeline.errors import LearnError
from pipeline.ingest import Ingestor, Outcome
from pipeline.store import Store
from pipeline.taxonomy import load_taxonomy
from pipeline.training.learn import DecidedLink, DecidedPassage, held_back, label, learn

pytestmark = pytest.mark.slow

TOPICS = ["highways", "waste collection", "libraries", "leisure centres", "parks", "housing repairs", "IT systems",
          "fleet", "cemeteries", "car parks", "street lighting", "school transport", "home care", "museums",
          "planning", "building control", "markets", "pest control", "licensing", "public toilets"]
# Risks merely listed are not evidence (LABELLING.md), but the shipped classifier suggests them: the analysts'
# rejections contradict it. Overspends are failures, and it gets those right: the analysts confirm them.
RISKS = [f"Risk {i}: failure to deliver the {t} savings could lead to an overspend; likelihood {1 + i % 4}, "
         f"impact {1 + i % 5}, owner the Director of Place." for i, t in enumerate(TOPICS)]
RISKS += [f"Risk {20 + i}: the {t} contract may not be renewed on time; likelihood {1 + i % 3}, impact 3, "
          "owner the Head of Commissioning." for i, t in enumerate(TOPICS)]
OVERSPENDS = [f"The {t} service overspent its budget by £{i + 2}.{i % 10}m this year, the third year of "
              "overspending, and the savings agreed in February were not delivered." for i, t in enumerate(TOPICS)]
OVERSPENDS += [f"Spending on {t} exceeded the approved budget by £{i + 1}m and reserves were drawn down to "
               "cover the gap, as in each of the last two years." for i, t in enumerate(TOPICS)]
TAX = "bv-2023-draft"


def _ingest(folder: Path, classifier, segmenter, paragraphs: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    paper = folder / "risk-and-budget-report.txt"
    paper.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    db = folder / "triage.db"
    with Store(db) as store:
        store.upsert_authorities([Authority("testshire", "Testshire District Council", "district")])
        store.sync_taxonomy(load_taxonomy(TAX))
        source = DocumentSource(paper, "testshire", kind="budget_report")
        result = Ingestor(store, segmenter, classifier).process(source)
        assert result.outcome is Outcome.STORED
    return db


def _decide(db: Path, classifier_id: str, limit: int | None = None) -> dict[str, int]:
    """The analysts: reject every suggestion on a listed risk as not evidence, confirm every overspend flag."""
    counts = {"confirm": 0, "reject": 0}
    with Store(db) as store:
        rows = store.db.execute(
            "select e.passage, e.entry, p.text, e.flagged from evidence e join passages p on p.id = e.passage "
            "where e.classifier_id = ? and e.status = 'suggested' order by p.ordinal, e.entry",
            [classifier_id]).fetchall()
        for passage, entry, text, flagged in rows[:limit]:
            if text.startswith("Risk"):
                store.add_review(passage, TAX, entry, "reject", "ana", reason="boilerplate")
                counts["reject"] += 1
            elif flagged:
                store.add_review(passage, TAX, entry, "confirm", "ana")
                counts["confirm"] += 1
    return counts


@pytest.fixture(scope="module")
def decided(tmp_path_factory, classifier, segmenter) -> Path:
    db = _ingest(tmp_path_factory.mktemp("learn"), classifier, segmenter, RISKS + OVERSPENDS)
    counts = _decide(db, classifier.id)
    assert counts["reject"] >= 20 and counts["confirm"] >= 20  # the shipped classifier does suggest the risks
    return db


def _copy(db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "triage.db"
    with sqlite3.connect(db) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return target


def test_decisions_become_labels_by_the_labelling_rules():
    taxonomy = load_taxonomy(TAX)

    def passage(*links: DecidedLink) -> DecidedPassage:
        return DecidedPassage(StoredPassage("p1", "  The Council  overspent. ", None, "minutes", None), links)

    confirmed = label(passage(DecidedLink("R-F02", True), DecidedLink("G003", False, "wrong_entry")),
                      taxonomy)
    assert (confirmed.text, confirmed.theme, confirmed.failure, confirmed.entries, confirmed.doc_kind) == (
        "The Council overspent.", "R", True, ("R-F02",), "minutes")
    not_evidence = label(passage(DecidedLink("G003", False, "boilerplate")), taxonomy)
    assert (not_evidence.theme, not_evidence.failure, not_evidence.entries) == (None, False, ())
    flipped = label(passage(DecidedLink("R-F02", False, "wrong_polarity")), taxonomy)
    assert (flipped.theme, flipped.failure, flipped.entries) == ("R", False, ())
    assert label(passage(DecidedLink("R-F02", False, "wrong_entry")), taxonomy) is None


def test_held_back_slice_is_fixed_and_about_a_quarter():
    ids = [f"passage-{i}" for i in range(2000)]
    chosen = [held_back(i) for i in ids]
    assert chosen == [held_back(i) for i in ids]
    assert 0.2 < sum(chosen) / len(ids) < 0.3


def test_learn_on_contradicting_decisions_moves_thresholds_and_activates(decided, tmp_path, encoder, segmenter):
    db = _copy(decided, tmp_path / "a")
    before = load_classifier(encoder, TAX, registry=registry_for(db))
    report = learn(db, encoder, load_taxonomy(TAX))

    assert report.held_back_links >= 10 and report.training_passages >= 40
    assert report.thresholds_after != report.thresholds_before  # the contradicting decisions moved them
    assert report.after.precision > report.before.precision  # fewer listed risks suggested on held-back passages
    assert report.after.f1 > report.before.f1  # precision bought with at most one held-back link of ten
    assert report.after.recall >= report.before.recall - 0.1
    assert report.activated and "activated" in report.verdict
    model_dir = active_model_dir(registry_for(db), TAX)
    assert model_dir == Path(report.model_dir) and (model_dir / "learn-report.json").is_file()

    after = load_classifier(encoder, TAX, registry=registry_for(db))
    assert isinstance(after, EvidenceClassifier) and after.id == report.classifier_after != before.id
    with Store(db) as store:  # the next run re-classifies from cached embeddings, the decisions replayed
        sha = store.db.execute("select id from documents").fetchone()[0]
        source = DocumentSource(Path(store.db.execute("select path from documents").fetchone()[0]), "testshire",
                                kind="budget_report")
        result = Ingestor(store, segmenter, after).process(source)
        assert result.outcome is Outcome.RECLASSIFIED and result.embedded == 0
        risk_links = ("select count(*) from evidence e join passages p on p.id = e.passage where e.classifier_id = ? "
                      "and p.document = ? and p.text like 'Risk%' and e.reason != 'analyst'")
        assert (store.db.execute(risk_links, [after.id, sha]).fetchone()[0]
                < store.db.execute(risk_links, [before.id, sha]).fetchone()[0])
        confirmed = store.db.execute("select count(*) from evidence where classifier_id = ? and status = 'confirmed'",
                                     [after.id]).fetchone()[0]
        assert confirmed == store.db.execute("select count(*) from reviews where decision = 'confirm'").fetchone()[0]

def test_learn_keeps_the_current_model_without_enough_held_back_decisions(tmp_path, classifier, segmenter,
                                                                          encoder):
    db = _ingest(tmp_path, classifier, segmenter, RISKS[:6] + OVERSPENDS[:6])
    _decide(db, classifier.id)
    report = learn(db, encoder, load_taxonomy(TAX))
    assert not report.activated and "at least 10" in report.verdict
    assert active_model_dir(registry_for(db), TAX) is None
    assert load_classifier(encoder, TAX, registry=registry_for(db)).id == classifier.id


def test_cli_learn_dry_run_reports_and_never_activates(decided, tmp_path):
    db = _copy(decided, tmp_path / "b")
    result = CliRunner().invoke(app, ["learn", "--db", str(db), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "held-back links" in result.stdout and "before" in result.stdout and "after" in result.stdout
    assert "flag" in result.stdout and "link" in result.stdout
    assert not (registry_for(db) / TAX / POINTER).exists()
    [report] = [json.loads(p.read_text()) for p in (registry_for(db) / TAX).glob("*/learn-report.json")]
    assert report["activated"] is False and report["after"]["precision"] is not None


def test_cli_learn_without_decisions_says_what_to_do(tmp_path, classifier, segmenter):
    db = _ingest(tmp_path, classifier, segmenter, OVERSPENDS[:3])
    result = CliRunner().invoke(app, ["learn", "--db", str(db)])
    assert result.exit_code == 1
    assert "no decisions to learn from" in result.stderr
    with pytest.raises(LearnError):
        learn(db, classifier.encoder, load_taxonomy(TAX))
