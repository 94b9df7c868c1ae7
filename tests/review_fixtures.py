"""A small review database filled through the real Store API, without the model: two authorities, their
documents and passages (one of them hostile HTML), evidence rows from a made-up classifier, and three
reviewers. Shared by the HTTP and browser tests of the review app."""

from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pipeline.collect.blobs import BlobStore
from pipeline.domain import Authority
from pipeline.review.auth import add_reviewer
from pipeline.store import Store
from pipeline.store.base import now
from pipeline.taxonomy import load_taxonomy

CLASSIFIER = "clf-current"
OLD_CLASSIFIER = "clf-old"
PASSWORD = "correct horse battery"
REVIEWERS = {"ana": "analyst", "bob": "analyst", "lee": "lead"}
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
SECTION_114 = ("The Chief Finance Officer has issued a Section 114 notice because the Council cannot set a balanced "
               "budget. Members noted the report and asked for a recovery plan.")
TAX = "bv-2023-draft"
TABLE = "Reserve | 1 April £m | Forecast £m\nGeneral <fund> balance | 11.2 | 7.6\nTotal | 41.6"  # extractor format

# (id, authority, title, kind, date, format, url, superseded_by)
DOCUMENTS = [
    ("a" * 64, "brackenmoor", "Budget monitoring report Q2", "budget_report", "2024-09-10", "pdf", None, None),
    ("b" * 64, "brackenmoor", "Audit committee minutes", "minutes", "2024-03-05", "html", None, None),
    ("c" * 64, "ferncastle", "Cabinet peer challenge progress", "peer_challenge", "2024-06-11", "html",
     "https://ferncastle.example.gov.uk/peer-challenge.html", None),
    ("d" * 64, "brackenmoor", "Budget monitoring report Q2 (first draft)", "budget_report", "2024-09-01", "pdf", None,
     "a" * 64),
]
# (document, ordinal, page, heading, text)
PASSAGES = [
    ("a" * 64, 0, 3, "Budget monitoring > Forecast",
     "The report sets out the forecast position at the end of quarter two."),
    ("a" * 64, 1, 3, "Budget monitoring > Forecast", SECTION_114),
    ("a" * 64, 2, 4, "Budget monitoring > Reserves",
     "General fund reserves have fallen below the minimum level and savings were not achieved this year."),
    ("a" * 64, 3, 4, "Budget monitoring > Reserves",
     f"The overspend of £9m continues a pattern of consistent overspends. {HOSTILE}"),
    ("a" * 64, 4, 5, "Budget monitoring > Next steps", "A further report will come to Cabinet in December."),
    ("b" * 64, 0, 1, "Minutes > Item 5",
     "The external auditor made statutory recommendations under section 24 about weaknesses in financial control."),
    ("b" * 64, 1, 1, "Minutes > Item 6", "The committee received the annual governance statement and noted it."),
    ("b" * 64, 2, 1, "Minutes > Item 6", TABLE),
    ("c" * 64, 0, 1, "Progress", "The scrutiny committee challenged the cabinet robustly and its recommendations "
                                 "were accepted."),
    ("c" * 64, 1, 2, "Progress", "The budget is aligned with the council plan and there is a robust budget process."),
    ("d" * 64, 0, 3, "Budget monitoring", "An earlier draft: the Section 114 notice was under consideration."),
]
# (document, ordinal, entry, score, probability, rank, flagged)
EVIDENCE = [
    ("a" * 64, 1, "R-F09", 0.82, 0.93, 1, 1),
    ("a" * 64, 1, "L-F05", 0.55, 0.48, 2, 1),
    ("a" * 64, 2, "R-F05", 0.71, 0.80, 1, 1),
    ("a" * 64, 3, "R-F02", 0.66, 0.60, 1, 1),
    ("a" * 64, 3, "G-F02", 0.41, 0.20, 2, 1),
    ("b" * 64, 0, "G-F01", 0.78, 0.88, 1, 1),
    ("b" * 64, 1, "G004", 0.47, 0.51, 1, 0),
    ("c" * 64, 0, "G002", 0.74, 0.85, 1, 0),
    ("c" * 64, 1, "R001", 0.69, 0.77, 1, 0),
    ("d" * 64, 0, "R-F09", 0.80, 0.90, 1, 1),  # superseded document: never in the queue
]


