"""Documents and their passages: what is stored, what a document still needs, failures, template text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from pipeline.domain import (
    Authority,
    DocumentFailure,
    DocumentMetadata,
    DocumentSource,
    DocumentState,
    ExtractedDocument,
    NearbyPassage,
    Passage,
    StoredPassage,
)
from pipeline.ids import text_key
from pipeline.paths import path_text
from pipeline.store.base import now
from pipeline.store.cache import CacheMixin
from pipeline.taxonomy import Taxonomy


class DocumentsMixin(CacheMixin):
    """Reference data, documents and passages. Saving a document writes its new embeddings in the same
    transaction, so it builds on the cache."""

    def upsert_authorities(self, authorities: Iterable[Authority]) -> None:
        with self.transaction():
            self.db["authorities"].upsert_all(
                [{"slug": a.slug, "name": a.name, "type": a.type, "region": a.region, "nation": a.nation,
                  "gss": a.gss} for a in authorities],
                pk="slug",
            )

    def authorities(self) -> list[Authority]:
        """Every authority, by name."""
        return [Authority(slug, name, type_ or "other", region=region, nation=nation, gss=gss)
                for slug, name, type_, region, nation, gss in self.db.execute(
                    "select slug, name, type, region, nation, gss from authorities order by name")]

    def sync_taxonomy(self, taxonomy: Taxonomy) -> None:
        with self.transaction():
            self.db["taxonomy_entries"].upsert_all([e.as_record() for e in taxonomy.entries],
                                                   pk=("taxonomy", "id"))

    def taxonomy_themes(self) -> list[str]:
        """The themes of every stored taxonomy's entries, sorted."""
        return [row[0] for row in self.db.execute("select distinct theme from taxonomy_entries order by theme")]

    def document_kinds(self) -> list[str]:
        """The kinds stored documents have, sorted (documents of no known kind add none)."""
        return [row[0] for row in self.db.execute(
            "select distinct kind from documents where kind is not null order by kind")]

    def document_state(self, sha256: str, extractor_version: str, classifier_id: str) -> DocumentState:
        """What the document with these bytes needs under this extractor and classifier (``failure`` says why a
        failed one failed)."""
        row = self.db.execute(
            "select status, extractor_version from documents where id = ?", [sha256]).fetchone()
        if row is not None and row[0] == "failed" and row[1] == extractor_version:
            return DocumentState.FAILED
        if row is None or row[0] != "ok" or row[1] != extractor_version:
            return DocumentState.NEW
        done = self.db.execute("select 1 from classifications where document = ? and classifier_id = ?",
                               [sha256, classifier_id]).fetchone()
        return DocumentState.DONE if done else DocumentState.EXTRACTED

    def save_document(self, source: DocumentSource, document: ExtractedDocument, metadata: DocumentMetadata,
                      passages: list[Passage], extractor_version: str, vectors: dict[str, np.ndarray],
                      model_id: str) -> None:
        """Store a freshly extracted document, its passages and their new embeddings, replacing any
        earlier extraction of the same bytes, in one transaction (classification follows)."""
        with self.transaction():
            self._delete_document_rows(document.sha256)
            previous = self._previous_version(source, document.sha256)
            row = {
                **self._document_row(source, document.sha256, metadata), "format": document.format,
                "pages": document.pages, "status": "ok", "error_reason": None, "error": None,
                "extractor_version": extractor_version, "previous_version": previous,
                "ocr_pages": json.dumps(document.ocr_pages) if document.ocr_pages else None,
                "unread_pages": json.dumps(document.unread_pages) if document.unread_pages else None,
                "skipped_pages": json.dumps([{"page": s.page, "reason": str(s.reason), "detail": s.detail}
                                             for s in document.skipped_pages]) if document.skipped_pages else None,
            }
            self.db["documents"].upsert(row, pk="id")
            if previous:
                self.db["documents"].update(previous, {"superseded_by": document.sha256})
            self.db["passages"].upsert_all(
                [{**p.as_record(), "document": p.document, "ordinal": p.ordinal, "text_hash": text_key(p.text)}
                 for p in passages], pk="id",
            )
            self._put_vectors(model_id, vectors)

    def documents_with_texts(self, authority: str, keys: list[str], exclude: str) -> dict[str, int]:
        """How many other current documents of the authority hold each passage text."""
        counts: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, n in self.db.execute(
                f"select p.text_hash, count(distinct p.document) from passages p join documents d on d.id = "
                f"p.document where d.authority = ? and d.id != ? and d.superseded_by is null and p.text_hash in "
                f"({marks}) group by p.text_hash", [authority, exclude, *chunk]):
                counts[key] = n
        return counts

    def mark_repeated(self, authority: str, keys: list[str]) -> None:
        """Mark earlier copies of repeated template text as boilerplate and drop their suggestions."""
        with self.transaction():
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                where = (f"text_hash in ({marks}) and boilerplate = 0 and document in "
                         "(select id from documents where authority = ?)")
                self.db.execute(f"delete from evidence where status = 'suggested' and passage in "
                                f"(select id from passages where {where})", [*chunk, authority])
                self.db.execute(f"update passages set boilerplate = 1, boilerplate_reason = 'repeated' "
                                f"where {where}", [*chunk, authority])

    def stored_passages(self, sha256: str) -> list[StoredPassage]:
        """A document's passages that are classified (not boilerplate), in order, with their context."""
        return [StoredPassage(*row) for row in self.db.execute(
            "select p.id, p.text, p.heading, d.kind, d.title from passages p join documents d on d.id = p.document "
            "where p.document = ? and p.boilerplate = 0 order by p.ordinal", [sha256])]

    def passages_by_id(self, ids: Sequence[str]) -> dict[str, StoredPassage]:
        """Those passages that are stored (boilerplate or not), with their context, by id."""
        found: dict[str, StoredPassage] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            for row in self.db.execute(
                    "select p.id, p.text, p.heading, d.kind, d.title from passages p join documents d on d.id = "
                    f"p.document where p.id in ({','.join('?' * len(chunk))})", chunk):
                found[row[0]] = StoredPassage(*row)
        return found

    def passages_around(self, document: str, passage: str, ordinal: int
                        ) -> tuple[NearbyPassage | None, NearbyPassage | None]:
        """The passages just before and after one (at ``ordinal``) in its document."""
        sql = ("select text, block_type from passages where document = ? and id != ? and ordinal {} ? "
               "order by ordinal {} limit 1")
        args = [document, passage, ordinal]
        before = self.db.execute(sql.format("<", "desc"), args).fetchone()
        after = self.db.execute(sql.format(">", "asc"), args).fetchone()
        return (NearbyPassage(*before) if before else None), (NearbyPassage(*after) if after else None)

    def record_failure(self, source: DocumentSource, sha256: str, reason: str, message: str,
                       extractor_version: str | None = None) -> None:
        with self.transaction():
            self._delete_document_rows(sha256)
            self.db["documents"].upsert(
                {**self._document_row(source, sha256, None), "status": "failed", "error_reason": reason,
                 "error": message, "extractor_version": extractor_version},
                pk="id",
            )

    def failure(self, sha256: str) -> DocumentFailure:
        """The reason and message recorded for a failed document (both None for any other)."""
        row = self.db.execute("select error_reason, error from documents where id = ?", [sha256]).fetchone()
        return DocumentFailure(*row) if row else DocumentFailure(None, None)

    def stored_format(self, sha256: str) -> str | None:
        """A readable (``ok``) document's format ('' when unknown), or None when there is no such document."""
        row = self.db.execute("select format from documents where id = ? and status = 'ok'", [sha256]).fetchone()
        return (row[0] or "") if row else None

    def ocr_paths(self, sha256s: Sequence[str]) -> list[str]:
        """The paths of those documents that were read (partly) by OCR, sorted."""
        paths: list[str] = []
        for start in range(0, len(sha256s), 500):
            chunk = list(sha256s[start:start + 500])
            paths += [row[0] for row in self.db.execute(
                f"select path from documents where ocr_pages is not null and id in ({','.join('?' * len(chunk))})",
                chunk)]
        return sorted(paths)

    def touch(self, sha256: str) -> None:
        """Note that a stored document was seen again."""
        with self.transaction():
            self.db["documents"].update(sha256, {"last_seen": now()})

    def _previous_version(self, source: DocumentSource, sha256: str) -> str | None:
        """The current version of the same path or URL with other bytes, if any."""
        where, value = ("url = ?", source.url) if source.url else ("path = ?", path_text(source.path))
        row = self.db.execute(
            f"select id from documents where {where} and id != ? and status = 'ok' and superseded_by is null "
            "order by updated_at desc limit 1", [value, sha256]).fetchone()
        return row[0] if row else None

    def _document_row(self, source: DocumentSource, sha256: str, metadata: DocumentMetadata | None
                      ) -> dict[str, object]:
        existing = self.db["documents"].count_where("id = ?", [sha256])
        stamp = now()
        row: dict[str, object] = {
            "id": sha256, "authority": source.authority, "path": path_text(source.path), "url": source.url,
            "size": source.size, "updated_at": stamp, "last_seen": stamp,
            "title": source.title, "kind": source.kind, "date": source.date,
            "title_confidence": 1.0 if source.title else None, "kind_confidence": 1.0 if source.kind else None,
            "date_confidence": 1.0 if source.date else None,
            "metadata_source": "manifest" if (source.kind or source.date or source.title) else None,
        }
        if metadata is not None:
            for field_name in ("title", "kind", "date"):
                guess = getattr(metadata, field_name)
                if row[field_name] is None and guess.value is not None:
                    row[field_name], row[f"{field_name}_confidence"] = guess.value, guess.confidence
                    row["metadata_source"] = "manifest+guess" if row["metadata_source"] else "guess"
        if not existing:
            row["added_at"] = row["first_seen"] = stamp
        return row

    def _delete_document_rows(self, sha256: str) -> None:
        self.db.execute(
            "delete from evidence where passage in (select id from passages where document = ?)", [sha256]
        )
        self.db.execute("delete from classifications where document = ?", [sha256])
        self.db.execute("delete from passages where document = ? and id not in (select passage from reviews)",
                        [sha256])
