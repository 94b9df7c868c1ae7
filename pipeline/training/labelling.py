"""Labelling a new batch of real-text rows, the way batches 2-5 of ``corpus/devset/real.jsonl`` were made.

A batch lives in a folder outside the repository, because it holds the documents' text; only ``rows --append``
touches the repository, and it adds references and labels, never text.

1. ``sample``: passages of the development documents not yet labelled, per document at least a share uniformly at
   random and the rest near the taxonomy (by keywords, and by embedding similarity to its entries), written to
   ``passages.jsonl`` (references and text) and ``to-label.jsonl`` (what a labeller sees: no sampling reason, no
   classifier score). Held-out documents (``evaldocs/``, ``evaldocs-2/``) are refused.
2. Two labellers, independently and by ``taxonomy/LABELLING.md``, write ``labels-A.jsonl`` and ``labels-B.jsonl``.
3. ``agree``: Cohen's kappa, and the second labeller scored against the first by the cross-validation's metrics,
   to ``agreement.md``; the disagreements, with both labels, to ``to-adjudicate.jsonl``. ``yardstick`` gives those
   metrics for several batches and pooled over their passages.
4. An adjudicator writes ``adjudicated.jsonl`` (one label per disagreement).
5. ``rows``: the agreed and adjudicated labels as rows in the repository's format (``rows.jsonl``), optionally
   appended to ``corpus/devset/real.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.agreement import cohen_kappa, raw_agreement
from pipeline.errors import DocumentError, LabellingError
from pipeline.jsonl import json_objects, write_jsonl
from pipeline.paths import CHECKOUT, REAL_DEVSET, SHARED_DIR
from pipeline.progress import Progress
from pipeline.taxonomy import Taxonomy
from pipeline.training.evaluate import MIN_MACRO_SUPPORT, Answer, EvaluationReport, compare
from pipeline.training.realtext import read_refs, text_sha256

if TYPE_CHECKING:
    from pipeline.embed import Encoder
    from pipeline.passages.segment import Segmenter

# The development documents, relative to the shared folder: every batch so far sampled these and nothing else.
SOURCES = ("devdocs/*.pdf", "seeds/00[0-4]_*.txt", "moderngov/kingston/*.html", "moderngov/kingston/pdf/*.pdf")
HELD_OUT = ("evaldocs", "evaldocs-2")  # never labelled: they measure the classifier
DOCUMENT_SUFFIXES = {".pdf", ".html", ".htm", ".txt", ".docx"}
MIN_RANDOM_SHARE = 0.4  # issue 14: at least this share of each document's sample is uniformly at random
# Words of the taxonomy's indicators and characteristics as council papers write them (batches 2-4's list).
NEAR_WORDS = re.compile(
    r"overspen|deficit|shortfall|not (?:been )?(?:met|delivered|achieved)|fail|weakness|concern|backlog|delay|"
    r"upheld|ombudsman|complain|fault|breach|risk|reserve|savings|audit|scrutin|call-in|constitution|"
    r"code of conduct|standards|question|petition|consultation|performance|target|assurance|governance|interim|"
    r"vacanc|whistle|improvement|inspection|ofsted|cqc|not (?:yet|fully)|gap|action plan|directions|commissioner",
    re.IGNORECASE)
FAILURE_WEIGHT = 1.1  # real papers are failure-poor: similarity to a failure indicator counts a little more
POLARITIES = ("failure", "positive", "neutral")
CONFIDENCES = ("high", "low")
MAX_ENTRIES = 3
LABELLERS = ("A", "B")


# -- sample ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sampled:
    """A passage chosen for labelling, with its reference, its text and why it was chosen."""

    gid: str
    sampled: str  # "random" | "near:keywords" | "near:embedding"
    file: str  # relative to the shared folder
    sha256: str
    page: int | None
    start: int
    end: int
    text: str
    text_sha256: str
    heading: str

    def for_labeller(self) -> dict:
        """What a labeller sees: never the sampling reason, which would hint at a label."""
        return {"gid": self.gid, "document": Path(self.file).name, "page": self.page, "heading": self.heading,
                "text": self.text}


def passage_gid(file: str, start: int, end: int) -> str:
    """A sampled passage's id: 12 hex digits of sha256, the form the rows of ``corpus/devset/real.jsonl`` already
    carry, which is why it is not ``pipeline.ids.short_hash`` (base 32)."""
    return hashlib.sha256(f"{file}:{start}:{end}".encode()).hexdigest()[:12]


def development_documents(shared: Path) -> list[Path]:
    """Every document of the sources the real rows are drawn from, in a fixed order."""
    return [path for pattern in SOURCES for path in sorted(shared.glob(pattern)) if path.is_file()]


def refuse_held_out(path: Path) -> None:
    """The held-out documents measure the classifier: never sample them, however they are reached."""
    if any(part in HELD_OUT for part in (*path.parts, *path.resolve().parts)):
        raise LabellingError(f"{path} is held out ({' and '.join(HELD_OUT)} are for evaluation only): "
                             "never sample or label it")


def checked_documents(paths: Iterable[Path], shared: Path) -> list[Path]:
    """``paths`` (files, or folders of documents) as documents under the shared folder; a held-out one is refused
    before anything else is looked at."""
    root = shared.resolve()
    documents: list[Path] = []
    for given in paths:
        refuse_held_out(given)
        resolved = given.resolve()
        if not resolved.is_relative_to(root):
            raise LabellingError(f"{given} is not under the shared folder {shared}: rows refer to documents there")
        if resolved.is_dir():
            documents += sorted(p for p in resolved.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES)
        elif resolved.is_file():
            documents.append(resolved)
        else:
            raise LabellingError(f"{given} does not exist")
    return documents


def check_new_batch_folder(out: Path) -> None:
    """A batch holds the documents' text, which must never land in this or any other repository; and a new batch
    must not overwrite an earlier one's passages, which its labels refer to."""
    resolved = out.resolve()
    repository = next((d for d in (resolved, *resolved.parents) if (d / ".git").exists()), None)
    if CHECKOUT is not None and resolved.is_relative_to(CHECKOUT):
        repository = CHECKOUT
    if repository is not None:
        raise LabellingError(f"{out} is inside the repository {repository}: a batch holds real documents' text, "
                             "so write it elsewhere (e.g. ../labelling/batch6)")
    existing = [name for name in ("passages.jsonl", "to-label.jsonl") if (out / name).exists()]
    if existing:
        raise LabellingError(f"{out} already holds {', '.join(existing)}: choose a new folder for a new batch")


