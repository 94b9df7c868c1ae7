"""The review app's security promises, over HTTP against a real SQLite file: login everywhere, CSRF and
same-origin checks, hardened cookies and headers, escaping, the login rate limit, lead-only actions."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

import pytest
from review_fixtures import (
    HOSTILE,
    PASSWORD,
    ReviewDb,
    client_for,
    hidden,
    log_in,
    logged_in,
)
from starlette.routing import Route

from pipeline.errors import ReviewerError, ReviewError, TriageError
from pipeline.review.api import add_token
from pipeline.review.app import create_app
from pipeline.review.commands import add_reviewer, allowed_hosts_for, serve
from pipeline.review.passwords import verify_password
from pipeline.store import Store

A = "a" * 64


def _state(review: ReviewDb) -> tuple[int, list[tuple]]:
    """What a refused request must not change: the audit trail and the evidence."""
    with Store(review.path) as store:
        return (store.db["reviews"].count,
                store.db.execute("select passage, entry, status, version from evidence order by 1, 2").fetchall())


def _routes(app) -> list[tuple[str, str]]:
    concrete = {"passage": "p-a-1", "taxonomy": "bv-2023-draft", "entry": "R-F09", "document_id": A,
                "review_id": "1", "name": "ana", "batch": "1"}
    found = []
    for route in app.routes:
        if isinstance(route, Route) and route.path not in ("/", "/login"):
            path = route.path.format(**concrete)
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def test_every_page_and_action_needs_a_login(app, review):
    routes = _routes(app)
    assert {("GET", "/queue"), ("POST", "/bulk"), ("GET", "/api/entries")} <= set(routes)
    before = _state(review)
    client = client_for(app)
    for method, path in routes:
        response = client.request(method, path, data={"decision": "confirm", "version": "0"})
        if method == "GET" and not path.startswith("/api/"):
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")
        else:
            assert response.status_code == 401, (method, path)
    assert client.get("/queue", headers={"accept": "application/json"}).json() == {"error": "log in first"}
    assert client.get("/queue", cookies={"bv_session": "forged"}).status_code == 303
    assert _state(review) == before


def test_a_forged_cross_site_post_is_refused(app, review):
    client, csrf = logged_in(app, "ana")
    item = review.item_path(A, 1, "R-F09")
    before = _state(review)
    forged = [
        ({"decision": "confirm", "version": "0"}, {}),  # no token
        ({"decision": "confirm", "version": "0", "csrf_token": "x" * 43}, {}),  # wrong token
        ({"decision": "confirm", "version": "0", "csrf_token": csrf}, {"origin": "https://evil.example"}),
        ({"decision": "confirm", "version": "0", "csrf_token": csrf}, {"origin": "null"}),
        ({"decision": "confirm", "version": "0", "csrf_token": csrf}, {"origin": "", "referer": "https://evil.example/"}),
        ({"decision": "confirm", "version": "0", "csrf_token": csrf}, {"origin": ""}),  # neither Origin nor Referer
    ]
    for data, headers in forged:
        response = client.post(item, data=data, headers=headers)
        assert response.status_code == 403, headers
    assert client.post("/logout", data={}).status_code == 403
    assert _state(review) == before
    same_site = client.post(item, data={"decision": "confirm", "version": "0"},
                            headers={"x-csrf-token": csrf, "origin": "", "referer": "http://localhost/queue"})
    assert same_site.status_code == 303
    assert _state(review)[0] == before[0] + 1


def test_the_login_form_refuses_a_cross_site_post(app):
    client = client_for(app)
    token = hidden(client.get("/login").text, "login_token")
    data = {"name": "ana", "password": PASSWORD, "login_token": token}
    assert client.post("/login", data=data, headers={"origin": "https://evil.example"}).status_code == 403
    refused = client.post("/login", data={**data, "login_token": "guess"})
    assert refused.status_code == 403
    assert "bv_session" not in client.cookies
    fresh = hidden(refused.text, "login_token")  # each form carries a new token
    assert client.post("/login", data={**data, "login_token": fresh}).status_code == 303


def test_login_only_redirects_within_the_site(app):
    client = client_for(app)
    for target, expected in [("/dashboard?authority=ferncastle", "/dashboard?authority=ferncastle"),
                             ("//evil.example/", "/queue"), ("https://evil.example/", "/queue"),
                             ("/\\evil.example", "/queue")]:
        client.cookies.clear()
        token = hidden(client.get("/login", params={"next": target}).text, "login_token")
        response = client.post("/login", data={"name": "ana", "password": PASSWORD, "login_token": token,
                                               "next": target})
        assert response.headers["location"] == expected, target


def test_session_cookie_is_httponly_and_samesite_and_secure_over_https(app, review):
    client = client_for(app)
    cookie = log_in(client, "ana").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = client.cookies["bv_session"]
    with Store(review.path) as store:  # only a hash of the token is stored
        assert store.db.execute("select count(*) from sessions where token_hash = ?",
                                [hashlib.sha256(token.encode()).hexdigest()]).fetchone()[0] == 1
        assert not store.db.execute("select count(*) from sessions where token_hash = ?", [token]).fetchone()[0]

    def login_cookie(client) -> str:
        return log_in(client, "ana").headers["set-cookie"]

    assert "Secure" in login_cookie(client_for(app, base_url="https://localhost"))
    proxied = create_app(review.path, trusted_proxies=["10.0.0.2"])
    assert "Secure" in _proxied(proxied, ("10.0.0.2", 5000), "https://localhost")  # the configured proxy says https
    assert "Secure" not in _proxied(proxied, ("203.0.113.9", 5000), "http://localhost")  # anyone else cannot
    assert "Secure" not in _proxied(app, ("127.0.0.1", 5000), "http://localhost")  # nor loopback, unless configured
    assert "Secure" in login_cookie(client_for(create_app(review.path, secure_cookies=True)))


def _proxied(app, address: tuple[str, int], origin: str) -> str:
    """The session cookie of a login relayed with X-Forwarded-Proto: https from ``address``."""
    client = client_for(app, client=address)
    token = hidden(client.get("/login").text, "login_token")
    response = client.post("/login", data={"name": "ana", "password": PASSWORD, "login_token": token},
                           headers={"x-forwarded-proto": "https", "origin": origin})
    assert response.status_code == 303
    return response.headers["set-cookie"]


def test_security_headers_and_no_inline_script(app, review):
    client, _ = logged_in(app, "ana")
    for path in ("/login", "/queue", review.item_path(A, 1, "R-F09"), "/dashboard", "/agreement", "/nowhere"):
        response = client.get(path)
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), path  # no inline script
        assert not re.search(r"<[a-z][^>]*\son[a-z]+=", response.text), path  # no inline event handlers
    stored_html = client.get(f"/documents/{'b' * 64}")
    assert stored_html.status_code == 200 and "sandbox" in stored_html.headers["content-security-policy"]


def test_hostile_passage_text_renders_inert(app, review):
    client, csrf = logged_in(app, "ana")
    item = review.item_path(A, 3, "R-F02")
    client.post(item, data={"csrf_token": csrf, "decision": "note", "note": HOSTILE})
    pages = [client.get("/queue?authority=brackenmoor").text, client.get(item).text,
             client.get("/dashboard?authority=brackenmoor").text,
             client.get('/queue?entry="><script>alert(1)</script>').text]
    for html in pages:
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0] and "&lt;img src=x onerror=alert(1)&gt;" in pages[0]
    assert pages[1].count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # the passage and the note


def _age_attempts(review: ReviewDb, seconds: int) -> None:
    """Let time pass for the back-off: every recorded login attempt moves ``seconds`` into the past."""
    with Store(review.path) as store, store.transaction():
        for row_id, at in store.db.execute("select id, at from login_attempts").fetchall():
            earlier = (datetime.fromisoformat(at) - timedelta(seconds=seconds)).isoformat(timespec="seconds")
            store.db.execute("update login_attempts set at = ? where id = ?", [earlier, row_id])


@pytest.mark.slow
def test_failed_logins_back_off_exponentially_per_name_and_client(app, review):
    attacker = client_for(app, client=("198.51.100.7", 4000))
    for _ in range(3):
        assert log_in(attacker, "ana", "wrong password!").status_code == 401
    waits = []
    for _ in range(4):
        blocked = log_in(attacker, "ana")  # even the right password must wait
        assert blocked.status_code == 429 and "wait" in blocked.text
        waits.append(int(blocked.headers["retry-after"]))
        _age_attempts(review, waits[-1])
        assert log_in(attacker, "ana", "wrong password!").status_code == 401  # the wait is over: a new guess
    assert waits == [1, 2, 4, 8]  # doubling, never a fixed lock-out
    assert log_in(attacker, "bob").status_code == 303  # another name from the same client is not held up
    assert log_in(client_for(app, client=("192.0.2.1", 4000)), "ana").status_code == 303  # nor ana elsewhere
    _age_attempts(review, 3600)
    assert log_in(client_for(app, client=("198.51.100.7", 4000)), "ana").status_code == 303  # the window is over


@pytest.mark.slow
def test_one_client_guessing_many_names_backs_off_too(app):
    guesser = client_for(app, client=("198.51.100.8", 4000))
    names = ["ana", "bob", "lee", "zed", "amy"]
    for n in range(10):
        assert log_in(guesser, names[n % 5], "wrong password!").status_code == 401
    assert log_in(guesser, "bob").status_code == 429
    assert log_in(client_for(app, client=("192.0.2.1", 4000)), "bob").status_code == 303


@pytest.mark.slow
def test_spoofed_forwarded_for_cannot_lock_a_reviewer_out(app, review):
    """X-Forwarded-For is anyone's to write: unless it comes from a configured proxy it is ignored, so varying
    it neither escapes the back-off nor pins failures on a victim's address."""
    spoofer = client_for(app, client=("127.0.0.1", 4000))
    for n in range(8):
        response = log_in_with(spoofer, "ana", "wrong password!", {"x-forwarded-for": f"192.0.2.{n}"})
        assert response.status_code in (401, 429)
    assert log_in_with(spoofer, "ana", PASSWORD, {"x-forwarded-for": "192.0.2.200"}).status_code == 429
    for n in range(8):  # the victim's real addresses were never blamed
        assert log_in(client_for(app, client=(f"192.0.2.{n}", 4000)), "ana").status_code == 303
    with Store(review.path) as store:
        assert {row[0] for row in store.db.execute("select client from login_attempts where ok = 0")} == {"127.0.0.1"}

    proxied = create_app(review.path, trusted_proxies=["10.0.0.2"])  # behind a configured reverse proxy
    behind = client_for(proxied, client=("10.0.0.2", 4000))
    for _ in range(6):  # one user behind the proxy fails, with a forged address on the left of the chain
        log_in_with(behind, "bob", "wrong password!", {"x-forwarded-for": "192.0.2.9, 203.0.113.5"})
    assert log_in_with(behind, "bob", PASSWORD, {"x-forwarded-for": "203.0.113.5"}).status_code == 429
    assert log_in_with(behind, "bob", PASSWORD, {"x-forwarded-for": "203.0.113.6"}).status_code == 303  # others not
    with Store(review.path) as store:
        assert {row[0] for row in store.db.execute("select client from login_attempts where name = 'bob'")} == {
            "203.0.113.5", "203.0.113.6"}


