"""``triage learn``: refit the evidence classifier from analysts' decisions, and keep it only if it is not worse.

Every standing decision (the latest confirm, reject or reassign on a link that no undo has
taken back; blind second reviews excluded) becomes a label on its passage: confirmed and
reassigned-to entries say what the passage evidences; a rejection as boilerplate, historical
or about another authority says it is not evidence; a rejection for wrong polarity says it
evidences the other pole of the entry's theme. A rejection for the wrong entry (or "other")
says only what the passage is not, so it trains nothing but is still scored.

A fixed slice of the decided passages (by a hash of the passage id) is held back. The model
is refitted (heads, calibration, thresholds; ``pipeline.training.fit.fit_model``) on the
development set plus the other decisions, and both the current and the refitted classifier are
scored on the held-back decisions: link precision (of the links the classifier suggests,
the share analysts confirmed) and recall (of the confirmed links, the share it suggests).
The new model goes into the registry beside the database and becomes active only when its
F1 is not lower than the current one's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from pipeline.classify import load_classifier
from pipeline.classify.entry_vectors import write_vectors
from pipeline.classify.evidence import EvidenceClassifier
from pipeline.classify.model import save_model
from pipeline.classify.registry import activate, registry_for, write_report
from pipeline.domain import EvidenceKey, ReviewDecision, StoredPassage
from pipeline.embed import Encoder
from pipeline.errors import LearnError
from pipeline.ids import sha256_bytes, vector_key
from pipeline.paths import MODELS_DIR
from pipeline.store import Store
from pipeline.taxonomy import Taxonomy
from pipeline.text import squash_space
from pipeline.training.dataset import LabelledRow, TrainingSet

NOT_EVIDENCE_REASONS = ("boilerplate", "historical", "not_this_authority")
HOLDOUT = 0.25
MIN_HELD_BACK = 10  # fewer held-back decided links than this: no verdict, nothing activated


@dataclass(frozen=True)
class DecidedLink:
    """What the standing decision on one of the passage's links says: confirmed, or rejected and why."""

    entry: str
    confirmed: bool
    reason: str | None = None


@dataclass(frozen=True)
class DecidedPassage:
    passage: StoredPassage
    links: tuple[DecidedLink, ...]  # one per entry


@dataclass(frozen=True)
class Scores:
    links: int  # decided links scored
    suggested: int  # of which the classifier suggests
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass
class LearnReport:
    taxonomy: str
    decided_passages: int
    training_passages: int  # decision passages that became training rows
    held_back_passages: int
    held_back_links: int
    before: Scores
    after: Scores | None
    classifier_before: str
    classifier_after: str | None = None
    thresholds_before: dict = field(default_factory=dict)
    thresholds_after: dict = field(default_factory=dict)
    model_dir: str | None = None
    activated: bool = False
    verdict: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def decided_passages(store: Store, taxonomy: Taxonomy) -> list[DecidedPassage]:
    """Passages with standing decisions under this taxonomy, each with its decided links."""
    known = {e.id for e in taxonomy.entries}
    standing = store.standing(taxonomy.id)
    keys = sorted((k for k in standing if k.entry in known), key=EvidenceKey.as_tuple)
    stored = store.passages_by_id(sorted({k.passage for k in keys}))
    by_passage: dict[str, list[DecidedLink]] = {}
    for key in keys:
        if key.passage not in stored:
            continue
        decision, links = standing[key].latest, by_passage.setdefault(key.passage, [])
        if decision.decision is ReviewDecision.REASSIGN:
            links.append(DecidedLink(key.entry, False, "wrong_entry"))
            if decision.new_entry in known:
                links.append(DecidedLink(decision.new_entry, True, "reassigned"))
        else:
            links.append(DecidedLink(key.entry, decision.decision is ReviewDecision.CONFIRM, decision.reason))
    return [DecidedPassage(stored[pid], _dedupe(links)) for pid, links in by_passage.items()]


def _dedupe(links: list[DecidedLink]) -> tuple[DecidedLink, ...]:
    """One link per entry; a confirmation wins over a rejection of the same entry (a reassignment back)."""
    out: dict[str, DecidedLink] = {}
    for link in links:
        if link.entry not in out or link.confirmed:
            out[link.entry] = link
    return tuple(out.values())


