"""Ingestion: documents read, extracted, segmented, embedded, classified and stored, in batches.

Work already done is skipped by the database: a document is extracted once per
extractor version (keyed by the sha256 of its bytes) and classified once per classifier
id; embeddings are cached by (model, text), so a changed document re-embeds only its
changed passages and a new classifier re-classifies from the cache. The model is loaded
only when something needs embedding or classifying.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

import numpy as np

from pipeline.classify import load_classifier
from pipeline.classify.base import VectorClassifier
from pipeline.classify.registry import registry_for
from pipeline.collect.blobs import BlobStore
from pipeline.domain import (
    Authority,
    DocumentMetadata,
    DocumentSource,
    DocumentState,
    ExtractedDocument,
    Passage,
    PassageContext,
    Prediction,
)
from pipeline.embed import Encoder, load_encoder
from pipeline.errors import RETRIED, DocumentError, FailureReason
from pipeline.extract import EXTRACTOR_VERSION, extract_bytes
from pipeline.extract.limits import DEFAULT_LIMITS, Limits
from pipeline.extract.metadata import guess_metadata
from pipeline.extract.ocr import ocr_available
from pipeline.feed.events import sync_events
from pipeline.ids import sha256_bytes, text_key, vector_key
from pipeline.passages.segment import Segmenter
from pipeline.paths import path_text
from pipeline.progress import Progress
from pipeline.store import Store
from pipeline.store.lock import run_lock
from pipeline.taxonomy import Crosswalk, load_crosswalk, load_taxonomy
from pipeline.terminal import printable
from pipeline.timing import (
    CLASSIFICATION,
    ENCODING,
    EXTRACTION,
    PLANNING,
    READING,
    SEGMENTATION,
    SUMMARY,
    WAITING,
    WRITES,
    Budget,
)

BATCH_PASSAGES = 256  # embed this many passages across documents in one call
SETTLED = ("done", "failed")
REPEATED_MIN_DOCUMENTS = 4  # a short passage in this many documents of one authority is template text
REPEATED_MAX_WORDS = 60


class Outcome(StrEnum):
    STORED = "stored"
    RECLASSIFIED = "reclassified"  # passages already stored; classified anew from cached embeddings
    SKIPPED = "skipped"  # already stored by this extractor and classifier
    FAILED = "failed"


@dataclass(frozen=True)
class DocumentResult:
    """What a run did with one document; every outcome knows the document's hash, read before anything else."""

    path: str
    authority: str
    outcome: Outcome
    sha256: str
    passages: int = 0
    evidence: int = 0
    flagged: int = 0
    embedded: int = 0  # texts sent to the model (cache misses)
    reason: str | None = None
    message: str | None = None


@dataclass
class Prepared:
    """A document read, extracted and segmented without the database: picklable, so it can be
    made in another process or on another machine (a Dask worker)."""

    source: DocumentSource
    sha: str
    document: ExtractedDocument | None = None
    passages: list[Passage] = field(default_factory=list)
    metadata: DocumentMetadata | None = None
    error_reason: str | None = None
    error: str | None = None
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # made where it was prepared, by vector_key
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase where it was prepared


