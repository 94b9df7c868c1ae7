"""The lexical head's terms and weights, and the model artefacts that carry its lexicon."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.classify.heads import LinearHead
from pipeline.classify.lexical import Lexicon, lexical_logits, lexical_matrix, terms
from pipeline.classify.model import load_model, save_model
from pipeline.errors import ModelError
from pipeline.paths import MODELS_DIR

TEXTS = [
    "The Council used £3m of reserves to balance the budget.",
    "Reserves fell again and the budget gap widened.",
    "Apologies for absence were received from Councillor Smith.",
    "Apologies were received; the minutes were agreed as a correct record.",
    "Scrutiny of the budget found the reserves strategy sound.",
    "Residents were consulted on the budget and the reserves strategy.",
]
PASSAGES = [terms(text) for text in TEXTS]


def test_terms_are_stemmed_words_without_stopwords_and_their_bigrams():
    assert terms("The reserves were used") == ["reserv", "used", "reserv used"]


def test_weights_match_scikit_learns_sublinear_smoothed_tfidf():
    lexicon = Lexicon.fit(PASSAGES)
    reference = TfidfVectorizer(analyzer=terms, min_df=2, sublinear_tf=True).fit(TEXTS)
    assert list(lexicon.vocabulary) == reference.get_feature_names_out().tolist()
    expected = reference.transform([*TEXTS, "Reserves, reserves and the budget: reserves again."]).toarray()
    ours = lexical_matrix(lexicon, [*PASSAGES, terms("Reserves, reserves and the budget: reserves again.")]).toarray()
    assert np.allclose(ours, expected, atol=1e-6)


def test_a_passage_of_unknown_words_scores_the_heads_bias():
    lexicon = Lexicon.fit(PASSAGES)
    assert lexicon.weighted_terms(terms("Zebra crossing markings"))[0].size == 0
    head = LinearHead("lexical", ("a", "b"), np.ones((2, len(lexicon.vocabulary)), np.float32),
                      np.array([0.5, -0.5], np.float32))
    assert lexical_logits(head, lexicon, [terms("Zebra crossing markings")]).tolist() == [[0.5, -0.5]]


def test_a_passages_text_in_place_of_its_terms_is_refused():
    """A string is a sequence of strings too: read as terms, its letters would silently be the passage's words."""
    with pytest.raises(TypeError, match="terms"):
        Lexicon.fit(TEXTS)
    with pytest.raises(TypeError, match="terms"):
        lexical_matrix(Lexicon.fit(PASSAGES), ["Reserves fell again."])


def test_logits_are_the_heads_product_with_the_tfidf_matrix():
    lexicon = Lexicon.fit(PASSAGES)
    rng = np.random.default_rng(0)
    head = LinearHead("lexical", ("a", "b", "c"), rng.normal(size=(3, len(lexicon.vocabulary))).astype(np.float32),
                      rng.normal(size=3).astype(np.float32))
    dense = lexical_matrix(lexicon, PASSAGES).toarray() @ head.weights.T.astype(np.float64) + head.bias
    assert np.allclose(lexical_logits(head, lexicon, PASSAGES), dense, atol=1e-5)
    with pytest.raises(ValueError, match="terms"):
        lexical_logits(LinearHead("lexical", ("a",), np.zeros((1, 3), np.float32), np.zeros(1, np.float32)),
                       lexicon, PASSAGES)


def test_the_shipped_lexicon_survives_saving_and_an_edited_one_is_refused(tmp_path):
    shipped = load_model(MODELS_DIR / "bv-2023-draft")
    assert len(shipped.lexicon.vocabulary) > 1000 and shipped.lexical_head.n_features == len(shipped.lexicon.vocabulary)
    save_model(shipped, tmp_path / "copy")
    again = load_model(tmp_path / "copy")
    assert again.lexicon.vocabulary == shipped.lexicon.vocabulary and again.artefact_hash == shipped.artefact_hash

    edited = tmp_path / "edited"
    shutil.copytree(tmp_path / "copy", edited)
    with np.load(edited / "heads.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["lexicon.vocabulary"] = arrays["lexicon.vocabulary"][::-1]
    with zipfile.ZipFile(edited / "heads.npz", "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as out:
                np.lib.format.write_array(out, array, allow_pickle=False)
    with pytest.raises(ModelError, match="recorded hash"):
        load_model(edited)


def test_a_model_of_the_previous_format_asks_for_a_rebuild(tmp_path):
    shutil.copytree(MODELS_DIR / "bv-2023-draft", tmp_path / "old", ignore=shutil.ignore_patterns("*-vectors*"))
    meta = json.loads((tmp_path / "old" / "model.json").read_text())
    meta["format"] = 2
    (tmp_path / "old" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="format 2; expected 3: rebuild"):
        load_model(tmp_path / "old")
