"""Decisions through the review app: optimistic versions, the append-only audit trail, undo and reassign,
bulk decisions, blind second reviews, and the precision and agreement figures built from them."""

from __future__ import annotations

import re

import pytest
from review_fixtures import CLASSIFIER, ReviewDb, logged_in

from pipeline.review import metrics
from pipeline.store import Store

A, B = "a" * 64, "b" * 64


def _evidence(review: ReviewDb, document: str, ordinal: int, entry: str) -> dict | None:
    with Store(review.path) as store:
        rows = list(store.db.query("select * from evidence where passage = ? and taxonomy = ? and entry = ? and "
                                   "classifier_id = ?", [*review.key(document, ordinal, entry), CLASSIFIER]))
    return rows[0] if rows else None


def _reviews(review: ReviewDb) -> list[dict]:
    with Store(review.path) as store:
        return list(store.db.query("select * from reviews order by id"))


def test_concurrent_conflicting_decisions_are_detected_and_nothing_is_overwritten(app, review):
    ana, ana_csrf = logged_in(app, "ana")
    tab, tab_csrf = logged_in(app, "ana")  # the same analyst in a second tab, or after a lease ran out
    item = review.item_path(A, 1, "R-F09")
    for client in (ana, tab):  # both open the item at version 0
        assert 'name="version" value="0"' in client.get(item).text
    first = ana.post(item, data={"csrf_token": ana_csrf, "decision": "confirm", "version": "0"})
    assert first.status_code == 303
    second = tab.post(item, data={"csrf_token": tab_csrf, "decision": "reject", "reason": "historical",
                                  "version": "0"})
    assert second.status_code == 409
    assert "changed while you were looking" in second.text
    assert "Decided by <strong>ana</strong>: confirm" in second.text
    row = _evidence(review, A, 1, "R-F09")
    assert row["status"] == "confirmed" and row["version"] == 1 and row["reviewed_by"] == "ana"
    assert [(r["reviewer"], r["decision"]) for r in _reviews(review)] == [("ana", "confirm")]


def test_an_opened_item_is_leased_so_nobody_else_decides_it(app, review):
    ana, _ = logged_in(app, "ana")
    bob, bob_csrf = logged_in(app, "bob")
    item = review.item_path(A, 2, "R-F05")
    assert 'id="confirm-form"' in ana.get(item).text  # ana opens it first: hers for ten minutes
    seen = bob.get(item).text
    assert "ana is working on this item" in seen and 'id="confirm-form"' not in seen
    refused = bob.post(item, data={"csrf_token": bob_csrf, "decision": "confirm", "version": "0"})
    assert refused.status_code == 409 and "ana is working on this item" in refused.text
    assert _reviews(review) == []
    bob_queue = bob.get("/queue?authority=brackenmoor").text
    assert "R-F05" not in bob_queue.split('id="recent-title"')[0]  # not in bob's queue
    assert "R-F05" in bob.get("/queue?authority=brackenmoor&scope=all").text


def test_every_decision_is_an_appended_review_with_reviewer_and_time(app, review):
    ana, ana_csrf = logged_in(app, "ana")
    bob, bob_csrf = logged_in(app, "bob")
    item = review.item_path(A, 2, "R-F05")

    def decide(client, csrf, **data):
        version = str(_evidence(review, A, 2, "R-F05")["version"])
        response = client.post(item, data={"csrf_token": csrf, "version": version, **data})
        assert response.status_code == 303, response.text
        return _evidence(review, A, 2, "R-F05")["status"]

    assert decide(ana, ana_csrf, decision="confirm") == "confirmed"
    assert decide(bob, bob_csrf, decision="reject", reason="wrong_polarity") == "rejected"
    assert decide(bob, bob_csrf, decision="undo") == "confirmed"  # back to ana's confirmation
    assert decide(ana, ana_csrf, decision="note", note="Reserves are below the minimum.") == "confirmed"
    assert decide(ana, ana_csrf, decision="undo") == "suggested"
    trail = _reviews(review)
    assert [(r["reviewer"], r["decision"], r["reason"], r["previous_status"]) for r in trail] == [
        ("ana", "confirm", None, "suggested"), ("bob", "reject", "wrong_polarity", "confirmed"),
        ("bob", "undo", None, "rejected"), ("ana", "note", None, "confirmed"), ("ana", "undo", None, "confirmed")]
    assert all(r["created_at"] and r["classifier_id"] == CLASSIFIER for r in trail)
    history = ana.get(item).text
    assert history.count("<li><strong>") == 5 and "by bob at" in history
    nothing = ana.post(item, data={"csrf_token": ana_csrf, "version": "5", "decision": "undo"})
    assert nothing.status_code == 400 and "no decision on this item to undo" in nothing.text
    assert len(_reviews(review)) == 5