def read_source(source: DocumentSource, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A document's bytes, within the size limit and, for a document found in a folder, from inside it:
    a symbolic link is not followed and a path that resolves outside the folder is refused."""
    name = path_text(source.path.name)
    try:
        if source.folder is not None:
            if source.path.is_symlink():
                raise DocumentError(f"{name} is a symbolic link; links inside a folder are not followed",
                                    reason=FailureReason.SYMLINK)
            if not source.path.resolve().is_relative_to(source.folder.resolve()):
                raise DocumentError(f"{name} resolves outside the folder given", reason=FailureReason.OUTSIDE_FOLDER)
        size = source.path.stat().st_size
        if size > limits.max_bytes:
            raise DocumentError(f"file is {size:,} bytes; the limit is {limits.max_bytes:,}",
                                reason=FailureReason.TOO_LARGE)
        return source.path.read_bytes()
    except OSError as e:
        raise DocumentError(f"cannot read {name}: {e.strerror}", reason=FailureReason.UNREADABLE) from e


def path_key(source: DocumentSource) -> str:
    """The id of a document whose bytes cannot be read: the sha256 of its path."""
    return sha256_bytes(path_text(source.path).encode())


def _worth_retrying(reason: str | None) -> bool:
    """A failure that may not happen again with the same bytes: a transient one, or a scanned document
    now that OCR is available."""
    return reason in RETRIED or (reason == FailureReason.NEEDS_OCR and ocr_available())


@cache
def process_segmenter() -> Segmenter:
    """One segmenter per process: spaCy and the tokenizer load once, not per document."""
    return Segmenter()


@cache
def process_encoder() -> Encoder:
    """One encoder per worker process, for preparation that embeds too (see ``prepare``)."""
    return load_encoder()


def prepare(source: DocumentSource, limits: Limits = DEFAULT_LIMITS, segmenter: Segmenter | None = None,
            encoder: Encoder | None = None) -> Prepared:
    """Read, extract, segment and guess metadata; a bad document comes back with its reason.

    With an encoder the passages are embedded here too, so that a cluster's workers share the
    model's work and the single writer only classifies and stores (the int8 encoder gives a text
    the same vector wherever and with whatever it is encoded).
    """
    clock = Budget()
    try:
        with clock.phase(READING):
            data = read_source(source, limits)
            sha = sha256_bytes(data)
    except DocumentError as e:
        return Prepared(source, path_key(source), error_reason=e.reason, error=str(e), timings=clock.seconds)
    try:
        with clock.phase(EXTRACTION):
            document = extract_bytes(data, source.path.name, limits)
    except DocumentError as e:
        return Prepared(source, sha, error_reason=e.reason, error=str(e), timings=clock.seconds)
    with clock.phase(SEGMENTATION):
        passages = (segmenter or process_segmenter()).passages(document)
        metadata = guess_metadata(document, source.path.name)
    if len(passages) > limits.max_passages:
        return Prepared(source, sha, error_reason=FailureReason.TOO_LARGE,
                        error=f"document has {len(passages):,} passages; the limit is {limits.max_passages:,}",
                        timings=clock.seconds)
    prepared = Prepared(source, sha, document, passages, metadata, timings=clock.seconds)
    if encoder is not None:
        with clock.phase(ENCODING):
            texts = list(dict.fromkeys(x.text for x in passages if not x.boilerplate))
            prepared.vectors = dict(zip((vector_key(encoder.model_id, t) for t in texts), encoder.encode(texts),
                                        strict=True))
    return prepared


def passage_context(prepared: Prepared, passage: Passage) -> PassageContext | None:
    """Where the passage stands: the document's kind and title (manifest first, else guessed) and the passage's
    heading path."""
    guessed = prepared.metadata
    kind = prepared.source.kind or (guessed.kind.value if guessed else None)
    title = prepared.source.title or (guessed.title.value if guessed else None)
    return PassageContext.of(kind, passage.heading, title)


@dataclass
class Ingestor:
    """Stores documents with one classifier. The classifier's encoder loads its weights only when
    something must be embedded, so a re-run of an unchanged corpus never imports torch."""

    store: Store
    segmenter: Segmenter | None  # None: the process's own, loaded when a document is first extracted
    classifier: VectorClassifier
    limits: Limits = DEFAULT_LIMITS
    crosswalk: Crosswalk = field(default_factory=dict)  # decisions under older taxonomy versions
    budget: Budget = field(default_factory=Budget)  # where this process's time goes
    classifier_id: str = field(init=False)
    taxonomy_id: str = field(init=False)
    model_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.classifier_id = self.classifier.id
        self.taxonomy_id = self.classifier.taxonomy.id
        self.model_id = self.classifier.encoder.model_id

    def settle(self, source: DocumentSource) -> tuple[DocumentState, str, DocumentError | None]:
        """What a document needs, without changing anything; its sha256; the read error (``unreadable``)."""
        try:
            sha = sha256_bytes(read_source(source, self.limits))
        except DocumentError as e:
            return "unreadable", path_key(source), e  # no bytes: key by path
        state = self.store.document_state(sha, EXTRACTOR_VERSION, self.classifier_id)
        if state is DocumentState.FAILED and _worth_retrying(self.store.failure(sha).reason):
            state = DocumentState.NEW
        return state, sha, None

    def plan(self, source: DocumentSource) -> tuple[DocumentState, DocumentResult | None]:
        """Settle what is already done, and do the cheap part: (NEW, None) means extract it."""
        state, sha, error = self.settle(source)
        if error is not None:
            return DocumentState.FAILED, self._fail(source, sha, error)
        if state in SETTLED:
            return state, self.skip(source, sha, state)
        if state is DocumentState.EXTRACTED:
            return state, self._reclassify(source, sha)
        return DocumentState.NEW, None

    def skip(self, source: DocumentSource, sha: str, state: DocumentState) -> DocumentResult:
        """A document with nothing to do: seen again, and reported as it stands."""
        self.store.touch(sha)
        if state is DocumentState.FAILED:
            failure = self.store.failure(sha)
            return DocumentResult(path_text(source.path), source.authority, Outcome.FAILED, sha,
                                  reason=failure.reason, message=failure.message)
        return DocumentResult(path_text(source.path), source.authority, Outcome.SKIPPED, sha)

    def process(self, source: DocumentSource) -> DocumentResult:
        """One document end to end, in this process."""
        _, result = self.plan(source)
        if result is not None:
            return result
        return self.store_prepared([prepare(source, self.limits, self.segmenter or process_segmenter())])[0]

    def _keep_copy(self, prepared: Prepared) -> None:
        """The document's bytes into the blob store beside the database, before its row (the review app serves
        documents from there only). Bytes that no longer hash to the document's id (the file changed since it
        was read) are not kept under it."""
        blobs = BlobStore(self.store.path.parent / "blobs")
        try:
            if not blobs.path(prepared.sha).is_file():
                data = prepared.source.path.read_bytes()
                if sha256_bytes(data) == prepared.sha:
                    blobs.put(data)
        except OSError:
            return  # no stored copy: the review app says so; the document itself is unaffected

    def store_prepared(self, batch: list[Prepared]) -> list[DocumentResult]:
        """Embed a batch of documents' passages together (one sorted encode call, one scoring
        product), then write each document in its own transaction."""
        ready = [p for p in batch if p.document is not None]
        with self.budget.phase(WRITES):  # reads that decide what is written
            repeated = {id(p): self._mark_repeated(p.source.authority, p.sha, p.passages) for p in ready}
            evidence = {id(p): [x for x in p.passages if not x.boilerplate] for p in ready}
            texts = [x.text for p in ready for x in evidence[id(p)]]
            vectors, new_vectors = self._vectors(texts, {k: v for p in ready for k, v in p.vectors.items()})
        with self.budget.phase(CLASSIFICATION):
            contexts = [passage_context(p, x) for p in ready for x in evidence[id(p)]]
            predictions = self.classifier.predict_vectors(vectors, texts=texts, contexts=contexts) if texts else []
        with self.budget.phase(WRITES):
            return self._write(batch, evidence, repeated, predictions, new_vectors)

    def _write(self, batch: list[Prepared], evidence: dict[int, list[Passage]], repeated: dict[int, list[str]],
               predictions: list[Prediction], new_vectors: dict[str, np.ndarray]) -> list[DocumentResult]:
        """Each document of a classified batch in its own transaction."""
        results: list[DocumentResult] = []
        offset = 0
        for prepared in batch:
            if prepared.document is None:
                results.append(self._fail(prepared.source, prepared.sha,
                                          DocumentError(prepared.error or "unreadable", reason=prepared.error_reason)))
                continue
            mine = evidence[id(prepared)]
            own = predictions[offset:offset + len(mine)]
            offset += len(mine)
            keys = {vector_key(self.model_id, x.text) for x in mine}
            self._keep_copy(prepared)
            with self.store.transaction():
                if repeated[id(prepared)]:
                    self.store.mark_repeated(prepared.source.authority, repeated[id(prepared)])
                self.store.save_document(prepared.source, prepared.document, prepared.metadata, prepared.passages,
                                         EXTRACTOR_VERSION, {k: v for k, v in new_vectors.items() if k in keys},
                                         self.model_id)
                counts = self.store.save_classification(
                    prepared.sha, self.classifier_id, self.taxonomy_id,
                    dict(zip([x.id for x in mine], own, strict=True)), self.model_id, {}, self.crosswalk)
            embedded = len(keys & new_vectors.keys())
            results.append(DocumentResult(path_text(prepared.source.path), prepared.source.authority, Outcome.STORED,
                                          prepared.sha, len(prepared.passages), counts.evidence, counts.flagged,
                                          embedded))
            new_vectors = {k: v for k, v in new_vectors.items() if k not in keys}  # count each once
        return results

    def _reclassify(self, source: DocumentSource, sha: str) -> DocumentResult:
        stored = self.store.stored_passages(sha)
        texts = [p.text for p in stored]
        vectors, new_vectors = self._vectors(texts)
        predictions = (self.classifier.predict_vectors(vectors, texts=texts, contexts=[p.context() for p in stored])
                       if texts else [])
        counts = self.store.save_classification(
            sha, self.classifier_id, self.taxonomy_id,
            dict(zip([p.id for p in stored], predictions, strict=True)), self.model_id, new_vectors,
            self.crosswalk)
        self.store.touch(sha)
        return DocumentResult(path_text(source.path), source.authority, Outcome.RECLASSIFIED, sha, len(stored),
                              counts.evidence, counts.flagged, len(new_vectors))

    def _vectors(self, texts: list[str], provided: dict[str, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Vectors for the texts in order, and the ones not cached yet: ``provided`` by preparation, or
        computed here."""
        keys = [vector_key(self.model_id, t) for t in texts]
        known = self.store.cached_vectors(self.model_id, texts)
        new = {key: (provided or {})[key] for key in keys if key not in known and key in (provided or {})}
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in known and key not in new}
        if missing:
            encoded = self.classifier.encoder.encode(list(missing.values()))
            new.update(zip(missing, encoded, strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32), new
        return np.vstack([known.get(key, new.get(key)) for key in keys]), new

    def _mark_repeated(self, authority: str, sha: str, passages: list[Passage]) -> list[str]:
        """Mark short passages repeated across this authority's documents as template text; return
        their text keys so earlier copies are marked too."""
        candidates = {text_key(p.text): p for p in passages
                      if not p.boilerplate and len(p.text.split()) <= REPEATED_MAX_WORDS}
        counts = self.store.documents_with_texts(authority, list(candidates), exclude=sha) if candidates else {}
        repeated = [key for key in candidates if counts.get(key, 0) + 1 >= REPEATED_MIN_DOCUMENTS]
        for key in repeated:
            candidates[key].boilerplate, candidates[key].boilerplate_reason = True, "repeated"
        return repeated

    def _fail(self, source: DocumentSource, sha: str, error: DocumentError) -> DocumentResult:
        self.store.record_failure(source, sha, error.reason, str(error),
                                  EXTRACTOR_VERSION if error.reason not in RETRIED else None)
        return DocumentResult(path_text(source.path), source.authority, Outcome.FAILED, sha, reason=error.reason,
                              message=str(error))


@dataclass
class RunSummary:
    run_id: int
    documents: int
    outcomes: dict[str, int]
    passages: int
    evidence: int
    embedded: int  # texts sent to the model; 0 when everything came from the cache
    failures: list[dict[str, str | None]] = field(default_factory=list)
    ocr: list[str] = field(default_factory=list)  # documents read (partly) by OCR
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds of this process per phase
    worker_seconds: dict[str, float] = field(default_factory=dict)  # busy seconds of the workers per phase

    def markdown(self) -> str:
        """The run as a short markdown report: counts, documents read by OCR, failures with reasons."""
        lines = [f"# Ingest run {self.run_id}", "",
                 f"{self.documents} documents: " + ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())),
                 f"{self.passages} passages, {self.evidence} evidence links, {self.embedded} texts embedded", ""]
        if self.ocr:
            lines += ["Read by OCR: " + ", ".join(Path(p).name for p in self.ocr), ""]
        if self.failures:
            lines += ["| document | reason | message |", "|---|---|---|"]
            lines += [f"| {Path(f['path'] or '').name} | {f['reason']} | {f['message']} |" for f in self.failures]
        return "\n".join(lines)


