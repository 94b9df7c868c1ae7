"""The queue (filters, orders, pages, what is left) and the item view (context, highlight, candidates,
source link), through the query functions and over HTTP."""

from __future__ import annotations

import re

import pytest
from review_fixtures import CLASSIFIER, PASSWORD, SECTION_114, logged_in

from pipeline.review import queries
from pipeline.review.app import create_app
from pipeline.review.auth import add_reviewer
from pipeline.review.queries import QueueFilters
from pipeline.review.sentences import highlight, split_sentences
from pipeline.store import Store

A, C = "a" * 64, "c" * 64


@pytest.fixture
def store(review):
    with Store(review.path) as store:
        yield store


def _entries(store: Store, **params: str) -> list[str]:
    return [item["entry"] for item in queries.queue_page(store, QueueFilters.from_params(params)).items]


def test_the_queue_holds_only_current_evidence(store):
    entries = _entries(store)
    assert len(entries) == 9 and entries[0] == "R-F09"  # best score first
    assert all(item["classifier_id"] == CLASSIFIER and item["document"] != "d" * 64
               for item in queries.queue_page(store, QueueFilters()).items)


@pytest.mark.parametrize(("params", "expected"), [
    ({"authority": "ferncastle"}, {"G002", "R001"}),
    ({"theme": "G"}, {"G-F01", "G-F02", "G004", "G002"}),
    ({"entry": "r-f09"}, {"R-F09"}),
    ({"kind": "minutes"}, {"G-F01", "G004"}),
    ({"date_from": "2024-06-01", "date_to": "2024-06-30"}, {"G002", "R001"}),
    ({"min_probability": "0.7"}, {"R-F09", "G-F01", "G002", "R-F05", "R001"}),
    ({"min_probability": "lots", "date_from": "yesterday", "status": "bogus"}, None),  # bad values are dropped
])
def test_queue_filters(store, params, expected):
    found = set(_entries(store, **params))
    assert found == (expected if expected is not None else set(_entries(store)))


def test_status_filter_and_what_is_left(store, review):
    store.add_review(*review.key(A, 1, "R-F09"), decision="confirm", reviewer="ana")
    page = queries.queue_page(store, QueueFilters(authority="brackenmoor", status="any"))
    assert (page.total, page.left) == (7, 6)
    assert _entries(store, status="confirmed") == ["R-F09"]
    assert "R-F09" not in _entries(store)


def test_uncertainty_order_puts_probabilities_near_a_half_first(store):
    assert _entries(store, order="uncertainty")[:3] == ["G004", "L-F05", "R-F02"]


def test_shuffle_is_seeded_and_stable_across_pages(store, monkeypatch):
    by_score = _entries(store)
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    pages = [_entries(store, order="shuffle", seed="7", page=str(n)) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 4, 1]
    everything = [entry for page in pages for entry in page]
    assert sorted(everything) == sorted(by_score) and everything != by_score
    assert pages[0] == _entries(store, order="shuffle", seed="7", page="1")
    assert _entries(store, order="shuffle", seed="8") != _entries(store, order="shuffle", seed="7")


def test_queue_page_shows_counts_and_pages(review, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    client, _ = logged_in(create_app(review.path), "ana")
    page = client.get("/queue?page=2").text
    assert re.search(r'id="left-count">9<', page) and "page 2 of 3" in page
    assert 'href="/queue?" rel="prev"' in page and 'href="/queue?page=3" rel="next"' in page
    assert page.count('class="row"') == 4
    shuffled = client.get("/queue?order=shuffle")
    assert shuffled.status_code == 303 and re.search(r"seed=\d+", shuffled.headers["location"])


def test_neighbours_follow_the_queue_and_skip_a_decided_item(store, review):
    filters = QueueFilters(authority="brackenmoor")
    keys = queries.keys_at(store, filters, 0, 10)
    previous, following = queries.neighbours(store, filters, 1, keys[1])
    assert previous == (keys[0], 0) and following == (keys[2], 2)
    store.add_review(*keys[1], decision="confirm", reviewer="ana")
    assert queries.neighbours(store, filters, 1, keys[1]) == ((keys[0], 0), (keys[2], 1))


def test_item_view_shows_the_passage_in_context(review):
    client, _ = logged_in(create_app(review.path), "ana")
    page = client.get(review.item_path(A, 1, "R-F09")).text
    assert "Budget monitoring &gt; Forecast" in page  # heading path
    assert "forecast position at the end of quarter two" in page  # paragraph before
    assert "Reserves" not in page.split('id="passage"')[0]
    assert "General fund reserves have fallen" in page  # paragraph after
    assert "<mark>The Chief Finance Officer has issued a Section 114 notice" in page
    assert "An authority that has issued a Section 114 Notice." in page
    assert "Theme R Use of resources" in page and "internal control environment" in page  # the theme's description
    assert 'id="probability">0.93<' in page and CLASSIFIER in page  # the one number, shown once
    assert "0.82" not in page and page.count("0.93") == 1  # the raw score is not a second number
    assert ">L-F05</a>" in page  # the other candidate
    assert f'href="/documents/{A}#page=3"' in page and "Budget monitoring report Q2" in page and "2024-09-10" in page
    web = client.get(review.item_path(C, 0, "G002")).text
    assert 'href="https://ferncastle.example.gov.uk/peer-challenge.html#page=1"' in web
    assert client.get(review.item_path("d" * 64, 0, "R-F09")).status_code == 404  # superseded


def test_documents_are_served_by_id_only(review):
    client, _ = logged_in(create_app(review.path), "ana")
    pdf = client.get(f"/documents/{A}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-disposition"].startswith("inline")
    for path in ("/documents/" + "f" * 64, "/documents/..%2F..%2Fetc%2Fpasswd", "/documents/%2Fetc%2Fpasswd"):
        assert client.get(path).status_code == 404, path
    with Store(review.path) as store, store.transaction():  # the path it was read from is never served
        store.db.execute("update documents set path = '/etc/passwd'")
    assert client.get(f"/documents/{A}").content.startswith(b"%PDF")
    (review.path.parent / "blobs" / "bb" / "bb" / ("b" * 64)).unlink()
    assert client.get("/documents/" + "b" * 64).status_code == 404  # no stored copy, whatever the path says


def test_entry_search_by_id_or_words(review):
    client, _ = logged_in(create_app(review.path), "ana")

    def ids(q: str) -> list[str]:
        return [e["id"] for e in client.get("/api/entries", params={"taxonomy": "bv-2023-draft", "q": q}).json()[
            "entries"]]

    assert ids("r-f09") == ["R-F09"]
    assert ids("section 114") == ["R-F09"]
    assert "R-F05" in ids("reserves savings")
    assert ids("100%_") == [] and ids("") == []


def test_the_best_matching_sentence_is_highlighted():
    assert "".join(split_sentences(SECTION_114)) == SECTION_114
    pieces = highlight(SECTION_114, "An authority that has issued a Section 114 Notice.")
    assert [best for _, best in pieces] == [True, False]
    assert highlight("Nothing in common here.", "Section 114 notice") == [("Nothing in common here.", False)]


def test_pages_render_on_a_store_without_evidence(tmp_path):
    with Store(tmp_path / "empty.db") as store:
        add_reviewer(store, "lee", "lead", PASSWORD)
    client, _ = logged_in(create_app(tmp_path / "empty.db"), "lee")
    for path in ("/queue", "/dashboard", "/agreement", "/second-reviews", "/reviewers", "/bulk?decision=confirm"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "Nothing matches these filters." in client.get("/queue").text
