"""The fitted evidence model: heads, calibration and thresholds, and the numbers they produce.

Everything here is numpy on precomputed vectors (and a scipy sparse matrix of the passages' words); no encoder,
no scikit-learn. For a batch of passages (vectors and texts) ``raw_scores`` computes:

- the entry similarities: each entry's best cosine over its bank vectors (entry text,
  paraphrases, exemplars), one matrix product and one gather;
- the polarity cues of ``pipeline.classify.rules.polarity`` and the pole contrast (best failure-indicator
  similarity minus best characteristic similarity);
- three logistic heads: theme (the themes plus "none"), failure (a failure indicator is
  evidenced) and entry (which of the taxonomy's entries);

and a fourth over the passage's words (``lexical``: TF-IDF terms of ``pipeline.classify.lexical``, the themes
plus "none");

and ``combine`` turns them into per-theme scores, per-entry ranking scores and the evidence and
failure logits. Each of the two logits comes from a small second-stage logistic regression fitted on
out-of-fold head outputs, which is both the decision and its calibration: the evidence stage over the theme
head's and the lexical head's evidence logits and the best entry similarity, and the polarity stage over the
failure head's logit and the explicit polarity cues. The artefacts are saved as
``heads.npz`` (float32 weights, the lexicon) and ``model.json`` (calibration, thresholds, hashes)
under ``models/<taxonomy>/``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.classify.calibration import Platt, logit, sigmoid
from pipeline.classify.entry_vectors import EntryBank, save_npz
from pipeline.classify.heads import LinearHead, softmax
from pipeline.classify.lexical import Lexicon, lexical_logits, terms
from pipeline.classify.rules.polarity import FEATURE_NAMES, CueCounts, cue_counts, cue_features
from pipeline.classify.rules.priors import THEME_RULES_TAXONOMY, theme_bonus
from pipeline.errors import ModelError

FORMAT_VERSION = 3  # 2: no document-kind priors; 3: the lexical head and the evidence stage
NONE_CLASS = "none"
POLE_SCALE = 5.0  # the pole contrast is a cosine difference (~±0.2); scaled to the cues' range
# An explicit polarity decision: a denied indicator is never a confident failure. When every failure state in a
# passage is negated and nothing else says failure ("balanced without any use of reserves"), when it only
# describes a possibility ("a risk that ... could overspend", a risk-register line) or when it is quoted
# guidance about authorities in general, or a flattened-table fragment, P(failure) is at most this.
HEALTHY_CAP = 0.10
NOT_ASSERTED = [FEATURE_NAMES.index(n) for n in ("healthy_by_negation", "possibility_only", "quoted_guidance")]


@dataclass(frozen=True)
class CombineWeights:
    """How the heads and the similarity add up (in log space) to an entry's ranking score."""

    similarity: float = 10.0  # times the entry's best cosine
    entry_head: float = 1.0  # times log P(entry) from the entry head
    theme: float = 1.0  # times log P(the entry's theme) from the theme head
    polarity: float = 1.0  # times log P(failure) for failure indicators, log P(not failure) for characteristics

    def key(self) -> str:
        return f"sim={self.similarity};entry={self.entry_head};theme={self.theme};pol={self.polarity}"


@dataclass(frozen=True)
class ModelThresholds:
    """Decision thresholds on calibrated probabilities; per-group values were shrunk towards the global one."""

    evidence: float = 0.5
    flag: float = 0.5
    link: float = 0.3
    flag_by_theme: Mapping[str, float] = field(default_factory=dict)
    link_by_entry: Mapping[str, float] = field(default_factory=dict)

    def flag_for(self, theme: str | None) -> float:
        return self.flag_by_theme.get(theme, self.flag) if theme else self.flag

    def link_for(self, entry_id: str) -> float:
        return self.link_by_entry.get(entry_id, self.link)

    def key(self) -> str:
        parts = [f"evidence={self.evidence:.4f}", f"flag={self.flag:.4f}", f"link={self.link:.4f}"]
        parts += [f"flag[{k}]={v:.4f}" for k, v in sorted(self.flag_by_theme.items())]
        parts += [f"link[{k}]={v:.4f}" for k, v in sorted(self.link_by_entry.items())]
        return ";".join(parts)

    def as_dict(self) -> dict:
        return {"evidence": self.evidence, "flag": self.flag, "link": self.link,
                "flag_by_theme": dict(sorted(self.flag_by_theme.items())),
                "link_by_entry": dict(sorted(self.link_by_entry.items()))}

    @classmethod
    def from_dict(cls, data: Mapping) -> ModelThresholds:
        return cls(float(data["evidence"]), float(data["flag"]), float(data["link"]),
                   {k: float(v) for k, v in data.get("flag_by_theme", {}).items()},
                   {k: float(v) for k, v in data.get("link_by_entry", {}).items()})


