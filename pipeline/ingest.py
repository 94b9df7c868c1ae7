"""Process one document end to end: read, extract, segment, classify, store.

Flows call ``Ingestor.process`` per document; it raises nothing for a bad document
(the failure is stored with its reason) and lets unexpected errors propagate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline.classify import SimilarityClassifier
from pipeline.corpus import DocumentSource
from pipeline.errors import DocumentError
from pipeline.extract import EXTRACTOR_VERSION, extract_bytes
from pipeline.extract.limits import DEFAULT_LIMITS, Limits
from pipeline.ids import sha256_bytes
from pipeline.segment import Segmenter
from pipeline.store import Store


class Outcome(StrEnum):
    STORED = "stored"
    SKIPPED = "skipped"  # already stored by this extractor and classifier
    FAILED = "failed"


@dataclass(frozen=True)
class DocumentResult:
    path: str
    authority: str
    outcome: Outcome
    sha256: str | None = None
    passages: int = 0
    evidence: int = 0
    flagged: int = 0
    reason: str | None = None
    message: str | None = None


@dataclass
class Ingestor:
    store: Store
    segmenter: Segmenter
    classifier: SimilarityClassifier
    limits: Limits = DEFAULT_LIMITS

    def process(self, source: DocumentSource) -> DocumentResult:
        try:
            data = self._read(source)
        except DocumentError as e:
            sha = sha256_bytes(str(source.path).encode())  # no bytes: key the failure by path
            return self._fail(source, sha, e)
        sha = sha256_bytes(data)
        if self.store.is_done(sha, self.classifier.id, EXTRACTOR_VERSION):
            return DocumentResult(str(source.path), source.authority, Outcome.SKIPPED, sha)
        try:
            document = extract_bytes(data, source.path.name, self.limits)
        except DocumentError as e:
            return self._fail(source, sha, e)
        passages = self.segmenter.passages(document)
        evidence_passages = [p for p in passages if not p.boilerplate]
        predictions = self.classifier.predict_texts([p.text for p in evidence_passages])
        counts = self.store.save_document(
            source, document, passages, dict(zip([p.id for p in evidence_passages], predictions, strict=True)),
            self.classifier.id, self.classifier.taxonomy.id, EXTRACTOR_VERSION,
        )
        return DocumentResult(str(source.path), source.authority, Outcome.STORED, sha, counts.passages,
                              counts.evidence, counts.flagged)

    def _read(self, source: DocumentSource) -> bytes:
        try:
            size = source.path.stat().st_size
            if size > self.limits.max_bytes:
                raise DocumentError(f"file is {size:,} bytes; the limit is {self.limits.max_bytes:,}",
                                    reason="too_large")
            return source.path.read_bytes()
        except OSError as e:
            raise DocumentError(f"cannot read {source.path.name}: {e.strerror}", reason="unreadable") from e

    def _fail(self, source: DocumentSource, sha: str, error: DocumentError) -> DocumentResult:
        self.store.record_failure(source, sha, error.reason, str(error))
        return DocumentResult(str(source.path), source.authority, Outcome.FAILED, sha, reason=error.reason,
                              message=str(error))
