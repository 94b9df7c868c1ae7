"""The evidence classifier on the real model: polarity, tripwires, suppression, calibration, identity, artefacts."""

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from offline import run_offline

from pipeline.classify import load_classifier
from pipeline.classify.calibration import Platt, bagged_threshold, best_threshold, fit_platt
from pipeline.classify.entry_vectors import cached_vectors, entry_texts, load_exemplars, read_vectors, texts_key
from pipeline.classify.evidence import EvidenceClassifier
from pipeline.classify.lexical import terms
from pipeline.classify.model import HEALTHY_CAP, Calibration, load_model
from pipeline.classify.rules.polarity import cue_counts
from pipeline.classify.rules.tripwires import load_tripwires, parse_tripwires
from pipeline.classify.similarity import SimilarityClassifier
from pipeline.domain import PassageContext, Prediction
from pipeline.paths import MODELS_DIR, TAXONOMY_DIR
from pipeline.predict import predict_records
from pipeline.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow

SHIPPED = MODELS_DIR / "bv-2023-draft"


@pytest.fixture(scope="module")
def evidence(encoder) -> EvidenceClassifier:
    classifier = load_classifier(encoder, "bv-2023-draft")
    assert isinstance(classifier, EvidenceClassifier)
    return classifier


def predict_one(classifier, text: str, context: PassageContext | None = None) -> Prediction:
    [prediction] = classifier.predict_texts([text], 5, [context] if context else None)
    return prediction


# -- polarity ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("healthy", "failing", "indicator"), [
    ("The 2024/25 budget is balanced without any use of reserves, for the fourth year running.",
     "The Council used £4.2m of reserves to balance the 2024/25 budget, as it has in each of the last three years.",
     "R-F06"),
    ("The Overview and Scrutiny Committee called in the Cabinet's decision on the leisure contract, challenged the "
     "business case in detail and the Cabinet amended its decision in response.",
     "The Overview and Scrutiny Committee has not met since June, and no Cabinet decision has been scrutinised "
     "before it was taken this year.",
     "G-F07"),
    ("The Ombudsman found no fault in the way the Council handled Mrs X's application for housing.",
     "The Ombudsman found fault causing injustice: the Council took nine months to assess Mrs X's housing needs.",
     "SD-F02"),
])
def test_polarity_separates_the_two_poles_of_a_topic(evidence, healthy, failing, indicator):
    good, bad = predict_one(evidence, healthy), predict_one(evidence, failing)
    assert good.theme is not None and bad.theme is not None  # both are evidence on the same topic
    assert good.flagged == [] and good.polarity in ("positive", "neutral")
    assert indicator in bad.flagged and bad.polarity == "failure"
    assert good.failure_probability < bad.failure_probability
    assert all(not m.entry.is_failure for m in good.evidence)  # a healthy passage is never linked to a failure


def test_risk_register_possibility_is_not_a_failure(evidence):
    possibility = predict_one(evidence, "Risk CR04: demand for adult social care exceeds the budget. Likelihood 3, "
                                        "Impact 4, residual score 12 (amber). Owner: Director of Adult Services.")
    happening = predict_one(evidence, "Adult social care is forecast to overspend by £6.3m this year because demand "
                                      "has exceeded the budget for the third year running.")
    assert possibility.flagged == []
    assert happening.flagged and happening.failure_probability > possibility.failure_probability


def test_a_denied_indicator_stays_capped_and_the_document_kind_moves_nothing(evidence):
    """Real-text CV was worse with document-kind priors, so a passage is judged on its text: an audit report's
    passage scores as the same text anywhere, and a denied indicator stays capped."""
    audit = PassageContext(doc_kind="audit_report", title="Auditor's Annual Report 2023/24")
    denied = "The Council has not needed to use reserves to balance its budget in any of the last four years."
    reported = "The Council has used reserves to balance its budget in each of the last four years."
    assert predict_one(evidence, denied, audit).failure_probability <= HEALTHY_CAP + 1e-6
    assert predict_one(evidence, denied, audit).flagged == []
    for text in (denied, reported):
        bare, in_audit = predict_one(evidence, text), predict_one(evidence, text, audit)
        assert (in_audit.evidence_probability, in_audit.failure_probability, in_audit.flagged) == (
            bare.evidence_probability, bare.failure_probability, bare.flagged)
    assert predict_one(evidence, reported).failure_probability > HEALTHY_CAP


# -- tripwires --------------------------------------------------------------------------------------