@dataclass(frozen=True)
class Calibration:
    entry: Platt  # on the entry ranking score (the evidence and polarity stages are calibrated as fitted)

    def as_dict(self) -> dict:
        return {"entry": {"slope": self.entry.slope, "intercept": self.entry.intercept}}

    @classmethod
    def from_dict(cls, data: Mapping) -> Calibration:
        return cls(Platt(float(data["entry"]["slope"]), float(data["entry"]["intercept"])))


@dataclass(frozen=True)
class EvidenceModel:
    taxonomy: str
    model_id: str  # the encoder the heads were trained on
    themes: tuple[str, ...]
    entries: tuple[str, ...]
    entry_is_failure: np.ndarray  # (entries,) bool
    entry_theme: np.ndarray  # (entries,) index into themes
    theme_head: LinearHead
    failure_head: LinearHead
    entry_head: LinearHead
    lexicon: Lexicon
    lexical_head: LinearHead  # over the lexicon's terms: the themes plus "none"
    evidence_head: LinearHead  # second stage: ``evidence_features`` -> P(evidence), calibrated
    polarity_head: LinearHead  # second stage: [failure head logit, polarity cues] -> P(failure), calibrated
    calibration: Calibration
    thresholds: ModelThresholds
    weights: CombineWeights = CombineWeights()
    training: Mapping[str, object] = field(default_factory=dict)  # training-data hash, counts, settings

    def with_thresholds(self, thresholds: ModelThresholds) -> EvidenceModel:
        return replace(self, thresholds=thresholds)

    def _heads(self) -> tuple[LinearHead, ...]:
        return (self.theme_head, self.failure_head, self.entry_head, self.lexical_head, self.evidence_head,
                self.polarity_head)

    # -- identity -------------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for head in self._heads():
            out.update(head.arrays())
        out["lexicon.idf"] = self.lexicon.idf
        return out

    def metadata(self) -> dict:
        return {
            "format": FORMAT_VERSION, "taxonomy": self.taxonomy, "model_id": self.model_id,
            "themes": list(self.themes), "entries": list(self.entries),
            "heads": {h.name: list(h.classes) for h in self._heads()},
            "cue_features": list(FEATURE_NAMES), "weights": self.weights.key(), "healthy_cap": HEALTHY_CAP,
            "calibration": self.calibration.as_dict(), "thresholds": self.thresholds.as_dict(),
            "training": dict(self.training),
        }

    @property
    def artefact_hash(self) -> str:
        """sha256 (first 16 hex) of the weights' bytes and the metadata: what the classifier id records."""
        digest = hashlib.sha256()
        for name, array in sorted(self.arrays().items()):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(array, dtype="<f4").tobytes())
        digest.update("\n".join(self.lexicon.vocabulary).encode())
        digest.update(json.dumps(self.metadata(), sort_keys=True).encode())
        return digest.hexdigest()[:16]

    # -- scoring --------------------------------------------------------------------------------

    def raw_scores(self, bank: EntryBank, vectors: np.ndarray, texts: Sequence[str] | None,
                   counts: Sequence[CueCounts] | None = None,
                   passage_terms: Sequence[Sequence[str]] | None = None) -> RawScores:
        """The passages' scores before ``combine``; their cues are counted here, once (or given as ``counts``), and
        returned in ``RawScores.counts`` for the rules that read them after the model; their lexical ``terms`` are read
        here likewise (or given as ``passage_terms``: training reads each row's once for all its folds)."""
        sims = bank.entry_scores(bank.similarities(vectors))
        if texts is None:
            counts, cues, lexical = None, np.zeros((len(vectors), len(FEATURE_NAMES)), np.float32), None
        else:
            counts = tuple(counts) if counts is not None else tuple(cue_counts(text) for text in texts)
            cues = cue_features(texts, counts)
            passage_terms = passage_terms if passage_terms is not None else [terms(text) for text in texts]
            lexical = softmax(lexical_logits(self.lexical_head, self.lexicon, passage_terms))
        bonus = (theme_bonus(texts, self.themes) if texts is not None and self.taxonomy == THEME_RULES_TAXONOMY
                 else np.zeros((len(vectors), len(self.themes))))
        return RawScores(
            sims=sims,
            cues=cues,
            counts=counts,
            theme_bonus=bonus,
            theme_proba=self.theme_head.proba(theme_features(vectors, cues)),
            failure_logit=self.failure_head.logits(failure_features(vectors, cues, sims, self.entry_is_failure))[:, 0],
            entry_proba=self.entry_head.proba(vectors),
            lexical_proba=lexical,
        )

    def combine(self, raw: RawScores) -> Combined:
        w = self.weights
        pt = np.clip(raw.theme_proba, 1e-9, 1.0)
        pe = np.clip(raw.entry_proba, 1e-9, 1.0)
        denied = (raw.cues[:, NOT_ASSERTED] > 0.5).any(axis=1)
        failure_logit = cap_denied(self.polarity_head.logits(polarity_features(raw.failure_logit, raw.cues))[:, 0],
                                   denied)
        p_fail = np.clip(sigmoid(failure_logit), 1e-6, 1 - 1e-6)[:, None]
        polarity = np.where(self.entry_is_failure[None, :], np.log(p_fail), np.log1p(-p_fail))
        entry_score = (w.entry_head * np.log(pe) + w.theme * np.log(pt[:, self.entry_theme])
                       + w.polarity * polarity + w.similarity * raw.sims)
        theme_score = np.log(pt[:, : len(self.themes)]) + raw.theme_bonus
        for t in range(len(self.themes)):
            members = self.entry_theme == t
            theme_score[:, t] += (w.entry_head * np.log(pe[:, members].max(axis=1))
                                  + w.similarity * raw.sims[:, members].max(axis=1))
        evidence_logit = self.evidence_head.logits(evidence_features(raw))[:, 0]
        return Combined(theme_score, entry_score, evidence_logit, failure_logit, denied)