def log_in_with(client, name: str, password: str, headers: dict[str, str]):
    token = hidden(client.get("/login", headers=headers).text, "login_token")
    return client.post("/login", data={"name": name, "password": password, "login_token": token}, headers=headers)


def test_host_header_must_name_an_allowed_host(review):
    app = create_app(review.path, allowed_hosts=["review.example.org", "*.council.example"])
    for host, status in [("review.example.org", 303), ("review.example.org:8443", 303), ("a.council.example", 303),
                         ("evil.example", 400), ("review.example.org.evil.example", 400), ("", 400), ("[::1", 400)]:
        response = client_for(app).get("/queue", headers={"host": host})
        assert response.status_code == status, host
        if status == 400:
            assert response.text.startswith("unknown host") and response.headers["x-frame-options"] == "DENY"
    assert client_for(create_app(review.path), base_url="http://127.0.0.1:8000").get("/login").status_code == 200
    assert allowed_hosts_for("127.0.0.1") == ("localhost", "127.0.0.1", "::1")
    assert allowed_hosts_for("10.1.2.3")[0] == "10.1.2.3"
    with pytest.raises(ReviewError, match="--allowed-host"):
        allowed_hosts_for("0.0.0.0")


@pytest.mark.parametrize("path", ["/queue?page=99999999999999999999999", "/queue?seed=1e9&order=shuffle",
                                  "/queue?page=%C2%B2", "/items/p-a-1/bv-2023-draft/R-F09?pos=18446744073709551616",
                                  "/dashboard?n=-1"])