def test_section_114_tripwire_flags_r_f09_with_its_reason(evidence):
    prediction = predict_one(evidence, "The Chief Finance Officer issued a section 114 notice on 5 September.")
    assert prediction.flagged[0] == "R-F09" and prediction.theme == "R"
    [link] = [m for m in prediction.evidence if m.entry.id == "R-F09"]
    assert link.reason == "tripwire:s114" and link.probability >= 0.9
    assert prediction.matches[0].entry.id == "R-F09"


def test_repeated_indicators_are_all_listed_and_ranked_by_subject(evidence):
    finance = predict_one(evidence, "The auditor reported a significant weakness in the Council's arrangements for "
                                    "financial sustainability: the medium-term financial plan has a £14m gap.")
    governance = predict_one(evidence, "The auditor reported a significant weakness in the Council's governance "
                                       "arrangements for decision-making and record keeping.")
    assert finance.flagged[0] == "R-F10" and governance.flagged[0] == "G-F01"
    assert {"G-F01", "R-F10", "SD-F01"} <= set(finance.flagged)
    tripwires = load_tripwires(load_taxonomy())
    contract_text = "Two councillors were convicted of corruption over the award of the parks contract."
    culture_text = ("The inquiry found credible allegations of corruption: a culture in which officers deferred to "
                    "members intervening for associates had become normalised.")
    [contract] = tripwires.match(contract_text, cue_counts(contract_text))
    [culture] = tripwires.match(culture_text, cue_counts(culture_text))
    assert contract.entries == ("G-F02", "C-F03") and culture.entries == ("C-F03", "G-F02")


@pytest.mark.parametrize("text", [
    "No significant weaknesses were identified in the Council's value for money arrangements.",
    "We have not identified any significant weaknesses in the Council's arrangements for financial sustainability.",
])
def test_negated_tripwire_is_positive_evidence_not_a_flag(evidence, text):
    prediction = predict_one(evidence, text)
    assert prediction.flagged == [] and prediction.theme is not None
    assert "tripwire:significant-weakness:negated" in prediction.tripwires
    assert any(m.reason == "tripwire:significant-weakness:negated" and not m.entry.is_failure
               for m in prediction.evidence)


# -- suppression ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "There are no legal implications arising from this report.",
    "RESOLVED: That the report be noted.",
    "Apologies for absence were received from Councillors Patel and Morgan.",
    "Item 6: Section 114 Notice – Report of the Chief Finance Officer",
    "Appendix B: Significant Weaknesses Action Plan",
])
def test_boilerplate_and_procedural_passages_are_never_evidence(evidence, text):
    prediction = predict_one(evidence, text)
    assert prediction.suppressed is not None
    assert prediction.theme is None and prediction.flagged == [] and prediction.evidence == []
    assert prediction.matches  # still ranked, for inspection


def test_procedural_heading_in_context_suppresses(evidence):
    text = "Councillor Jones declared a pecuniary interest in item 9 and left the meeting for that item."
    assert predict_one(evidence, text, PassageContext(heading="Declarations of Interest")).suppressed == "procedural"


def test_a_passages_cues_and_terms_are_read_once_per_prediction(evidence, reads_of):
    """The cue features, the guidance rule and the tripwires' gate all read one count of each passage's cues, and the
    lexical head one reading of its terms."""
    texts = ["The Chief Finance Officer issued a section 114 notice on 5 September.",  # reaches the tripwires
             "Indicators of potential failure include a lack of financial controls in local authorities.",  # guidance
             "The Council overspent its adult social care budget by £4.2m in 2023/24."]
    counted, read = reads_of(cue_counts), reads_of(terms)
    predictions = evidence.predict_texts(texts, 5)
    assert predictions[0].tripwires and predictions[1].suppressed == "guidance"  # both rules were reached
    assert counted == Counter(texts) and read == Counter(texts)


# -- calibration ----------------------------------------------------------------------------------------

def test_calibration_is_monotone():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=400)
    labels = rng.random(400) < 1 / (1 + np.exp(-2 * scores))
    grid = np.linspace(-6, 6, 241)
    for platt in (fit_platt(scores, labels), fit_platt(scores, ~labels), Platt(0.0, 0.3)):
        assert platt.slope >= 0
        assert np.all(np.diff(platt(grid)) >= 0)
    assert fit_platt(scores, ~labels).slope == 0.0  # never inverted