def label(decided: DecidedPassage, taxonomy: Taxonomy) -> LabelledRow | None:
    """The training row the decisions imply, or None when they only say what the passage is not."""
    entries = {e.id: e for e in taxonomy.entries}
    confirmed = [entries[link.entry] for link in decided.links if link.confirmed]
    passage = decided.passage
    text, kind = squash_space(passage.text), passage.doc_kind or None
    if confirmed:
        failures = [e for e in confirmed if e.is_failure]
        theme = (failures or confirmed)[0].theme
        return LabelledRow(passage.id, text, theme, bool(failures), tuple(e.id for e in confirmed), kind)
    reasons = {link.reason for link in decided.links}
    if reasons and reasons <= set(NOT_EVIDENCE_REASONS):
        return LabelledRow(passage.id, text, None, False, (), kind)
    if reasons == {"wrong_polarity"}:
        rejected = [entries[link.entry] for link in decided.links]
        if len({e.theme for e in rejected}) == 1 and len({e.is_failure for e in rejected}) == 1:
            return LabelledRow(passage.id, text, rejected[0].theme, not rejected[0].is_failure, (), kind)
    return None


def held_back(passage_id: str, share: float = HOLDOUT) -> bool:
    """A fixed, reproducible slice: the same passages are held back on every run."""
    digest = sha256_bytes(f"learn-holdout\x1f{passage_id}".encode())
    return int(digest[:8], 16) / 16**8 < share


def score_links(classifier: EvidenceClassifier, passages: Sequence[DecidedPassage], vectors: np.ndarray) -> Scores:
    """Link precision and recall of the classifier's suggestions against the analysts' decisions."""
    if not passages:
        return Scores(0, 0, None, None, None)
    predictions = classifier.predict_vectors(vectors, texts=[p.passage.text for p in passages],
                                             contexts=[p.passage.context() for p in passages])
    true_positive = suggested_decided = confirmed = links = 0
    for passage, prediction in zip(passages, predictions, strict=True):
        suggested = {m.entry.id for m in prediction.evidence} if prediction.theme else set()
        for link in passage.links:
            links += 1
            confirmed += link.confirmed
            if link.entry in suggested:
                suggested_decided += 1
                true_positive += link.confirmed
    precision = true_positive / suggested_decided if suggested_decided else None
    recall = true_positive / confirmed if confirmed else None
    f1 = (2 * precision * recall / (precision + recall) if precision and recall else
          (0.0 if precision is not None or recall is not None else None))
    return Scores(links, suggested_decided, precision, recall, f1)