def labelled_keys(devset: Path) -> set[tuple[str, int, int]]:
    """(file, start, end) of every row already labelled."""
    return {(r.file, r.start, r.end) for r in read_refs(devset)} if devset.is_file() else set()


def quota(available: int, per_document: int, random_share: float) -> tuple[int, int]:
    """(uniformly at random, near the taxonomy) for a document with ``available`` unlabelled passages."""
    k = min(available, per_document)
    at_random = min(k, math.ceil(k * random_share - 1e-9))
    return at_random, k - at_random


def sample(documents: Sequence[Path], shared: Path, encoder: Encoder, taxonomy: Taxonomy, *, seed: int,
           per_document: int, random_share: float, devset: Path = REAL_DEVSET,
           segmenter: Segmenter | None = None, progress: bool = True) -> list[Sampled]:
    """Up to ``per_document`` unlabelled passages of each document, at least ``random_share`` of them uniformly at
    random, the rest near the taxonomy; shuffled so that neither document nor reason shows in the order.

    Each document draws from its own generator (seed and file name), so adding a document leaves the others'
    samples as they were.
    """
    if not MIN_RANDOM_SHARE <= random_share <= 1:
        raise LabellingError(f"--random-share must be between {MIN_RANDOM_SHARE} and 1, not {random_share}")
    if per_document < 1:
        raise LabellingError(f"--per-document must be at least 1, not {per_document}")
    for path in documents:
        refuse_held_out(path)
    if segmenter is None:
        from pipeline.passages.segment import Segmenter

        segmenter = Segmenter()
    done = labelled_keys(devset)
    entry_vectors = encoder.encode([e.text for e in taxonomy.entries])
    weights = np.array([FAILURE_WEIGHT if e.is_failure else 1.0 for e in taxonomy.entries], dtype=np.float32)
    chosen: list[Sampled] = []
    with Progress("sampling", len(documents), enabled=progress) as bar:
        for path in documents:
            file = path.resolve().relative_to(shared.resolve()).as_posix()
            try:
                candidates = _unlabelled(path, file, segmenter, done)
            except DocumentError as e:
                print(f"skipped {file}: {e}", file=sys.stderr)
            else:
                rng = random.Random(f"{seed}:{file}")
                chosen += choose_in_document(candidates, rng, per_document, random_share,
                                  lambda texts: (encoder.encode(texts) @ entry_vectors.T * weights).max(axis=1))
            bar.advance(file)
    random.Random(seed).shuffle(chosen)
    return chosen