def summarise_run(run_id: int, results: list[DocumentResult], store: Store, budget: Budget | None = None,
                  workers: Budget | None = None) -> RunSummary:
    ocr = store.ocr_paths([r.sha256 for r in results if r.sha256 and r.outcome is not Outcome.FAILED])
    return RunSummary(
        run_id=run_id,
        documents=len(results),
        outcomes=dict(Counter(str(r.outcome) for r in results)),
        passages=sum(r.passages for r in results),
        evidence=sum(r.evidence for r in results),
        embedded=sum(r.embedded for r in results),
        failures=[{"path": r.path, "reason": r.reason, "message": r.message}
                  for r in results if r.outcome is Outcome.FAILED],
        ocr=ocr,
        timings=budget.as_dict() if budget else {},
        worker_seconds=workers.as_dict() if workers else {},
    )


def settled_run(sources: list[DocumentSource], authorities: list[Authority], db: Path, taxonomy_id: str,
                parameters: dict[str, object]) -> tuple[RunSummary | None, list[DocumentSource]]:
    """Record a run over documents that are all done (or failed for good) under the current extractor and
    classifier, without the flow; else record nothing and say which documents need preparing (so a
    run can start them while Prefect starts).

    Such a run reads and hashes the files and nothing else, so it need not pay for starting Prefect's
    ephemeral server (about 10 s, more than the rest of a re-run).
    """
    from pipeline import __version__

    if not db.exists():
        return None, list(sources)
    with run_lock(db), Store(db) as store:
        ingestor = Ingestor(store, None, load_classifier(load_encoder(), taxonomy_id, registry=registry_for(db)))
        states = [ingestor.settle(source) for source in sources]
        if any(state not in SETTLED for state, _, _ in states):
            return None, [source for source, (state, _, _) in zip(sources, states, strict=True)
                          if state is DocumentState.NEW]
        store.upsert_authorities(authorities)
        run_id = store.start_run("ingest", parameters, __version__, ingestor.model_id, ingestor.classifier_id)
        results = [ingestor.skip(source, sha, state) for source, (state, sha, _) in zip(sources, states, strict=True)]
        summary = summarise_run(run_id, results, store)
        store.finish_run(run_id, "completed", asdict(summary))
    return summary, []


