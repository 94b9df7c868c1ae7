"""The risk-engine feed: flag events, cursors, retractions, supersession, outbox, webhook, signals."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline.classify.similarity import SimilarityClassifier, Thresholds
from pipeline.cli import app
from pipeline.collect.corpus import discover
from pipeline.errors import FeedError
from pipeline.feed.events import ExportFilter, export_flags, read_events, sync_events, validate_record
from pipeline.feed.push import SIGNATURE_HEADER, push_outbox, push_webhook, sign, webhook_name
from pipeline.feed.signals import authority_signals, weight
from pipeline.ingest import Ingestor
from pipeline.review.api import add_token
from pipeline.review.app import create_app
from pipeline.store import Store
from pipeline.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow

PAPERS = {
    "finance.html": ["The Section 151 Officer has issued a section 114 notice and all non-essential spending "
                     "has stopped.",
                     "The Council relied on reserves to balance the budget and overspent by £12m."],
    "ombudsman.html": ["The Ombudsman found fault causing injustice and upheld the complaint about delays in "
                       "adult social care assessments."],
}


@pytest.fixture
def fed(tmp_path, segmenter, classifier):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, paragraphs in PAPERS.items():
        (folder / name).write_text("<html><body><h1>Report</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs)
                                   + "</body></html>")
    authorities, sources = discover([folder], authority="testshire")
    store = Store(tmp_path / "t.db")
    store.upsert_authorities(authorities)
    store.sync_taxonomy(load_taxonomy())
    ingestor = Ingestor(store, segmenter, classifier)
    for source in sources:
        ingestor.process(source)
    sync_events(store)
    yield store, sources
    store.close()


def test_events_validate_and_pages_return_each_event_once(fed):
    store, _ = fed
    events = list(read_events(store))
    assert events and all(e["event"] == "suggested" for e in events)
    for event in events:
        validate_record(event)
    assert [e["cursor"] for e in events] == sorted({e["cursor"] for e in events})
    seen, cursor = [], 0
    while page := list(read_events(store, cursor, limit=2)):
        seen += [e["event_id"] for e in page]
        cursor = page[-1]["cursor"]
    assert seen == [e["event_id"] for e in events]
    assert sync_events(store) == 0  # idempotent: nothing changed, nothing appended


def test_rejection_emits_a_retraction_and_confirmation_an_event(fed):
    store, _ = fed
    first, second = list(read_events(store))[:2]
    store.add_review(first["passage"]["id"], "bv-2023-draft", first["entry"]["id"], decision="reject",
                     reviewer="ana", reason="wrong_entry")
    store.add_review(second["passage"]["id"], "bv-2023-draft", second["entry"]["id"], decision="confirm",
                     reviewer="ben")
    after = second["cursor"] if second["cursor"] > first["cursor"] else first["cursor"]
    records, _ = export_flags(store, after, ExportFilter(status="confirmed"))
    kinds = {(r["evidence_id"], r["event"]) for r in records}
    assert (first["evidence_id"], "rejected") in kinds  # retractions pass any --status filter
    assert (second["evidence_id"], "confirmed") in kinds
    for record in records:
        validate_record(record)


def test_reclassification_that_drops_a_flag_supersedes_it(fed, segmenter, encoder):
    store, sources = fed
    before = {e["evidence_id"] for e in read_events(store)}
    strict = SimilarityClassifier(encoder, load_taxonomy(), Thresholds(evidence=0.99, flag=0.99))
    ingestor = Ingestor(store, segmenter, strict)
    for source in sources:
        ingestor.process(source)
    start = max(e["cursor"] for e in read_events(store))
    assert sync_events(store) == len(before)
    superseded = list(read_events(store, start))
    assert {e["evidence_id"] for e in superseded} == before
    assert {e["event"] for e in superseded} == {"superseded"}


def test_cli_cursor_file_and_next_cursor(fed, tmp_path):
    store, _ = fed
    cursor_file = tmp_path / "cursor"
    runner = CliRunner()
    first = runner.invoke(app, ["export", "flags", "--db", str(store.path), "--cursor-file", str(cursor_file)])
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines and cursor_file.read_text().strip() == str(json.loads(lines[-1])["cursor"])
    assert f"next cursor: {cursor_file.read_text().strip()}" in first.stderr
    again = runner.invoke(app, ["export", "flags", "--db", str(store.path), "--cursor-file", str(cursor_file)])
    assert again.exit_code == 0 and again.stdout == ""
    as_csv = runner.invoke(app, ["export", "flags", "--db", str(store.path), "--since", "0", "--format", "csv"])
    assert as_csv.stdout.splitlines()[0].startswith("cursor,event_id,event")
    bad = runner.invoke(app, ["export", "flags", "--db", str(store.path), "--since", "abc"])
    assert bad.exit_code == 1 and "not a whole number" in bad.stderr


def test_outbox_files_are_complete_even_when_a_write_fails(fed, tmp_path, monkeypatch):
    store, _ = fed
    outbox = tmp_path / "outbox"
    import pipeline.feed.events

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline.feed.events.os, "fsync", crash)
    with pytest.raises(OSError):
        push_outbox(store, outbox)
    assert list(outbox.iterdir()) == []  # no partial file, not even a temporary one
    monkeypatch.undo()
    result = push_outbox(store, outbox)
    assert result.events == len(list(read_events(store)))
    ids = [json.loads(line)["event_id"] for f in sorted(outbox.glob("*.jsonl")) for line in f.read_text().splitlines()]
    assert ids == [e["event_id"] for e in read_events(store)]
    assert push_outbox(store, outbox).events == 0  # delivered once


class _Receiver(BaseHTTPRequestHandler):
    failures_left = 2
    received: ClassVar[list[dict]] = []
    secret = "s3cret"
    authorization: ClassVar[str | None] = None

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers[SIGNATURE_HEADER] == sign(self.secret, body)
        _Receiver.authorization = self.headers["Authorization"]
        if _Receiver.failures_left > 0:
            _Receiver.failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Receiver.received += [json.loads(line) for line in body.decode().splitlines()]
        self.send_response(204)
        self.end_headers()


def test_webhook_retries_then_delivers_each_event_once(fed):
    store, _ = fed
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        result = push_webhook(store, url, _Receiver.secret, attempts=4, backoff=0.05)
        push_webhook(store, url, _Receiver.secret, attempts=4, backoff=0.05)  # nothing new: no repeat
    finally:
        server.shutdown()
    assert _Receiver.failures_left == 0
    ids = [r["event_id"] for r in _Receiver.received]
    assert result.events == len(ids) == len(set(ids)) == len(list(read_events(store)))


def test_signal_weights_and_counting_once(fed):
    store, _ = fed
    today = date(2026, 1, 1)
    assert weight("ombudsman_decision", "confirmed", None, None, "2026-01-01", today) == 2.0
    assert weight("minutes", "confirmed", None, None, "2025-01-01", today) == pytest.approx(0.5)
    assert weight("minutes", "suggested", 0.8, None, "2026-01-01", today) == pytest.approx(0.4)
    assert weight("minutes", "rejected", 1.0, None, "2026-01-01", today) == 0.0
    signals = authority_signals(store, today)
    failure = [s for s in signals if s.polarity == "failure"]
    assert failure and all(s.score > 0 and s.evidence for s in failure)
    assert all(len(s.evidence) == len(set(s.evidence)) for s in signals)


def test_signals_cli_writes_json(fed):
    store, _ = fed
    result = CliRunner().invoke(app, ["export", "signals", "--db", str(store.path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {s["authority"] for s in data["signals"]} == {"testshire"}


def test_signals_as_of_a_day_age_evidence_to_that_day(fed):
    """`--as-of` reproduces an earlier export: the same day gives the same scores, a year on halves them."""
    store, _ = fed

    def scores(day: str) -> dict[tuple[str, str], float]:
        result = CliRunner().invoke(app, ["export", "signals", "--db", str(store.path), "--as-of", day])
        assert result.exit_code == 0, result.output
        return {(s["theme"], s["polarity"]): s["score"] for s in json.loads(result.stdout)["signals"]}

    newest = max(d for (d,) in store.db.execute("select coalesce(date, added_at) from documents"))[:10]
    year_on = (date.fromisoformat(newest) + timedelta(days=365)).isoformat()
    now, later = scores(newest), scores(year_on)
    assert now and now == scores(newest) and now.keys() == later.keys()
    assert all(later[k] == pytest.approx(now[k] / 2, abs=2e-4) for k in now)
    bad = CliRunner().invoke(app, ["export", "signals", "--db", str(store.path), "--as-of", "30/06/2026"])
    assert bad.exit_code == 2 and "--as-of" in bad.output


@pytest.fixture
def api(fed):
    store, _ = fed
    token = add_token(store, "risk-engine")
    return TestClient(create_app(store.path), base_url="http://localhost"), token, store


def test_token_is_required(api):
    client, _, _ = api
    assert client.get("/api/v1/flags").status_code == 401
    assert client.get("/api/v1/flags", headers={"Authorization": "Bearer bvt_wrong"}).status_code == 401


def test_pages_return_each_event_once_in_cursor_order(api):
    client, token, store = api
    seen, cursor, more = [], 0, True
    while more:
        response = client.get("/api/v1/flags", params={"since": cursor, "limit": 2},
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        body = response.json()
        for record in body["records"]:
            validate_record(record)
        seen += [r["event_id"] for r in body["records"]]
        cursor, more = body["next_cursor"], body["more"]
    assert seen == [e["event_id"] for e in read_events(store)]
    bad = client.get("/api/v1/flags", params={"limit": 0}, headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400


def test_openapi_describes_the_endpoint(api):
    client, token, _ = api
    headers = {"Authorization": f"Bearer {token}"}
    spec = client.get("/api/v1/openapi.json", headers=headers).json()
    assert "/api/v1/flags" in spec["paths"] and spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    schema = client.get("/api/v1/schemas/flag_event.v1.json", headers=headers).json()
    assert schema["title"].startswith("bv-triage flag event")


def test_tokens_add_prints_a_token_once_and_stores_its_hash(tmp_path):
    result = CliRunner().invoke(app, ["tokens", "add", "risk-engine", "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("bvt_") and "cannot be shown again" in result.stderr
    from pipeline.store import Store

    with Store(tmp_path / "t.db") as store:
        [row] = list(store.db["api_tokens"].rows)
    assert row["name"] == "risk-engine" and token not in str(row)


def test_webhook_credentials_never_travel_in_the_url(fed, monkeypatch):
    store, _ = fed
    for url in ("https://risk:hunter2@risk.example/hook", "https://risk.example/hook?token=abc",
                "https://risk.example/hook?api_key=abc", "https://risk.example/hook?sig=abc", "ftp://risk.example/"):
        with pytest.raises(FeedError, match=r"BV_TRIAGE_WEBHOOK_TOKEN|http or https"):
            push_webhook(store, url, "secret")
    assert webhook_name("https://risk.example:8443/hook?tenant=acme-q7") == "https://risk.example:8443/hook?tenant=***"

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("BV_TRIAGE_WEBHOOK_SECRET", _Receiver.secret)
    monkeypatch.setenv("BV_TRIAGE_WEBHOOK_TOKEN", "receiver-token-123")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook?tenant=acme-q7"
        result = CliRunner().invoke(app, ["export", "push", "--db", str(store.path), "--outbox",
                                          str(store.path.parent / "outbox"), "--webhook", url])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert "acme-q7" not in result.stdout and "tenant=***" in result.stdout
    assert _Receiver.authorization == "Bearer receiver-token-123"
    destinations = [row[0] for row in store.db.execute("select destination from deliveries")]
    assert any(d.endswith("/hook?tenant=***") for d in destinations) and not any("acme-q7" in d for d in destinations)
    assert "receiver-token-123" not in result.stdout + result.stderr