@dataclass(frozen=True)
class ReviewDb:
    path: Path
    files: Path

    def passage_id(self, document: str, ordinal: int) -> str:
        return f"p-{document[0]}-{ordinal}"

    def key(self, document: str, ordinal: int, entry: str) -> tuple[str, str, str]:
        return self.passage_id(document, ordinal), TAX, entry

    def item_path(self, document: str, ordinal: int, entry: str) -> str:
        return "/items/" + "/".join(self.key(document, ordinal, entry))


def build_review_db(folder: Path) -> ReviewDb:
    """Write the database and the documents' files under ``folder``."""
    files = folder / "files"
    files.mkdir(parents=True, exist_ok=True)
    review = ReviewDb(folder / "review.db", files)
    with Store(review.path) as store:
        store.upsert_authorities([Authority("brackenmoor", "Brackenmoor Borough Council", "district"),
                                  Authority("ferncastle", "Ferncastle City Council", "unitary")])
        store.sync_taxonomy(load_taxonomy(TAX))
        with store.transaction():
            for doc_id, authority, title, kind, day, fmt, url, superseded in DOCUMENTS:
                path = files / f"{re.sub(r'[^a-z0-9]+', '-', title.lower())}.{fmt}"
                path.write_bytes(b"%PDF-1.4\n% test\n" if fmt == "pdf" else f"<p>{title}</p>".encode())
                blob = BlobStore(folder / "blobs").path(doc_id)  # the stored copy the app serves (made-up ids)
                blob.parent.mkdir(parents=True, exist_ok=True)
                blob.write_bytes(path.read_bytes())
                store.db["documents"].insert({
                    "id": doc_id, "authority": authority, "path": str(path), "url": url, "title": title,
                    "kind": kind, "date": day, "format": fmt, "pages": 5, "size": path.stat().st_size,
                    "status": "ok", "classifier_id": CLASSIFIER, "superseded_by": superseded, "added_at": now()})
            store.db["passages"].insert_all(
                [{"id": review.passage_id(doc, ordinal), "document": doc, "ordinal": ordinal, "page": page,
                  "heading": heading, "block_type": "table" if text == TABLE else "paragraph", "start": 0,
                  "end": len(text), "text": text,
                  "boilerplate": 0, "ocr": 0} for doc, ordinal, page, heading, text in PASSAGES])
            rows = [{"passage": review.passage_id(doc, ordinal), "taxonomy": TAX, "entry": entry,
                     "classifier_id": CLASSIFIER, "score": score, "probability": probability, "rank": rank,
                     "flagged": flagged, "status": "suggested", "reason": "similarity", "created_at": now()}
                    for doc, ordinal, entry, score, probability, rank, flagged in EVIDENCE]
            old = [{**rows[0], "classifier_id": OLD_CLASSIFIER, "score": 0.99}]  # an older classifier's row
            store.db["evidence"].insert_all(rows + old, pk=("passage", "taxonomy", "entry", "classifier_id"))
        for name, role in REVIEWERS.items():
            add_reviewer(store, name, role, PASSWORD)
    return review


def copy_review_db(template: ReviewDb, folder: Path) -> ReviewDb:
    """A private copy of a built database (the documents' files are shared, read-only): building one costs
    three scrypt hashes, copying it almost nothing."""
    copy = ReviewDb(folder / "review.db", template.files)
    shutil.copytree(template.path.parent / "blobs", folder / "blobs")
    with sqlite3.connect(template.path) as source, sqlite3.connect(copy.path) as target:
        source.backup(target)
    source.close()
    target.close()
    return copy


# -- HTTP helpers ----------------------------------------------------------------------------------------

def client_for(app: Starlette, base_url: str = "http://localhost", **kwargs: Any) -> TestClient:
    """A test client that sends this site's Origin, as a browser does on a same-origin form post."""
    return TestClient(app, base_url=base_url, headers={"origin": base_url}, follow_redirects=False, **kwargs)


def hidden(html: str, name: str) -> str:
    """The value of the first hidden field with this name."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no field {name!r} in page"
    return match.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "login_token": hidden(form.text, "login_token"), "next": "/queue"})


def logged_in(app: Starlette, name: str, **kwargs: Any) -> tuple[TestClient, str]:
    """A client logged in as ``name`` and its session's CSRF token."""
    client = client_for(app, **kwargs)
    assert log_in(client, name).status_code == 303
    return client, hidden(client.get("/queue").text, "csrf_token")