def test_reassign_moves_the_link_and_undo_takes_both_halves_back(app, review):
    ana, csrf = logged_in(app, "ana")
    item = review.item_path(A, 3, "R-F02")
    search = ana.get(item, params={"q": "section 114"}).text
    assert 'name="new_entry" value="R-F09"' in search
    unknown = ana.post(item, data={"csrf_token": csrf, "version": "0", "decision": "reassign", "new_entry": "R-F99"})
    assert unknown.status_code == 400 and "no entry" in unknown.text
    moved = ana.post(item, data={"csrf_token": csrf, "version": "0", "decision": "reassign", "new_entry": "r-f05"})
    assert moved.status_code == 303
    old, new = _evidence(review, A, 3, "R-F02"), _evidence(review, A, 3, "R-F05")
    assert old["status"] == "rejected" and new["status"] == "confirmed" and new["reason"] == "analyst"
    assert [(r["entry"], r["decision"], r["new_entry"]) for r in _reviews(review)] == [
        ("R-F02", "reassign", "R-F05"), ("R-F05", "confirm", None)]
    assert ana.post(item, data={"csrf_token": csrf, "version": "1", "decision": "undo"}).status_code == 303
    assert _evidence(review, A, 3, "R-F02")["status"] == "suggested"
    assert _evidence(review, A, 3, "R-F05") is None  # the analyst-made link is gone again
    assert [r["decision"] for r in _reviews(review)] == ["reassign", "confirm", "undo", "undo"]


def test_a_decision_moves_on_to_the_next_item_of_the_same_queue(app, review):
    ana, csrf = logged_in(app, "ana")
    queue = "authority=brackenmoor&order=uncertainty"
    first = ana.get(f"{review.item_path(B, 1, 'G004')}?{queue}&pos=0")
    assert 'id="next-link"' in first.text and 'id="prev-link"' not in first.text
    response = ana.post(f"{review.item_path(B, 1, 'G004')}?{queue}&pos=0",
                        data={"csrf_token": csrf, "decision": "confirm", "version": "0"})
    assert response.headers["location"].startswith(review.item_path(A, 1, "L-F05") + "?")  # the next least sure
    assert "pos=0" in response.headers["location"] and "review=1" in response.headers["location"]
    following = ana.get(response.headers["location"]).text
    assert "Confirmed G004." in following and 'id="undo-last-form"' in following  # the undo is one key away


def test_bulk_confirm_by_a_lead_after_a_confirmation_step_and_its_undo_as_one(app, review):
    lead, csrf = logged_in(app, "lee")
    ana, ana_csrf = logged_in(app, "ana")
    ana.post(review.item_path(A, 1, "R-F09"), data={"csrf_token": ana_csrf, "decision": "reject",
                                                    "reason": "historical", "version": "0"})
    preview = lead.get("/bulk", params={"authority": "brackenmoor", "decision": "confirm"})
    # 7 current, 1 decided, 2 below the low-confidence line (L-F05 0.48, G-F02 0.20) left out unless asked for
    assert preview.status_code == 200 and 'id="bulk-count">4<' in preview.text
    assert "The overspend of £9m" in preview.text and "0.60" in preview.text  # the items themselves are listed
    left_out = preview.text.split('id="left-out"')[1]
    assert "L-F05" in left_out and "G-F02" in left_out and "low confidence" in left_out
    everything = lead.get("/bulk", params={"authority": "brackenmoor", "decision": "confirm", "include_risky": "1"})
    assert 'id="bulk-count">6<' in everything.text
    assert len(_reviews(review)) == 1  # previews write nothing
    form = {"csrf_token": csrf, "authority": "brackenmoor", "decision": "confirm"}
    assert lead.post("/bulk", data={**form, "expected": "6", "note": "why"}).status_code == 409
    unexplained = lead.post("/bulk", data={**form, "expected": "4"})
    assert unexplained.status_code == 400 and "needs a note" in unexplained.text
    done = lead.post("/bulk", data={**form, "expected": "4", "note": "read each: all overspend reports"})
    assert done.status_code == 303 and "done=bulk&batch=" in done.headers["location"]
    banner = lead.get(done.headers["location"]).text
    assert "Bulk confirm applied to 4 items." in banner and 'id="undo-batch-form"' in banner
    trail = _reviews(review)[1:]
    assert len(trail) == 4 and {(r["reviewer"], r["decision"], r["note"]) for r in trail} == {
        ("lee", "confirm", "read each: all overspend reports")}
    batch = trail[0]["batch"]
    assert batch and {r["batch"] for r in trail} == {batch}
    assert _evidence(review, A, 1, "R-F09")["status"] == "rejected"  # ana's decision stands

    ana.post(review.item_path(A, 2, "R-F05"), data={"csrf_token": ana_csrf, "decision": "reject",
                                                    "reason": "historical", "version": "1"})  # decided again since
    undone = lead.post(f"/batches/{batch}/undo", data={"csrf_token": csrf})
    assert undone.status_code == 303 and "n=3" in undone.headers["location"]
    assert {_evidence(review, *link)["status"] for link in [(A, 3, "R-F02"), (B, 0, "G-F01"), (B, 1, "G004")]} == {
        "suggested"}
    assert _evidence(review, A, 2, "R-F05")["status"] == "rejected"  # left as ana decided it
    assert lead.post(f"/batches/{batch}/undo", data={"csrf_token": csrf}).status_code == 409  # once only