@dataclass
class RawScores:
    sims: np.ndarray  # (n, entries) best cosine per entry
    cues: np.ndarray  # (n, cue features) of pipeline.classify.rules.polarity
    counts: tuple[CueCounts, ...] | None  # each passage's cue counts, for the rules after the model (None: no texts)
    theme_bonus: np.ndarray  # (n, themes) from the labelling rules of pipeline.classify.rules.priors
    theme_proba: np.ndarray  # (n, themes + 1), last column "none"
    failure_logit: np.ndarray  # (n,)
    entry_proba: np.ndarray  # (n, entries)
    lexical_proba: np.ndarray | None  # (n, themes + 1) from the passages' words, last column "none" (None: no texts)


@dataclass
class Combined:
    theme_score: np.ndarray  # (n, themes) higher is better
    entry_score: np.ndarray  # (n, entries) ranking score; calibration.entry maps it to a probability
    evidence_logit: np.ndarray  # (n,) calibrated logit of "the passage is evidence"
    failure_logit: np.ndarray  # (n,) calibrated logit of "the passage evidences a failure"
    denied: np.ndarray  # (n,) bool: a denied indicator, whose failure logit stays capped (see cap_denied)


EVIDENCE_INPUTS = 3  # evidence_features' columns: the theme and lexical heads' evidence logits, the best similarity
POLARITY_INPUTS = 1 + len(FEATURE_NAMES)  # polarity_features' columns: the failure head's logit, then the cues