def test_oversized_or_malformed_integers_are_a_clear_400(app, path):
    client, _ = logged_in(app, "lee")
    response = client.get(path)
    assert response.status_code == 400 and "must be a whole number" in response.text


def test_oversized_ids_and_api_integers_are_refused_cleanly(app, review):
    client, _ = logged_in(app, "lee")
    assert client.get("/second-reviews/99999999999999999999999999").status_code == 404
    with Store(review.path) as store:
        token = add_token(store, "risk-engine")
    for query in ("since=99999999999999999999999", "limit=1" + "0" * 30):
        response = client_for(app).get(f"/api/v1/flags?{query}", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 400 and "whole number" in response.json()["error"]
    assert client_for(app).get("/api/v1/flags?since=" + "9" * 40).status_code == 401  # the token check comes first


def test_unknown_names_and_disabled_reviewers_cannot_log_in(app, review):
    assert log_in(client_for(app), "nobody").status_code == 401
    lead, csrf = logged_in(app, "lee")
    ana, _ = logged_in(app, "ana")
    assert lead.post("/reviewers/ana/disabled", data={"csrf_token": csrf, "disabled": "1"}).status_code == 200
    assert ana.get("/queue").status_code == 303  # the session ended
    assert log_in(client_for(app), "ana").status_code == 401


def test_lead_only_actions_are_refused_for_analysts(app, review):
    analyst, csrf = logged_in(app, "ana")
    before = _state(review)
    refused = [analyst.get("/bulk?decision=confirm"),
               analyst.post("/bulk", data={"csrf_token": csrf, "decision": "confirm", "expected": "9"}),
               analyst.post("/second-reviews", data={"csrf_token": csrf, "assignee": "bob", "size": "3"}),
               analyst.get("/reviewers"),
               analyst.post("/reviewers", data={"csrf_token": csrf, "name": "eve", "role": "lead",
                                                "password": "x" * 12}),
               analyst.post("/reviewers/bob/disabled", data={"csrf_token": csrf, "disabled": "1"})]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert _state(review) == before
    with Store(review.path) as store:
        assert store.db["reviewers"].count == 3 and not store.db["second_reviews"].count
    assert "bulk-form" not in analyst.get("/queue").text


def test_a_lead_adds_reviewers_through_the_form(app, review):
    lead, csrf = logged_in(app, "lee")
    added = lead.post("/reviewers", data={"csrf_token": csrf, "name": "cat", "role": "analyst",
                                          "password": "  long enough pw "})
    assert added.status_code == 200 and "Added cat" in added.text
    assert log_in(client_for(app), "cat", "  long enough pw ").status_code == 303
    duplicate = lead.post("/reviewers", data={"csrf_token": csrf, "name": "cat", "role": "analyst",
                                              "password": "x" * 12})
    assert duplicate.status_code == 400 and "already exists" in duplicate.text


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("Ana!", "analyst", PASSWORD, "invalid reviewer name"),
    ("a", "analyst", PASSWORD, "invalid reviewer name"),
    ("dan", "admin", PASSWORD, "unknown role"),
    ("dan", "lead", "short", "password too short"),
    ("ana", "analyst", PASSWORD, "already exists"),
])
def test_add_reviewer_rejects_bad_input(review, name, role, password, message):
    with pytest.raises(ReviewerError, match=message) as raised:
        add_reviewer(review.path, name, role, password)
    assert isinstance(raised.value, TriageError)