def test_bulk_on_selected_rows_only(app, review):
    lead, csrf = logged_in(app, "lee")
    keys = ["|".join(review.key(A, 2, "R-F05")), "|".join(review.key(B, 0, "G-F01"))]
    preview = lead.get("/bulk", params={"decision": "reject", "reason": "historical", "key": keys})
    assert 'id="bulk-count">2<' in preview.text
    done = lead.post("/bulk", data={"csrf_token": csrf, "decision": "reject", "reason": "historical", "key": keys,
                                    "expected": "2", "note": "both about 2019"})
    assert done.status_code == 303
    assert [r["entry"] for r in _reviews(review)] == ["R-F05", "G-F01"]


def test_blind_second_review_hides_the_first_decision_and_feeds_kappa(app, review):
    ana, ana_csrf = logged_in(app, "ana")
    for document, ordinal, entry, decision in [(A, 1, "R-F09", "confirm"), (A, 2, "R-F05", "confirm"),
                                               (B, 0, "G-F01", "reject")]:
        ana.post(review.item_path(document, ordinal, entry),
                 data={"csrf_token": ana_csrf, "decision": decision, "reason": "historical", "version": "0"})
    lead, lead_csrf = logged_in(app, "lee")
    sent = lead.post("/second-reviews", data={"csrf_token": lead_csrf, "assignee": "bob", "size": "10"})
    assert "Sent 3 decided items to bob" in sent.text
    bob, bob_csrf = logged_in(app, "bob")
    listing = bob.get("/second-reviews").text
    ids = sorted(set(re.findall(r'href="/second-reviews/(\d+)"', listing)))
    assert len(ids) == 3
    assert ana.get(f"/second-reviews/{ids[0]}").status_code == 404  # assigned to bob only
    for review_id in ids:
        page = bob.get(f"/second-reviews/{review_id}").text
        assert ">ana<" not in page and " ana " not in page and "confirmed" not in page and "rejected" not in page
        assert bob.post(f"/second-reviews/{review_id}", data={"csrf_token": bob_csrf, "decision": "confirm"}
                        ).status_code == 303
    assert bob.post(f"/second-reviews/{ids[0]}", data={"csrf_token": bob_csrf, "decision": "reject",
                                                       "reason": "other"}).status_code == 409
    assert _evidence(review, B, 0, "G-F01")["status"] == "rejected"  # a second opinion changes no status
    with Store(review.path) as store:
        assert store.db.execute("select count(*) from reviews where blind = 1 and reviewer = 'bob'").fetchone()[0] == 3
        pairs, pooled = metrics.agreement(store)
    assert [(p.first, p.second, p.items) for p in pairs] == [("ana", "bob", 3)]
    assert pooled.observed == pytest.approx(2 / 3) and pooled.kappa == pytest.approx(0.0)
    assert "ana / bob" in lead.get("/agreement").text