def test_a_bagged_threshold_of_a_few_positives_jumps_less_than_the_f1_best_one():
    """Five positives among a thousand, drawn thirty times from the same scores: the F1-best threshold scatters with
    the draw, the bagged one less (what the flag threshold fitted on real papers' few failures needs)."""
    rng = np.random.default_rng(0)
    best, bagged = [], []
    for _ in range(30):
        p = np.r_[rng.beta(1, 8, 1000), rng.beta(2, 5, 5)]
        gold = np.r_[np.zeros(1000, dtype=bool), np.ones(5, dtype=bool)]
        best.append(best_threshold(p, gold))
        bagged.append(bagged_threshold(p, gold, resamples=50))
    assert np.std(bagged) < 0.85 * np.std(best)
    assert bagged_threshold(p, gold, resamples=50) == bagged[-1]  # seeded
    assert bagged_threshold(p, np.zeros_like(gold)) == best_threshold(p, np.zeros_like(gold))  # no positive


def test_shipped_calibration_is_monotone_in_every_score(evidence):
    model = evidence.model
    grid = np.linspace(-20, 20, 401)
    assert model.calibration.entry.slope > 0 and np.all(np.diff(model.calibration.entry(grid)) >= 0)
    assert model.polarity_head.weights[0, 0] > 0  # a higher failure-head score never lowers P(failure)
    assert (model.evidence_head.weights[0, :2] > 0).all()  # nor a higher theme or lexical evidence logit P(evidence)
    prediction = predict_one(evidence, "The Council overspent by £12m and used reserves to balance the outturn.")
    scores = [m.score for m in prediction.matches]
    assert scores == sorted(scores, reverse=True)
    assert prediction.flagged  # a flagged link shows the flag probability; every other link its own
    for match in prediction.matches:
        expected = prediction.flag_probability if match.entry.id in prediction.flagged else match.score
        assert match.probability == expected


# -- identity ---------------------------------------------------------------------------------------------

def test_classifier_id_is_deterministic_and_tracks_what_changes_output(encoder, evidence):
    taxonomy = load_taxonomy()
    same = EvidenceClassifier(encoder, taxonomy)
    assert same.id == evidence.id and evidence.id.startswith("clf-") and len(evidence.id) == 14
    stricter = EvidenceClassifier(encoder, taxonomy, thresholds=replace(evidence.thresholds, flag=0.9))
    model = evidence.model
    heavier = replace(model, failure_head=replace(model.failure_head, bias=model.failure_head.bias + 0.1))
    retrained = EvidenceClassifier(encoder, taxonomy, model=heavier, bank=evidence.bank)
    table = (TAXONOMY_DIR / "bv-2023-draft.tripwires.yaml").read_text()
    rewired = EvidenceClassifier(encoder, taxonomy, model=model, bank=evidence.bank,
                                 tripwires=parse_tripwires(table.replace("[SD-F02, SD-F04]", "[SD-F04, SD-F02]"),
                                                           taxonomy))
    fallback = load_classifier(encoder, "wales-2013")
    assert isinstance(fallback, SimilarityClassifier)
    ids = {evidence.id, stricter.id, retrained.id, rewired.id, fallback.id}
    assert len(ids) == 5