def _unlabelled(path: Path, file: str, segmenter: Segmenter, done: set[tuple[str, int, int]]) -> list[Sampled]:
    from pipeline.extract import extract_document

    document = extract_document(path)
    return [Sampled(passage_gid(file, p.start, p.end), "unchosen", file, document.sha256, p.page, p.start, p.end,
                    p.text, text_sha256(p.text), p.heading)
            for p in segmenter.passages(document) if (file, p.start, p.end) not in done]


def choose_in_document(candidates: list[Sampled], rng: random.Random, per_document: int, random_share: float,
            closeness: Callable[[list[str]], np.ndarray]) -> list[Sampled]:
    """One document's sample: the random share first, then half the rest by keywords, then by embedding."""
    at_random, near = quota(len(candidates), per_document, random_share)
    picked = {i: "random" for i in rng.sample(range(len(candidates)), at_random)}
    hits = [i for i, c in enumerate(candidates) if i not in picked and NEAR_WORDS.search(c.text)]
    rng.shuffle(hits)
    picked |= {i: "near:keywords" for i in hits[:near // 2]}
    rest = [i for i in range(len(candidates)) if i not in picked]
    wanted = at_random + near - len(picked)
    if wanted and rest:
        scores = closeness([candidates[i].text for i in rest])  # one encode call per document
        order = sorted(range(len(rest)), key=lambda j: (-float(scores[j]), rest[j]))
        picked |= {rest[j]: "near:embedding" for j in order[:wanted]}
    return [replace(candidates[i], sampled=how) for i, how in sorted(picked.items())]


def write_batch(out: Path, chosen: Sequence[Sampled]) -> None:
    """``passages.jsonl`` (everything, for the batch's own steps) and ``to-label.jsonl`` (for the labellers)."""
    check_new_batch_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl((vars(s) for s in chosen), out / "passages.jsonl")
    write_jsonl((s.for_labeller() for s in chosen), out / "to-label.jsonl")


# -- labels ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    theme: str | None
    polarity: str | None
    entries: tuple[str, ...]
    confidence: str
    why: str

    def as_record(self) -> dict:
        return {"theme": self.theme, "polarity": self.polarity, "entries": list(self.entries),
                "confidence": self.confidence, "why": self.why}

    def answer(self) -> Answer:
        """The label in the terms the cross-validation's metrics count."""
        return Answer.of_label(self.theme, self.polarity, self.entries)


def read_passages(batch: Path) -> dict[str, dict]:
    path = batch / "passages.jsonl"
    if not path.is_file():
        raise LabellingError(f"{path} not found: run `sample` into {batch} first")
    lines = path.read_text(encoding="utf-8").splitlines()
    return {r["gid"]: r for _, _, r in json_objects(lines, f"{path} line {{}}".format, LabellingError)}


def read_labels(path: Path, passages: dict[str, dict], taxonomy: Taxonomy) -> dict[str, Label]:
    """One label per gid of ``passages``, each checked against LABELLING.md and the taxonomy; a bad line is an
    error naming the file and the line."""
    if not path.is_file():
        raise LabellingError(f"{path} not found")
    themes = {t.id for t in taxonomy.themes}
    entry_ids = {e.id for e in taxonomy.entries}
    labels: dict[str, Label] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for _, where, raw in json_objects(lines, f"{path} line {{}}".format, LabellingError):
        gid, theme, polarity = raw.get("gid"), raw.get("theme"), raw.get("polarity")
        entries, confidence = raw.get("entries", []), raw.get("confidence")
        if gid not in passages:
            raise LabellingError(f"{where}: gid {gid!r} is not a passage of this batch")
        if gid in labels:
            raise LabellingError(f"{where}: gid {gid!r} is labelled twice")
        if theme is not None and theme not in themes:
            raise LabellingError(f"{where}: 'theme' must be one of {', '.join(sorted(themes))} or null, not {theme!r}")
        if polarity is not None and polarity not in POLARITIES:
            raise LabellingError(f"{where}: 'polarity' must be one of {', '.join(POLARITIES)} or null, "
                                 f"not {polarity!r}")
        if (theme is None) != (polarity is None):
            raise LabellingError(f"{where}: 'polarity' must be null exactly when 'theme' is null")
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES or not all(e in entry_ids for e in entries):
            raise LabellingError(f"{where}: 'entries' must be a list of at most {MAX_ENTRIES} entry ids of "
                                 f"{taxonomy.id}, not {entries!r}")
        if confidence not in CONFIDENCES:
            raise LabellingError(f"{where}: 'confidence' must be one of {', '.join(CONFIDENCES)}, not {confidence!r}")
        labels[gid] = Label(theme, polarity, tuple(entries), confidence, str(raw.get("why", "")))
    return labels


# -- agree -------------------------------------------------------------------------------------------------------

# The questions agreement is measured on, each a view of one label.
QUESTIONS: dict[str, Callable[[Label], Hashable]] = {
    "theme": lambda label: label.theme,
    "is-evidence": lambda label: label.theme is not None,
    "is-failure": lambda label: label.polarity == "failure",
    "polarity": lambda label: label.polarity,
}


@dataclass(frozen=True)
class Yardstick:
    """The second labeller scored against the first as gold by the real-text cross-validation's own metrics
    (``evaluate.compare``: flag F1, theme macro-F1 over the classes with enough of the first labeller's passages,
    entry recall@5, evidence F1), so the labellers' agreement and the model's scores are figures of one kind."""

    scores: EvaluationReport
    failures: tuple[int, int]  # passages each labeller called a failure
    evidence: tuple[int, int]  # passages each labeller gave a theme
    with_entries: int  # passages the first labeller gave entries

    @classmethod
    def of(cls, first: Sequence[Label], second: Sequence[Label], themes: Sequence[str]) -> Yardstick:
        gold, predicted = [a.answer() for a in first], [b.answer() for b in second]
        return cls(compare(gold, predicted, themes),
                   (sum(a.failure for a in gold), sum(b.failure for b in predicted)),
                   (sum(a.theme is not None for a in gold), sum(b.theme is not None for b in predicted)),
                   sum(bool(a.entries) for a in gold))

    def cells(self) -> dict[str, str]:
        """Each metric as a report shows it, "undefined" where it is, with the counts it rests on."""
        a, b = LABELLERS
        s = self.scores
        macro = f"over {', '.join(s.macro_classes)}" if s.macro_classes else \
            f"no class has {MIN_MACRO_SUPPORT} of {a}'s passages"
        return {
            "passages": str(s.passages),
            "failure flag F1": f"{_shown(s.failure_flag_f1)} (failures: {a} {self.failures[0]}, "
                               f"{b} {self.failures[1]})",
            "theme macro-F1": f"{_shown(s.theme_macro_f1)} ({macro})",
            "entry recall@5": f"{_shown(s.entry_recall_at_5)} ({a} gave entries to {self.with_entries})",
            "evidence F1": f"{_shown(s.evidence_f1)} (evidence: {a} {self.evidence[0]}, {b} {self.evidence[1]})",
        }


def _shown(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def yardstick_table(columns: dict[str, Yardstick]) -> list[str]:
    """A Markdown table: a row per metric, a column per batch (or per pooling of batches)."""
    cells = {name: y.cells() for name, y in columns.items()}
    metrics = list(next(iter(cells.values())))
    return [f"| metric | {' | '.join(columns)} |", "|---" * (len(columns) + 1) + "|",
            *(f"| {m} | {' | '.join(c[m] for c in cells.values())} |" for m in metrics)]


def agrees(a: Label, b: Label) -> bool:
    """Two labels agree when theme and polarity do; entries and confidence are merged, not adjudicated."""
    return (a.theme, a.polarity) == (b.theme, b.polarity)


@dataclass(frozen=True)
class Agreement:
    passages: int
    both: list[str]  # gids labelled by both labellers, in the batch's order
    only: dict[str, int]  # labeller -> passages only they labelled
    kappas: dict[str, tuple[float | None, float]]  # question -> (kappa, raw agreement)
    disagreements: list[str]
    yardstick: Yardstick  # over the passages both labelled

    def report(self, name: str) -> str:
        lines = [f"# Agreement: batch {name}", "",
                 f"{self.passages} passages; labelled by both: {len(self.both)}"
                 + "".join(f"; by {who} only: {n}" for who, n in self.only.items() if n), "",
                 "| question | Cohen's kappa | raw agreement |", "|---|---|---|"]
        for question, (kappa, raw) in self.kappas.items():
            shown = "undefined (one answer throughout)" if kappa is None else f"{kappa:.2f}"
            lines.append(f"| {question} | {shown} | {raw:.2f} |")
        lines += ["", f"agreed on theme and polarity: {len(self.both) - len(self.disagreements)}; "
                      f"to adjudicate: {len(self.disagreements)}", "",
                  f"{LABELLERS[1]} scored against {LABELLERS[0]} as gold, by the metrics of the real-text "
                  "cross-validation (pipeline/training/evaluate.py):", "",
                  *yardstick_table({f"{LABELLERS[1]} against {LABELLERS[0]}": self.yardstick})]
        return "\n".join(lines) + "\n"


def measure_agreement(passages: dict[str, dict], first: dict[str, Label], second: dict[str, Label],
                      themes: Sequence[str]) -> Agreement:
    """Kappas and the yardstick's metrics over the passages both labelled; ``themes`` orders the theme classes."""
    both, disagreements = labelled_by_both(passages, first, second)
    answers = {q: ([view(first[g]) for g in both], [view(second[g]) for g in both]) for q, view in QUESTIONS.items()}
    kappas = {q: (cohen_kappa(*pair), raw_agreement(*pair)) for q, pair in answers.items()}
    only = {LABELLERS[0]: sum(g in first and g not in second for g in passages),
            LABELLERS[1]: sum(g in second and g not in first for g in passages)}
    return Agreement(len(passages), both, only, kappas, disagreements,
                     Yardstick.of([first[g] for g in both], [second[g] for g in both], themes))


def labelled_by_both(passages: dict[str, dict], first: dict[str, Label], second: dict[str, Label]
                     ) -> tuple[list[str], list[str]]:
    """The passages both labellers labelled, in the batch's order, and those of them they disagree on."""
    both = [g for g in passages if g in first and g in second]
    if not both:
        raise LabellingError("no passage is labelled by both labellers: nothing to measure")
    return both, [g for g in both if not agrees(first[g], second[g])]


def pooled_yardsticks(batches: Sequence[Path], taxonomy: Taxonomy) -> dict[str, Yardstick]:
    """Each batch's yardstick and, when there are several, the one over all their passages pooled (not the
    batches' figures averaged: a batch with few evidence passages would weigh as much as a large one)."""
    themes = taxonomy.theme_ids
    columns: dict[str, Yardstick] = {}
    pooled: tuple[list[Label], list[Label]] = ([], [])
    for batch in batches:
        if batch.name in columns:
            raise LabellingError(f"{batch}: a batch named {batch.name} is given twice; its passages would count "
                                 "twice in the pooled figures")
        passages, first, second = read_both(batch, taxonomy)
        try:
            agreement = measure_agreement(passages, first, second, themes)
        except LabellingError as e:
            raise LabellingError(f"{batch}: {e}") from e
        columns[batch.name] = agreement.yardstick
        pooled[0].extend(first[g] for g in agreement.both)
        pooled[1].extend(second[g] for g in agreement.both)
    if len(batches) > 1:
        columns["pooled"] = Yardstick.of(*pooled, themes)
    return columns


def read_both(batch: Path, taxonomy: Taxonomy) -> tuple[dict[str, dict], dict[str, Label], dict[str, Label]]:
    passages = read_passages(batch)
    first, second = (read_labels(batch / f"labels-{who}.jsonl", passages, taxonomy) for who in LABELLERS)
    return passages, first, second


def agree(batch: Path, taxonomy: Taxonomy) -> Agreement:
    """Measure agreement, write ``agreement.md`` and the disagreements (with both labels) to ``to-adjudicate.jsonl``."""
    passages, first, second = read_both(batch, taxonomy)
    agreement = measure_agreement(passages, first, second, taxonomy.theme_ids)
    (batch / "agreement.md").write_text(agreement.report(batch.name), encoding="utf-8")
    write_jsonl(({"gid": g, "document": Path(passages[g]["file"]).name, "page": passages[g]["page"],
                  "heading": passages[g]["heading"], "text": passages[g]["text"],
                  "label_1": first[g].as_record(), "label_2": second[g].as_record()}
                 for g in agreement.disagreements), batch / "to-adjudicate.jsonl")
    return agreement


# -- rows --------------------------------------------------------------------------------------------------------

def merged_entries(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """The entries both labellers gave, else all either gave (the first labeller's first), at most three."""
    common = [e for e in a if e in b]
    return (common or [*a, *(e for e in b if e not in a)])[:MAX_ENTRIES]


def build_rows(batch: Path, taxonomy: Taxonomy) -> list[dict]:
    """Rows in ``corpus/devset/real.jsonl``'s format (reference, labels, agreement, text hash; no text) for every
    passage both labellers labelled: merged where they agree, the adjudicator's label where they do not."""
    passages, first, second = read_both(batch, taxonomy)
    both, disagreements = labelled_by_both(passages, first, second)
    adjudicated_path = batch / "adjudicated.jsonl"
    adjudicated = read_labels(adjudicated_path, passages, taxonomy) if adjudicated_path.is_file() else {}
    to_adjudicate = set(disagreements)
    missing = [g for g in disagreements if g not in adjudicated]
    if missing:
        raise LabellingError(f"{len(missing)} disagreement(s) have no label in {adjudicated_path}: "
                             + ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else ""))
    extra = [g for g in adjudicated if g not in to_adjudicate]
    if extra:
        raise LabellingError(f"{adjudicated_path} labels {len(extra)} passage(s) the labellers agreed on or did not "
                             f"both label: {', '.join(extra[:5])}")
    rows = []
    for gid in both:
        if gid in to_adjudicate:
            label, how = adjudicated[gid], "adjudicated"
        else:
            a, b = first[gid], second[gid]
            confidence = "low" if "low" in (a.confidence, b.confidence) else "high"
            label, how = Label(a.theme, a.polarity, tuple(merged_entries(a.entries, b.entries)), confidence, ""), \
                "agreed"
        p = passages[gid]
        rows.append({"gid": gid, "file": p["file"], "sha256": p["sha256"], "page": p["page"], "start": p["start"],
                     "end": p["end"], "sampled": p["sampled"], "theme": label.theme, "polarity": label.polarity,
                     "entries": list(label.entries), "confidence": label.confidence, "agreement": how,
                     "text_sha256": p["text_sha256"]})
    return rows


def append_rows(rows: Sequence[dict], devset: Path) -> int:
    """Append the rows whose (file, start, end) the development set does not hold yet; how many were appended."""
    done = labelled_keys(devset)
    new = [r for r in rows if (r["file"], r["start"], r["end"]) not in done]
    existing = devset.read_text(encoding="utf-8") if devset.is_file() else ""
    with devset.open("a", encoding="utf-8") as fh:
        if existing and not existing.endswith("\n"):
            fh.write("\n")
        return write_jsonl(new, fh)


# -- command line ------------------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.training.labelling", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sampling = commands.add_parser("sample", help="sample unlabelled passages of the development documents")
    sampling.add_argument("--out", type=Path, required=True, help="the batch folder (outside the repository)")
    sampling.add_argument("--seed", type=int, required=True)
    sampling.add_argument("--per-document", type=int, required=True, metavar="K",
                          help="at most K passages of each document")
    sampling.add_argument("--random-share", type=float, default=0.6,
                          help=f"the share of each document's sample drawn uniformly at random (at least "
                               f"{MIN_RANDOM_SHARE}; default 0.6)")
    sampling.add_argument("--documents", type=Path, nargs="+", default=None, metavar="PATH",
                          help="documents or folders under the shared folder (default: " + ", ".join(SOURCES) + ")")
    sampling.add_argument("--shared", type=Path, default=SHARED_DIR,
                          help=f"the shared documents (default {SHARED_DIR}, or TRIAGE_SHARED_DIR)")
    sampling.add_argument("--devset", type=Path, default=REAL_DEVSET, help="the rows already labelled")
    agreeing = commands.add_parser("agree", help="Cohen's kappa of labels-A and labels-B, and B scored against A by "
                                   "the cross-validation's metrics; the disagreements")
    agreeing.add_argument("batch", type=Path)
    measuring = commands.add_parser("yardstick", help="labeller B scored against labeller A by the "
                                    "cross-validation's metrics, per batch and over the batches' passages pooled; "
                                    "writes nothing")
    measuring.add_argument("batches", type=Path, nargs="+", metavar="batch")
    rowing = commands.add_parser("rows", help="the agreed and adjudicated labels as rows.jsonl")
    rowing.add_argument("batch", type=Path)
    rowing.add_argument("--append", action="store_true", help="also append the new rows to --devset")
    rowing.add_argument("--devset", type=Path, default=REAL_DEVSET)
    args = parser.parse_args(argv)

    from pipeline.taxonomy import load_taxonomy

    try:
        if args.command == "sample":
            return _sample(args)
        taxonomy = load_taxonomy()
        if args.command == "agree":
            print(agree(args.batch, taxonomy).report(args.batch.name), end="")
            print(f"wrote {args.batch / 'agreement.md'} and {args.batch / 'to-adjudicate.jsonl'}")
            return 0
        if args.command == "yardstick":
            print(f"{LABELLERS[1]} scored against {LABELLERS[0]} as gold, over the passages both labelled:\n")
            print("\n".join(yardstick_table(pooled_yardsticks(args.batches, taxonomy))))
            return 0
        rows = build_rows(args.batch, taxonomy)
        write_jsonl(rows, args.batch / "rows.jsonl")
        print(f"wrote {len(rows)} rows to {args.batch / 'rows.jsonl'}: "
              + ", ".join(f"{n} {how}" for how, n in Counter(r["agreement"] for r in rows).items()))
        if args.append:
            appended = append_rows(rows, args.devset)
            print(f"appended {appended} to {args.devset} ({len(rows) - appended} were there already)")
        return 0
    except LabellingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _sample(args: argparse.Namespace) -> int:
    from pipeline.embed import load_encoder
    from pipeline.settings import configure_environment
    from pipeline.taxonomy import load_taxonomy

    check_new_batch_folder(args.out)
    documents = checked_documents(args.documents, args.shared) if args.documents else \
        development_documents(args.shared)
    if not documents:
        raise LabellingError(f"no documents to sample under {args.shared}")
    configure_environment()
    chosen = sample(documents, args.shared, load_encoder(), load_taxonomy(), seed=args.seed,
                    per_document=args.per_document, random_share=args.random_share, devset=args.devset)
    write_batch(args.out, chosen)
    reasons = Counter(s.sampled for s in chosen)
    print(f"wrote {len(chosen)} passages of {len({s.file for s in chosen})} documents to {args.out} "
          f"(passages.jsonl, to-label.jsonl): " + ", ".join(f"{n} {how}" for how, n in sorted(reasons.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