def test_add_reviewer_stores_a_salted_scrypt_hash(review):
    add_reviewer(review.path, "dan", "lead", PASSWORD)
    with Store(review.path) as store:
        hashes = dict(store.db.execute("select name, password_hash from reviewers where name in ('ana', 'dan')"))
        assert store.db["reviewers"].get("dan")["role"] == "lead"
    assert all(h.startswith("scrypt$") and PASSWORD not in h for h in hashes.values())
    assert hashes["ana"] != hashes["dan"]  # same password, different salts
    assert verify_password(PASSWORD, hashes["dan"]) and not verify_password(PASSWORD + "x", hashes["dan"])


def test_serve_refuses_a_missing_database_or_one_without_reviewers(tmp_path):
    with pytest.raises(ReviewError, match="no database"):
        serve(tmp_path / "missing.db", "127.0.0.1", 0, None)
    Store(tmp_path / "empty.db").close()
    with pytest.raises(ReviewError, match="no reviewers"):
        serve(tmp_path / "empty.db", "127.0.0.1", 0, None)


def test_tokens_are_listed_by_id_and_revoked_from_the_cli(review):
    from typer.testing import CliRunner

    from pipeline.cli import app as cli

    runner = CliRunner()
    db = ["--db", str(review.path)]
    first = runner.invoke(cli, ["tokens", "add", "risk-engine", *db]).stdout.strip()
    second = runner.invoke(cli, ["tokens", "add", "dashboard", *db]).stdout.strip()
    app = create_app(review.path)

    def answer(token: str) -> int:
        return client_for(app).get("/api/v1/flags", headers={"authorization": f"Bearer {token}"}).status_code

    assert answer(first) == answer(second) == 200
    listing = runner.invoke(cli, ["tokens", "list", *db])
    assert listing.exit_code == 0 and "risk-engine" in listing.stdout and "dashboard" in listing.stdout
    assert first not in listing.stdout and second not in listing.stdout  # never the tokens themselves
    token_id = hashlib.sha256(first.encode()).hexdigest()[:12]
    assert token_id in listing.stdout

    revoked = runner.invoke(cli, ["tokens", "revoke", token_id[:8], *db])
    assert revoked.exit_code == 0 and token_id in revoked.stdout
    assert answer(first) == 401 and answer(second) == 200
    assert "revoked" in runner.invoke(cli, ["tokens", "list", *db]).stdout
    again = runner.invoke(cli, ["tokens", "revoke", token_id, *db])
    assert again.exit_code == 1 and "no live token" in again.stderr
    assert runner.invoke(cli, ["tokens", "revoke", "dashboard", *db]).exit_code == 0 and answer(second) == 401
    assert runner.invoke(cli, ["tokens", "add", "bad\x1b[31mname", *db]).exit_code == 1