def test_loads_and_predicts_with_no_network_and_no_recomputation(tmp_path):
    """Internet sockets refused, fresh data dir: the int8 encoder is built offline from the bundled weights, and
    the shipped entry vectors are used, so no vector is computed and cached."""
    result = run_offline("""
        from pipeline.embed import load_encoder
        from pipeline.classify import load_classifier
        classifier = load_classifier(load_encoder())
        [p] = classifier.predict_texts(["The Chief Finance Officer has issued a section 114 notice."])
        print(type(classifier).__name__, classifier.id, p.flagged)
    """, tmp_path, TRIAGE_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr[-2000:]
    name, clf_id, flagged = result.stdout.split(maxsplit=2)
    assert name == "EvidenceClassifier" and clf_id.startswith("clf-") and "R-F09" in flagged
    assert [f.name for f in (tmp_path / "data" / "models").rglob("*.onnx")] == ["model.int8.onnx"]
    assert not list((tmp_path / "data" / "models").rglob("*.npz"))


# -- artefacts --------------------------------------------------------------------------------------------

def test_shipped_artefacts_are_small_and_safe():
    files = list(SHIPPED.iterdir())
    assert sum(f.stat().st_size for f in files) < 5_000_000
    assert not [f for f in files if f.suffix in (".bin", ".safetensors", ".onnx", ".pt", ".pkl")]


def test_entry_vectors_are_shipped_for_the_current_texts(encoder):
    taxonomy = load_taxonomy()
    texts = entry_texts(taxonomy, load_exemplars(taxonomy.id))
    vectors = read_vectors(SHIPPED / "entry-vectors.npz", texts_key(encoder.model_id, texts), len(texts))
    assert vectors is not None and vectors.shape == (len(texts), 384)
    kinds = {t.kind for t in texts}
    assert kinds == {"entry", "paraphrase", "exemplar", "theme"}


def test_changed_texts_are_encoded_once_then_cached(encoder, tmp_path):
    calls = []

    class Counting:
        model_id = encoder.model_id

        def encode(self, texts):
            calls.append(len(texts))
            return encoder.encode(texts)

    texts = ["The budget is balanced.", "A new exemplar written today."]
    key = texts_key(encoder.model_id, texts)
    first = cached_vectors(Counting(), texts, key, "entry-vectors", SHIPPED, tmp_path)
    second = cached_vectors(Counting(), texts, key, "entry-vectors", SHIPPED, tmp_path)
    assert calls == [2] and (tmp_path / f"entry-vectors-{key}.npz").is_file()
    assert np.allclose(first, second, atol=2e-3)


def test_artefacts_rebuilt_from_the_development_rows_match_the_shipped_ones(encoder, tmp_path):
    """A rebuild matches the shipped model within machine-level float noise (the exact hash is per machine)."""
    from pipeline.classify.model import rebuild_differences
    from pipeline.training.dataset import load_real_devset, load_training_rows, training_hash
    from pipeline.training.fit import build

    skipped = load_real_devset()[1].skipped
    if skipped:
        pytest.skip(f"the shipped model trains on the real-text rows: {len(skipped)} cannot be rebuilt here "
                    f"({next(iter(skipped.values()))})")
    shipped = load_model(SHIPPED)
    assert shipped.training["training_data_hash"] == training_hash(load_training_rows())
    rebuilt = build(encoder, load_taxonomy(), tmp_path, vectors_dir=SHIPPED)
    assert rebuild_differences(shipped, rebuilt) == []
    assert json.loads((tmp_path / "model.json").read_text())["artefact_hash"] == rebuilt.artefact_hash


def test_rebuild_check_tolerates_float_noise_but_not_a_different_fit():
    from pipeline.classify.model import rebuild_differences

    shipped = load_model(SHIPPED)
    noisy_head = replace(shipped.theme_head, weights=shipped.theme_head.weights * np.float32(1 + 3e-7))
    noisy = replace(shipped, theme_head=noisy_head, calibration=Calibration(
        Platt(shipped.calibration.entry.slope * (1 + 2e-7), shipped.calibration.entry.intercept)))
    assert noisy.artefact_hash != shipped.artefact_hash and rebuild_differences(shipped, noisy) == []
    refit = replace(shipped, thresholds=replace(shipped.thresholds, flag=shipped.thresholds.flag + 0.05),
                    entry_head=replace(shipped.entry_head, weights=shipped.entry_head.weights * np.float32(1.01)))
    problems = rebuild_differences(shipped, refit)
    assert any(p.startswith("threshold flag:") for p in problems)
    assert any(p.startswith("array entry") for p in problems)


# -- predict contract -----------------------------------------------------------------------------------

def test_predict_contract_with_the_evidence_classifier(evidence):
    records = [
        {"id": "a", "text": "We find fault causing injustice. The Council did not assess Mr X's needs for a year."},
        {"id": "b", "text": "The Council's Audit Committee has two independent members and challenged officers on "
                            "overdue internal audit actions.", "doc_kind": "minutes", "heading": "Audit Committee"},
        {"id": "c", "text": "There are no financial implications arising from this report."},
        {"id": 4, "text": "   "},
        {"text": "The planning application proposes 24 dwellings with a ridge height of 8.4m."},
    ]
    rows = list(predict_records(records, evidence, top_k=3))
    assert [r["id"] for r in rows] == ["a", "b", "c", 4, None]
    for row in rows:
        assert list(row) == ["id", "theme", "matches", "flagged"]
        assert len(row["matches"]) <= 3
        scores = [m["score"] for m in row["matches"]]
        assert scores == sorted(scores, reverse=True)
        for match in row["matches"]:
            assert set(match) == {"id", "theme", "kind", "score"}
        assert set(row["flagged"]) <= {m["id"] for m in row["matches"] if m["kind"] == "failure_indicator"}
        if row["theme"] is None:
            assert row["flagged"] == []
    assert rows[0]["theme"] == "SD" and rows[0]["flagged"][0] == "SD-F02"
    assert rows[1]["theme"] == "R" and rows[1]["flagged"] == []
    assert rows[2]["theme"] is None and rows[3] == {"id": 4, "theme": None, "matches": [], "flagged": []}
    assert rows[4]["theme"] is None