def learn(db: str | Path, encoder: Encoder, taxonomy: Taxonomy, *, holdout: float = HOLDOUT,
          activate_if_better: bool = True) -> LearnReport:
    """Refit on the development set plus the training decisions; activate the result if it is not worse."""
    from pipeline.training.fit import fit_model

    registry = registry_for(db)
    current = load_classifier(encoder, taxonomy.id, registry=registry)
    if not isinstance(current, EvidenceClassifier):
        raise LearnError(f"taxonomy {taxonomy.id} has no trained evidence model to refit (it uses the "
                         "similarity fallback); train one with `python -m pipeline.training` first")
    with Store(db) as store:
        passages = decided_passages(store, taxonomy)
        if not passages:
            raise LearnError("no decisions to learn from: confirm or reject suggested evidence in `triage review`")
        vectors = _passage_vectors(store, encoder, [p.passage.text for p in passages])
    test = [i for i, p in enumerate(passages) if held_back(p.passage.id, holdout)]
    held_indices = set(test)
    train = [i for i in range(len(passages)) if i not in held_indices]
    rows = [label(passages[i], taxonomy) for i in train]
    training = [(i, row) for i, row in zip(train, rows, strict=True) if row is not None]
    held = [passages[i] for i in test]
    report = LearnReport(
        taxonomy=taxonomy.id, decided_passages=len(passages), training_passages=len(training),
        held_back_passages=len(held), held_back_links=sum(len(p.links) for p in held),
        before=score_links(current, held, vectors[test]), after=None, classifier_before=current.id,
        thresholds_before=current.thresholds.as_dict())
    if not training:
        report.verdict = "not refitted: no decision outside the held-back slice says what a passage evidences"
        return report

    # The development rows (written, and real-text where the shared documents are here) with their shipped vectors;
    # an analyst's decision overrides the development set's label of the same text.
    devset = TrainingSet.load(encoder, taxonomy, MODELS_DIR / taxonomy.id, bank=current.bank)
    decided_texts = {row.text for _, row in training}
    data = devset.subset([i for i, r in enumerate(devset.rows) if r.text not in decided_texts]).extended(
        [row for _, row in training], vectors[[i for i, _ in training]])
    model = fit_model(data)
    refitted = EvidenceClassifier(encoder, taxonomy, model=model, bank=current.bank, tripwires=current.tripwires)
    report.after = score_links(refitted, held, vectors[test])
    report.classifier_after = refitted.id
    report.thresholds_after = refitted.thresholds.as_dict()
    model_dir = registry / taxonomy.id / model.artefact_hash
    save_model(model, model_dir)
    write_vectors(model_dir / "entry-vectors.npz", current.bank.vectors, current.bank.key)
    report.model_dir = str(model_dir)
    reason, better = _judge(report.before, report.after, report.held_back_links)
    report.activated = better and activate_if_better
    report.verdict = (f"activated: {reason}" if report.activated else
                      f"not activated (dry run): {reason}" if better else f"kept the current model: {reason}")
    write_report(model_dir, report.as_dict())
    if report.activated:
        activate(registry, taxonomy.id, model_dir, {"activated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                                    "verdict": report.verdict})
    return report


def _judge(before: Scores, after: Scores, held_back_links: int) -> tuple[str, bool]:
    """Why, and whether the refitted model is not worse on the held-back decisions."""
    if held_back_links < MIN_HELD_BACK:
        return (f"only {held_back_links} held-back decided links (at least {MIN_HELD_BACK} are needed to judge)",
                False)
    old, new = before.f1 or 0.0, after.f1 or 0.0
    return f"held-back link F1 {old:.3f} -> {new:.3f}", new >= old


def _passage_vectors(store: Store, encoder: Encoder, texts: list[str]) -> np.ndarray:
    """The passages' cached embeddings; any missing (a cache emptied by hand) are encoded."""
    known = store.cached_vectors(encoder.model_id, texts)
    missing = [t for t in texts if vector_key(encoder.model_id, t) not in known]
    if missing:
        known.update(zip((vector_key(encoder.model_id, t) for t in missing), encoder.encode(missing), strict=True))
    return np.vstack([known[vector_key(encoder.model_id, t)] for t in texts]).astype(np.float32)


def format_report(report: LearnReport) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [f"Decisions: {report.decided_passages} passages; {report.training_passages} used for training, "
             f"{report.held_back_passages} held back ({report.held_back_links} decided links)", "",
             "held-back links   precision   recall   F1      suggested"]
    for name, scores in (("before", report.before), ("after", report.after)):
        if scores is not None:
            lines.append(f"{name:<17} {pct(scores.precision):<11} {pct(scores.recall):<8} {pct(scores.f1):<7} "
                         f"{scores.suggested}/{scores.links}")
    if report.thresholds_after:
        lines += ["", "thresholds        before   after"]
        for key in ("evidence", "flag", "link"):
            lines.append(f"{key:<17} {report.thresholds_before[key]:<8.4f} {report.thresholds_after[key]:.4f}")
        changed = _changed(report.thresholds_before, report.thresholds_after)
        lines.append(f"per-theme and per-entry thresholds changed: {changed}")
    lines += ["", f"classifier {report.classifier_before} -> {report.classifier_after or '(not refitted)'}",
              report.verdict]
    if report.model_dir:
        lines.append(f"model: {report.model_dir}")
    return "\n".join(lines)


def _changed(before: dict, after: dict) -> int:
    count = 0
    for group in ("flag_by_theme", "link_by_entry"):
        keys = set(before.get(group, {})) | set(after.get(group, {}))
        count += sum(before.get(group, {}).get(k) != after.get(group, {}).get(k) for k in keys)
    return count
