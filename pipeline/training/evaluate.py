"""Score predictions against labelled passages (the dev set, or a held-out gold file).

Gold rows follow ``taxonomy/LABELLING.md``; predictions follow the ``triage predict``
output. The four headline metrics, and what counts as a positive in each:

- failure flag F1: gold polarity is "failure" / the prediction flags any failure indicator;
- theme macro-F1: mean per-class F1 over the themes and "none" (no theme) that have at
  least ``MIN_MACRO_SUPPORT`` gold passages, so a class with one or two passages cannot
  swing the average;
- entry recall@5: share of gold passages with entries where a gold entry is among the
  first five matches;
- evidence F1: gold theme is set / predicted theme is set.

A headline metric is ``None`` when it is undefined on the gold set (for example, no gold
passage lists entries); precision, recall and F1 of a single class are 0.0 when undefined.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.classify.calibration import binary_f1, confusion_counts
from pipeline.domain import GoldPassage
from pipeline.errors import EvaluationError, GoldFileError, PredictionError
from pipeline.jsonl import json_objects
from pipeline.paths import DEVSET
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy

NONE_LABEL = "none"
POLARITIES = ("failure", "positive", "neutral")
MIN_MACRO_SUPPORT = 5
RECALL_AT = 5


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int  # gold passages of this class


@dataclass(frozen=True)
class EvaluationReport:
    passages: int
    failure_flag_f1: float | None
    theme_macro_f1: float | None
    entry_recall_at_5: float | None
    evidence_f1: float | None
    macro_classes: tuple[str, ...]  # classes averaged in theme_macro_f1
    per_theme: dict[str, ClassScores]  # every theme seen in gold or predictions, then "none"
    confusion: dict[str, dict[str, int]]  # gold class -> predicted class -> passages


FitPredict = Callable[[list[GoldPassage], list[GoldPassage]], list[dict]]
"""``fit_predict(train_rows, test_rows)`` returns predictions (predict format) for ``test_rows``."""


def load_gold(path: Path | str) -> list[GoldPassage]:
    """Read a gold JSONL file; raise GoldFileError naming the first bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as e:
        raise GoldFileError(f"gold file {path} not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise GoldFileError(f"gold file {path} cannot be read: {e}") from e
    rows: list[GoldPassage] = []
    first_line: dict[str, int] = {}
    for number, where, raw in json_objects(lines, f"{path.name} line {{}}".format, GoldFileError):
        row = _gold_row(raw, where)
        if row.id in first_line:
            raise GoldFileError(f"{where}: id {row.id!r} already used on line {first_line[row.id]}")
        first_line[row.id] = number
        rows.append(row)
    if not rows:
        raise GoldFileError(f"gold file {path} has no passages")
    return rows


def _gold_row(raw: dict, where: str) -> GoldPassage:
    gold_id = raw.get("gid", raw.get("id"))
    if not isinstance(gold_id, str | int) or isinstance(gold_id, bool) or gold_id == "":
        raise GoldFileError(f"{where}: needs a string or integer 'gid' (or 'id')")
    text, theme, polarity = raw.get("text"), raw.get("theme"), raw.get("polarity")
    entries = raw.get("entries", [])
    if not isinstance(text, str):
        raise GoldFileError(f"{where}: 'text' must be a string")
    if theme is not None and (not isinstance(theme, str) or not theme):
        raise GoldFileError(f"{where}: 'theme' must be a theme code or null, not {theme!r}")
    if polarity is not None and polarity not in POLARITIES:
        raise GoldFileError(f"{where}: 'polarity' must be one of {POLARITIES} or null, not {polarity!r}")
    if (theme is None) != (polarity is None):
        raise GoldFileError(f"{where}: 'polarity' must be null exactly when 'theme' is null")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise GoldFileError(f"{where}: 'entries' must be a list of entry ids")
    return GoldPassage(str(gold_id), text, theme, polarity, tuple(entries))


@dataclass(frozen=True)
class Answer:
    """What one passage is said to evidence, in the terms the headline metrics count: its theme (None: no
    evidence), whether it reports a failure, its entries most relevant first. Gold rows and predictions are read
    into these, and so are two labellers' labels, so one ``compare`` scores a model against gold and one labeller
    against another."""

    theme: str | None
    failure: bool
    entries: tuple[str, ...]

    @classmethod
    def of_label(cls, theme: str | None, polarity: str | None, entries: Sequence[str]) -> Answer:
        """A label by ``taxonomy/LABELLING.md`` (a gold row's, a labeller's): a failure has polarity "failure"."""
        return cls(theme, polarity == "failure", tuple(entries))

    @classmethod
    def of_prediction(cls, row: dict) -> Answer:
        """A ``triage predict`` record: a failure is any failure indicator flagged; entries are the matches."""
        return cls(row["theme"], bool(row["flagged"]), tuple(m["id"] for m in row["matches"]))


def score(gold: Sequence[GoldPassage], predictions: Iterable[dict],
          themes: Sequence[str] = ()) -> EvaluationReport:
    """Pair predictions with gold passages by id and compute every metric.

    ``themes`` fixes the order of per-theme rows (e.g. the taxonomy's order); other themes
    seen in gold or predictions follow, sorted. Predictions for ids not in gold are ignored,
    so one prediction file can be scored against a subset of its passages.
    """
    by_id = _index_predictions(predictions)
    missing = [g.id for g in gold if g.id not in by_id]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise PredictionError(f"no prediction for {len(missing)} gold passage(s): {shown}")
    return compare([Answer.of_label(g.theme, g.polarity, g.entries) for g in gold],
                   [Answer.of_prediction(by_id[g.id]) for g in gold], themes)


def compare(gold: Sequence[Answer], predicted: Sequence[Answer], themes: Sequence[str] = ()) -> EvaluationReport:
    """Every metric of ``predicted`` against ``gold``, the two in the same passages' order (``themes`` as in
    ``score``)."""
    pairs = list(zip(gold, predicted, strict=True))
    gold_labels = [g.theme or NONE_LABEL for g, _ in pairs]
    predicted_labels = [p.theme or NONE_LABEL for _, p in pairs]
    labels = _labels(themes, gold_labels + predicted_labels)
    per_theme = {label: _class_scores(label, gold_labels, predicted_labels) for label in labels}
    macro_classes = tuple(label for label in labels if per_theme[label].support >= MIN_MACRO_SUPPORT)
    with_entries = [(g, p) for g, p in pairs if g.entries]
    hits = sum(bool(set(g.entries) & set(p.entries[:RECALL_AT])) for g, p in with_entries)
    confusion = {gold_label: dict.fromkeys(labels, 0) for gold_label in labels}
    for gold_label, predicted_label in zip(gold_labels, predicted_labels, strict=True):
        confusion[gold_label][predicted_label] += 1
    return EvaluationReport(
        passages=len(pairs),
        failure_flag_f1=binary_f1([g.failure for g, _ in pairs], [p.failure for _, p in pairs]),
        theme_macro_f1=(sum(per_theme[c].f1 for c in macro_classes) / len(macro_classes)) if macro_classes else None,
        entry_recall_at_5=hits / len(with_entries) if with_entries else None,
        evidence_f1=binary_f1([g.theme is not None for g, _ in pairs], [p.theme is not None for _, p in pairs]),
        macro_classes=macro_classes,
        per_theme=per_theme,
        confusion=confusion,
    )


def _index_predictions(predictions: Iterable[dict]) -> dict[str, dict]:
    by_id: dict[str, dict] = {}
    for number, row in enumerate(predictions, start=1):
        where = f"prediction {number}"
        if not isinstance(row, dict):
            raise PredictionError(f"{where} is not a JSON object")
        if row.get("id") is None:
            raise PredictionError(f"{where} has no 'id'; `triage predict` copies each input record's 'id', "
                                  "so give the passages it reads the gold ids as 'id'")
        key = str(row["id"])
        if key in by_id:
            raise PredictionError(f"{where}: id {key!r} predicted twice")
        theme, matches, flagged = row.get("theme"), row.get("matches"), row.get("flagged")
        if theme is not None and not isinstance(theme, str):
            raise PredictionError(f"{where}: 'theme' must be a theme code or null")
        if not isinstance(matches, list) or not all(isinstance(m, dict) and "id" in m for m in matches):
            raise PredictionError(f"{where}: 'matches' must be a list of objects with an 'id'")
        if not isinstance(flagged, list):
            raise PredictionError(f"{where}: 'flagged' must be a list of entry ids")
        by_id[key] = row
    return by_id


def _labels(themes: Sequence[str], seen: Iterable[str]) -> list[str]:
    extra = sorted(set(seen) - set(themes) - {NONE_LABEL})
    return [*themes, *extra, NONE_LABEL]


def _class_scores(label: str, gold: Sequence[str], predicted: Sequence[str]) -> ClassScores:
    tp, fp, fn = confusion_counts([g == label for g in gold], [p == label for p in predicted])
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return ClassScores(precision, recall, f1, tp + fn)


def report_to_dict(report: EvaluationReport) -> dict:
    """A JSON-ready dict (undefined metrics become null)."""
    return asdict(report)


def cross_validate(gold: Sequence[GoldPassage], fit_predict: FitPredict, folds: int = 5, seed: int = 0,
                   themes: Sequence[str] = (), groups: Sequence[str | None] | None = None,
                   always_train: Sequence[GoldPassage] = ()) -> EvaluationReport:
    """Score out-of-fold predictions, so a system with fitted parameters is never scored on its training rows.

    Folds are stratified by gold theme: each theme's rows are shuffled with ``seed`` and
    dealt round-robin, so every fold sees every frequent theme and the split is reproducible.
    With ``groups`` (a row's document), a document's rows stay in one fold, so passages of a test
    document never train the model that scores them. ``always_train`` rows (the written passages,
    when the real-text rows are cross-validated) are training rows in every fold and never scored.
    """
    if not 2 <= folds <= len(gold):
        raise EvaluationError(f"cannot make {folds} folds from {len(gold)} gold passages; use 2 to {len(gold)}")
    fold_of = fold_assignments(gold, folds, seed, groups)
    predictions: list[dict] = []
    for fold in range(folds):
        train = list(always_train) + [g for g, f in zip(gold, fold_of, strict=True) if f != fold]
        test = [g for g, f in zip(gold, fold_of, strict=True) if f == fold]
        predictions.extend(fit_predict(train, test))
    return score(gold, predictions, themes)


def fold_assignments(gold: Sequence[GoldPassage], folds: int, seed: int,
                     groups: Sequence[str | None] | None = None) -> list[int]:
    """The fold (0 to folds - 1) of each gold row: stratified by theme, or whole groups per fold.

    Rows whose group is not None (real documents) are dealt a document at a time, largest first
    (ties in a seeded random order) to the fold with the fewest such rows; the other rows are
    stratified by theme as before.
    """
    rng = random.Random(seed)
    groups = list(groups) if groups is not None else [None] * len(gold)
    by_theme: dict[str, list[int]] = {}
    by_group: dict[str, list[int]] = {}
    for index, (row, group) in enumerate(zip(gold, groups, strict=True)):
        if group is None:
            by_theme.setdefault(row.theme or NONE_LABEL, []).append(index)
        else:
            by_group.setdefault(group, []).append(index)
    fold_of = [0] * len(gold)
    dealt = 0
    for theme in sorted(by_theme):
        indices = by_theme[theme]
        rng.shuffle(indices)
        for index in indices:
            fold_of[index] = dealt % folds
            dealt += 1
    names = sorted(by_group)
    rng.shuffle(names)
    sizes = [0] * folds
    for name in sorted(names, key=lambda n: -len(by_group[n])):
        fold = min(range(folds), key=lambda f: (sizes[f], f))
        sizes[fold] += len(by_group[name])
        for index in by_group[name]:
            fold_of[index] = fold
    return fold_of


def format_report(reports: dict[str, EvaluationReport]) -> str:
    """Plain-text tables: headline metrics and per-theme scores side by side, then the first system's confusion."""
    names = list(reports)
    first = reports[names[0]]
    width = max(12, *(len(n) + 2 for n in names))
    headline = [("passages", lambda r: str(r.passages)),
                ("failure flag F1", lambda r: _number(r.failure_flag_f1)),
                ("theme macro-F1", lambda r: _number(r.theme_macro_f1)),
                ("entry recall@5", lambda r: _number(r.entry_recall_at_5)),
                ("evidence F1", lambda r: _number(r.evidence_f1))]
    lines = [f"{'metric':<18}" + "".join(f"{n:>{width}}" for n in names)]
    lines += [f"{label:<18}" + "".join(f"{value(reports[n]):>{width}}" for n in names) for label, value in headline]

    labels = list(dict.fromkeys(label for r in reports.values() for label in r.per_theme if label != NONE_LABEL))
    labels.append(NONE_LABEL)
    macro = set(first.macro_classes)
    lines += ["", f"Per-theme precision / recall / F1 (* = in macro-F1: at least {MIN_MACRO_SUPPORT} gold passages)",
              f"{'theme':<8}{'gold':>6}" + "".join(f"  {n[:20]:>20}" for n in names),
              " " * 14 + "".join(f"  {'P':>6}{'R':>7}{'F1':>7}" for _ in names)]
    for label in labels:
        support = next((r.per_theme[label].support for r in reports.values() if label in r.per_theme), 0)
        cells = "".join(f"  {_class_cells(reports[n].per_theme.get(label))}" for n in names)
        lines.append(f"{label + ('*' if label in macro else ''):<8}{support:>6}{cells}")

    order = list(first.confusion)
    lines += ["", f"Confusion matrix of {names[0]} (rows: gold theme, columns: predicted theme)",
              f"{'':<8}" + "".join(f"{label:>6}" for label in order)]
    lines += [f"{gold:<8}" + "".join(f"{first.confusion[gold][p]:>6}" for p in order) for gold in order]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _class_cells(scores: ClassScores | None) -> str:
    if scores is None:
        return f"{'-':>6}{'-':>7}{'-':>7}"
    return f"{scores.precision:>6.3f}{scores.recall:>7.3f}{scores.f1:>7.3f}"


def evaluate_gold(gold: Path, taxonomy_id: str = DEFAULT_TAXONOMY) -> dict[str, EvaluationReport]:
    """``triage evaluate``: the classifier and the BM25 baseline (thresholds fitted on the development set)
    scored on a gold file, from the texts alone as ``triage predict`` sees them."""
    from pipeline.classify import load_classifier
    from pipeline.classify.bm25 import BM25Classifier
    from pipeline.embed import load_encoder
    from pipeline.predict import predict_records

    taxonomy = load_taxonomy(taxonomy_id)
    rows = load_gold(gold)
    records = [{"id": row.id, "text": row.text} for row in rows]
    bm25 = BM25Classifier(taxonomy)
    bm25.fit_thresholds(load_gold(DEVSET))
    classifier = load_classifier(load_encoder(), taxonomy.id)
    themes = taxonomy.theme_ids
    return {"bv-triage": score(rows, predict_records(records, classifier, top_k=5), themes),
            "bm25": score(rows, bm25.predict(records, top_k=5), themes)}