def evidence_features(raw: RawScores) -> np.ndarray:
    """The evidence stage's inputs: the theme head's and the lexical head's logits of "not none", and the best entry
    similarity. Without texts the lexical head has no opinion (logit 0)."""
    by_meaning = logit(1.0 - raw.theme_proba[:, -1])
    by_words = (logit(1.0 - raw.lexical_proba[:, -1]) if raw.lexical_proba is not None
                else np.zeros(len(by_meaning)))
    return np.column_stack([by_meaning, by_words, raw.sims.max(axis=1)]).astype(np.float32)


def cap_denied(failure_logit: np.ndarray, denied: np.ndarray) -> np.ndarray:
    """The failure logit, at most logit(HEALTHY_CAP) where the passage denies the failure it mentions: the last word
    on P(failure), so no head turns a negated, hypothetical or quoted failure into a confident one."""
    return np.where(denied, np.minimum(failure_logit, logit(HEALTHY_CAP)), failure_logit)


def theme_features(vectors: np.ndarray, cues: np.ndarray) -> np.ndarray:
    return np.hstack([vectors, cues]).astype(np.float32)


def pole_contrast(sims: np.ndarray, entry_is_failure: np.ndarray) -> np.ndarray:
    """Best failure-indicator similarity minus best characteristic similarity, scaled: the two poles of a topic."""
    return POLE_SCALE * (sims[:, entry_is_failure].max(axis=1) - sims[:, ~entry_is_failure].max(axis=1))


def failure_features(vectors: np.ndarray, cues: np.ndarray, sims: np.ndarray,
                     entry_is_failure: np.ndarray) -> np.ndarray:
    """The first-stage failure head sees the embedding and the pole contrast: the topic's leaning."""
    del cues  # weighed in the second stage, where a dozen numbers are not drowned by 384 dimensions
    return np.hstack([vectors, pole_contrast(sims, entry_is_failure)[:, None]]).astype(np.float32)


