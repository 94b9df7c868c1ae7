"""Reviewers, login sessions and the login back-off, kept in the store.

Only a hash of a session token is stored, so a copy of the database cannot be used to log in.
Each session carries its own CSRF token. Failed logins slow down the guesser, never lock out the
reviewer: the back-off is keyed by name *and* client (and by client alone), so failures from one
place cost nothing to the same name logging in from another, and it grows exponentially instead of
shutting the door for a fixed time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from math import ceil

from pipeline.domain import Reviewer, Session
from pipeline.errors import ReviewerError
from pipeline.review.passwords import dummy_hash, hash_password, verify_password
from pipeline.store import Store

ROLES = ("analyst", "lead")
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
MAX_WAIT = 300  # seconds: the back-off's ceiling
FREE_FAILURES = {"name_client": 3, "client": 10}  # failures before the back-off starts, per key
_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_reviewer(store: Store, name: str, role: str, password: str) -> Reviewer:
    """Validate and store a new reviewer with a scrypt password hash."""
    if not _NAME.match(name):
        raise ReviewerError(f"invalid reviewer name {name!r}: use 2-32 lower-case letters, digits, '.', '_' or "
                            "'-', starting with a letter")
    if role not in ROLES:
        raise ReviewerError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ReviewerError(f"password too short: use at least {MIN_PASSWORD} characters")
    reviewer = Reviewer(name, role)
    if not store.add_reviewer_account(reviewer, hash_password(password)):
        raise ReviewerError(f"reviewer {name!r} already exists")
    return reviewer


def authenticate(store: Store, name: str, password: str) -> Reviewer | None:
    """The reviewer if the password matches and the account is enabled. Unknown names cost a hash too."""
    found = store.credentials(name)
    if found is None:
        verify_password(password, dummy_hash())
        return None
    account, stored = found
    return account.reviewer if verify_password(password, stored) and not account.disabled else None


def login_wait(store: Store, name: str, client: str) -> int:
    """Seconds this client must wait before trying this name again: none until a key has had its free failures
    in the window, then 1, 2, 4, ... seconds after the latest failure, up to MAX_WAIT."""
    moment = datetime.now(UTC)
    since = (moment - LOGIN_WINDOW).isoformat()
    wait = 0.0
    for key, of_name in (("name_client", name), ("client", None)):
        failures, latest = store.login_failures(client, since, of_name)
        if failures >= FREE_FAILURES[key]:
            delay = min(MAX_WAIT, 2 ** (failures - FREE_FAILURES[key]))
            wait = max(wait, delay - (moment - datetime.fromisoformat(latest)).total_seconds())
    return max(0, ceil(wait))


def record_attempt(store: Store, name: str, client: str, ok: bool) -> None:
    """Record a login attempt, to the microsecond: the back-off's first steps are one and two seconds."""
    store.record_login_attempt(name, client, ok, datetime.now(UTC).isoformat())


def start_session(store: Store, reviewer: Reviewer) -> tuple[str, Session]:
    """A new session token (for the cookie only) and the session; expired sessions are cleared."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    moment = datetime.now(UTC)
    session = Session(reviewer, csrf)
    store.add_session(_token_hash(token), session, _stamp(moment), _stamp(moment + SESSION_LIFETIME))
    return token, session


def find_session(store: Store, token: str | None) -> Session | None:
    """The live session for a cookie token, if any (and its reviewer is still enabled)."""
    return store.live_session(_token_hash(token)) if token else None


def end_session(store: Store, token: str | None) -> None:
    if token:
        store.end_session(_token_hash(token))


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode("utf-8"), expected.encode("utf-8"))