PrepareMany = Callable[[list[DocumentSource]], Iterable[Prepared]]
"""Prepares documents (somewhere) and yields them back one each, in the order given."""
StoreBatch = Callable[["Ingestor", list[Prepared], int], list[DocumentResult]]


def prepare_here(sources: list[DocumentSource]) -> Iterator[Prepared]:
    """Preparation in this process, one document after another."""
    return (prepare(source) for source in sources)


def store_here(ingestor: Ingestor, batch: list[Prepared], batch_number: int) -> list[DocumentResult]:
    """Storing in this process, the single writer."""
    return ingestor.store_prepared(batch)


def ingest_sources(sources: list[DocumentSource], authorities: list[Authority], db: str | Path, taxonomy: str, *,
                   flow_name: str, parameters: dict[str, object], prepare_many: PrepareMany = prepare_here,
                   store_batch: StoreBatch = store_here, progress: bool = False,
                   budget: Budget | None = None) -> RunSummary:
    """Ingest documents into the database, record the run and derive the feed's flag events.

    Documents already done are skipped and extracted ones re-classified here; new ones go to
    ``prepare_many`` (worker processes or a Dask cluster when a flow runs this) and come back to be
    stored in batches of about ``BATCH_PASSAGES`` passages, in the order given, by ``store_batch``.
    Each phase's time goes to ``budget``, the workers' to the summary's ``worker_seconds``.
    """
    from pipeline import __version__

    budget = budget if budget is not None else Budget()
    workers = Budget()
    with budget.phase(PLANNING):
        tax = load_taxonomy(taxonomy)
    with run_lock(Path(db)), Store(db) as store:
        with budget.phase(PLANNING):
            store.upsert_authorities(authorities)
            store.sync_taxonomy(tax)
            classifier = load_classifier(load_encoder(), tax.id, registry=registry_for(db))  # weights load on use
            ingestor = Ingestor(store, None, classifier, crosswalk=load_crosswalk(tax.id), budget=budget)
            run_id = store.start_run(flow_name, parameters, __version__, ingestor.model_id, ingestor.classifier_id)
        results: list[DocumentResult] = []
        outcome = "failed"
        try:
            with Progress("Ingesting", len(sources), enabled=progress) as bar:
                new: list[DocumentSource] = []
                with budget.phase(PLANNING):
                    for source in sources:
                        _, result = ingestor.plan(source)
                        if result is None:
                            new.append(source)
                        else:
                            results.append(result)
                            bar.advance(printable(source.path.name))
                batch: list[Prepared] = []
                for number, prepared in enumerate(_timed(prepare_many(new), budget)):
                    workers.add_all(prepared.timings)
                    batch.append(prepared)
                    if sum(len(p.passages) for p in batch) >= BATCH_PASSAGES or number == len(new) - 1:
                        results += store_batch(ingestor, batch, number)
                        for done in batch:
                            bar.advance(printable(done.source.path.name))
                        batch = []
            outcome = "completed"
        finally:
            with budget.phase(SUMMARY):
                summary = summarise_run(run_id, results, store, budget, workers)
            with budget.phase(WRITES):
                store.finish_run(run_id, outcome, asdict(summary))
        with budget.phase(WRITES):
            sync_events(store)
    summary.timings = budget.as_dict()
    return summary


def _timed(prepared: Iterable[Prepared], budget: Budget) -> Iterator[Prepared]:
    """The prepared documents, the time spent waiting for each going to the budget."""
    documents = iter(prepared)
    while True:
        with budget.phase(WAITING):
            document = next(documents, None)
        if document is None:
            return
        yield document