def polarity_features(failure_logit: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """The second stage: the first stage's verdict beside explicit negation, hedging and risk-register cues."""
    return np.hstack([np.asarray(failure_logit, dtype=np.float32)[:, None], cues]).astype(np.float32)


# -- rebuild checks ------------------------------------------------------------------------------

# How far a rebuild on another machine may drift from the shipped artefacts. BLAS and lbfgs differ between
# machines in the last bits, which moves fitted weights and calibration in the 6th-7th significant digit, and
# can move a threshold chosen from the 0.01-step grid by a step (two after shrinking towards the global one).
REBUILD_RTOL = 1e-3  # weights and calibration, relative to the array's largest magnitude
REBUILD_THRESHOLD_ATOL = 0.021


def rebuild_differences(shipped: EvidenceModel, rebuilt: EvidenceModel) -> list[str]:
    """What differs between two fits beyond machine-level float noise (empty: the same model).

    The artefact hash is exact and so machine-specific; this comparison is what a rebuild check asserts.
    """
    problems = []
    a, b = shipped.metadata(), rebuilt.metadata()
    for key in ("format", "taxonomy", "model_id", "themes", "entries", "heads", "cue_features", "weights"):
        if a[key] != b[key]:
            problems.append(f"{key} differs")
    for key in ("training_data_hash", "settings", "rows", "entry_vectors_key", "non_evidence_hash"):
        if a["training"].get(key) != b["training"].get(key):
            problems.append(f"training {key}: {a['training'].get(key)} != {b['training'].get(key)}")
    arrays_a, arrays_b = shipped.arrays(), rebuilt.arrays()
    for name in sorted(set(arrays_a) | set(arrays_b)):
        x, y = arrays_a.get(name), arrays_b.get(name)
        if x is None or y is None or x.shape != y.shape:
            problems.append(f"array {name} missing or reshaped")
            continue
        scale = max(float(np.abs(x).max()), 1e-12)
        if float(np.abs(x - y).max()) > REBUILD_RTOL * scale:
            problems.append(f"array {name} differs by {float(np.abs(x - y).max()):.3g} (scale {scale:.3g})")
    if shipped.lexicon.vocabulary != rebuilt.lexicon.vocabulary:
        problems.append("lexicon vocabulary differs")
    for field_name in ("slope", "intercept"):
        x, y = a["calibration"]["entry"][field_name], b["calibration"]["entry"][field_name]
        if abs(x - y) > REBUILD_RTOL * max(abs(x), 1.0):
            problems.append(f"calibration entry {field_name}: {x} != {y}")
    ta, tb = shipped.thresholds, rebuilt.thresholds
    pairs = [("evidence", ta.evidence, tb.evidence), ("flag", ta.flag, tb.flag), ("link", ta.link, tb.link)]
    for group, da, db in (("flag", ta.flag_by_theme, tb.flag_by_theme), ("link", ta.link_by_entry, tb.link_by_entry)):
        if set(da) != set(db):
            problems.append(f"{group} thresholds cover other groups")
        pairs += [(f"{group}[{k}]", da[k], db[k]) for k in sorted(set(da) & set(db))]
    problems += [f"threshold {name}: {x} != {y}" for name, x, y in pairs if abs(x - y) > REBUILD_THRESHOLD_ATOL]
    return problems


# -- persistence ---------------------------------------------------------------------------------

def save_model(model: EvidenceModel, directory: Path) -> str:
    """Write ``heads.npz`` and ``model.json`` (with the artefact hash); return the hash."""
    directory.mkdir(parents=True, exist_ok=True)
    save_npz(directory / "heads.npz", **{k: v.astype(np.float32) for k, v in model.arrays().items()},
             **{"lexicon.vocabulary": np.array(model.lexicon.vocabulary, dtype=str)})
    meta = model.metadata()
    meta["artefact_hash"] = model.artefact_hash
    (directory / "model.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return meta["artefact_hash"]


def model_files_exist(directory: Path) -> bool:
    return (directory / "heads.npz").is_file() and (directory / "model.json").is_file()


def load_model(directory: Path) -> EvidenceModel:
    """Read a saved model; raise ModelError when it is missing, of another format, or altered since saving."""
    if not model_files_exist(directory):
        raise ModelError(f"no evidence model in {directory}; run `python -m pipeline.training`")
    try:
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        with np.load(directory / "heads.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read the evidence model in {directory}: {e}") from e
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"{directory}/model.json has format {meta.get('format')}; expected {FORMAT_VERSION}: "
                         "rebuild it (`python -m pipeline.training`, or `triage learn` for a learned model)")
    if list(meta.get("cue_features", [])) != list(FEATURE_NAMES):
        raise ModelError(f"{directory}: the model was trained with other polarity cues; retrain it")
    themes, entries = tuple(meta["themes"]), tuple(meta["entries"])
    heads = {name: LinearHead.from_arrays(name, classes, arrays) for name, classes in meta["heads"].items()}
    lexicon = Lexicon(tuple(str(t) for t in arrays["lexicon.vocabulary"]), arrays["lexicon.idf"])
    from pipeline.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(meta["taxonomy"])
    by_id = {e.id: e for e in taxonomy.entries}
    if set(entries) != set(by_id):
        raise ModelError(f"{directory}: the model's entries do not match taxonomy {taxonomy.id}; retrain it")
    weights = _weights_from_key(meta["weights"])
    model = EvidenceModel(
        taxonomy=meta["taxonomy"], model_id=meta["model_id"], themes=themes, entries=entries,
        entry_is_failure=np.array([by_id[e].is_failure for e in entries]),
        entry_theme=np.array([themes.index(by_id[e].theme) for e in entries]),
        theme_head=heads["theme"], failure_head=heads["failure"], entry_head=heads["entry"], lexicon=lexicon,
        lexical_head=heads["lexical"], evidence_head=heads["evidence"], polarity_head=heads["polarity"],
        calibration=Calibration.from_dict(meta["calibration"]),
        thresholds=ModelThresholds.from_dict(meta["thresholds"]),
        weights=weights, training=meta.get("training", {}),
    )
    if model.artefact_hash != meta.get("artefact_hash"):
        raise ModelError(f"{directory}: the artefacts do not match their recorded hash (edited by hand?); retrain")
    return model


def _weights_from_key(key: str) -> CombineWeights:
    values = dict(part.split("=") for part in key.split(";"))
    return CombineWeights(float(values["sim"]), float(values["entry"]), float(values["theme"]), float(values["pol"]))