def test_precision_per_entry_and_theme_comes_from_decisions(review):
    with Store(review.path) as store:
        for ordinal, entry, decision in [(1, "R-F09", "confirm"), (2, "R-F05", "reject"), (3, "R-F02", "confirm"),
                                         (3, "G-F02", "reject")]:
            store.add_review(*review.key(A, ordinal, entry), decision=decision, reviewer="ana", reason="other")
        themes, entries = metrics.precision(store)
        by_theme = {t["theme"]: (t["confirmed"], t["rejected"], t["precision"]) for t in themes}
        assert by_theme == {"G": (0, 1, 0.0), "R": (2, 1, pytest.approx(2 / 3))}
        assert {e["entry"]: e["precision"] for e in entries} == {"G-F02": 0.0, "R-F02": 1.0, "R-F05": 0.0,
                                                                 "R-F09": 1.0}
        assert metrics.precision(store, "ferncastle") == ([], [])


def test_figures_replay_undo_reassign_blind_reviews_and_settlements(review):
    """Labels per reviewer come from what stands after undo (a reassign is a reject), a blind second review is
    its reviewer's label, and a lead's settlement is the link's verdict, never a reviewer's label."""
    settled, undone, reassigned, agreed = (review.key(A, 1, "R-F09"), review.key(A, 2, "R-F05"),
                                           review.key(A, 3, "R-F02"), review.key(B, 0, "G-F01"))
    with Store(review.path) as store:
        store.add_review(*settled, "confirm", "ana")
        store.add_review(*settled, "reject", "bob", reason="historical")
        store.add_review(*settled, "reject", "lee", reason="historical", settles=True)
        store.add_review(*undone, "confirm", "ana")
        store.add_review(*undone, "undo", "ana")
        store.add_review(*undone, "reject", "bob", reason="other", blind=True)
        store.add_review(*reassigned, "reassign", "ana", reason="wrong_entry", new_entry="G-F02")
        store.add_review(*reassigned, "confirm", "bob", blind=True)
        store.add_review(*agreed, "confirm", "ana")
        store.add_review(*agreed, "confirm", "bob", blind=True)
        [disagreement] = metrics.disagreements(store)
        pairs, pooled = metrics.agreement(store)
        themes, entries = metrics.precision(store)
    assert disagreement["key"] == reassigned and disagreement["decisions"] == [("ana", "reject"), ("bob", "confirm")]
    assert [(p.first, p.second, p.items) for p in pairs] == [("ana", "bob", 3)]  # settled, reassigned, agreed
    assert pooled.observed == pytest.approx(1 / 3) and pooled.kappa == pytest.approx(-0.5)
    counts = {e["entry"]: (e["confirmed"], e["rejected"]) for e in entries}
    # settled: lee's verdict only; undone: bob's blind reject only; G-F02: the confirmation the reassign gave it
    assert counts == {"R-F09": (0, 1), "R-F05": (0, 1), "R-F02": (1, 1), "G-F02": (1, 0), "G-F01": (2, 0)}
    assert {t["theme"]: t["precision"] for t in themes} == {"R": 0.25, "G": 1.0}


def test_store_add_review_is_optimistic(review):
    with Store(review.path) as store:
        key = review.key(A, 1, "R-F09")
        assert store.add_review(*key, "confirm", "ana", classifier_id=CLASSIFIER, expected_version=0)
        assert store.add_review(*key, "reject", "bob", reason="other", classifier_id=CLASSIFIER,
                                expected_version=0) is None
        assert store.db["reviews"].count == 1
        assert {r["status"] for r in store.db["evidence"].rows_where("passage = ? and entry = ?",
                                                                     [key[0], key[2]])} == {"confirmed"}
        with pytest.raises(ValueError, match="reassign needs"):
            store.add_review(*key, "reassign", "ana")
        assert store.db["reviews"].count == 1


def test_dashboard_heat_map_counts_confirmed_and_suggested(app, review):
    ana, csrf = logged_in(app, "ana")
    cell = 'data-entry="R-F09" data-confirmed="{}" data-suggested="{}"'
    before = ana.get("/dashboard?authority=brackenmoor").text
    assert cell.format(0, 1) in before
    ana.post(review.item_path(A, 1, "R-F09"), data={"csrf_token": csrf, "decision": "confirm", "version": "0"})
    after = ana.get("/dashboard?authority=brackenmoor").text
    assert cell.format(1, 0) in after
    assert "<td>ana</td><td>1</td>" in after  # progress per reviewer
    assert "Budget monitoring report Q2" in after and "first draft" not in after  # newest flagged, current only
