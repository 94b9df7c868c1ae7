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
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil

from pipeline.errors import ReviewerError
from pipeline.review.passwords import dummy_hash, hash_password, verify_password
from pipeline.store import Store
from pipeline.store.base import now

ROLES = ("analyst", "lead")
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
MAX_WAIT = 300  # seconds: the back-off's ceiling
FREE_FAILURES = {"name_client": 3, "client": 10}  # failures before the back-off starts, per key
_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


@dataclass(frozen=True)
class Session:
    reviewer: Reviewer
    csrf: str


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
    try:
        with store.transaction():
            store.db["reviewers"].insert({"name": name, "role": role, "password_hash": hash_password(password),
                                          "created_at": now(), "disabled": 0})
    except sqlite3.IntegrityError as e:
        raise ReviewerError(f"reviewer {name!r} already exists") from e
    return Reviewer(name, role)


def list_reviewers(store: Store) -> list[dict]:
    return [dict(zip(("name", "role", "created_at", "disabled"), row, strict=True)) for row in store.db.execute(
        "select name, role, created_at, coalesce(disabled, 0) from reviewers order by name")]


def set_disabled(store: Store, name: str, disabled: bool) -> bool:
    """Disable or re-enable a reviewer; disabling also ends their sessions. False if there is no such name."""
    with store.transaction():
        changed = store.db.execute("update reviewers set disabled = ? where name = ?", [int(disabled), name]).rowcount
        if disabled:
            store.db.execute("delete from sessions where reviewer = ?", [name])
    return bool(changed)


def authenticate(store: Store, name: str, password: str) -> Reviewer | None:
    """The reviewer if the password matches and the account is enabled. Unknown names cost a hash too."""
    row = store.db.execute("select role, password_hash, coalesce(disabled, 0) from reviewers where name = ?",
                           [name]).fetchone()
    if row is None:
        verify_password(password, dummy_hash())
        return None
    role, stored, disabled = row
    return Reviewer(name, role) if verify_password(password, stored) and not disabled else None


def login_wait(store: Store, name: str, client: str) -> int:
    """Seconds this client must wait before trying this name again: none until a key has had its free failures
    in the window, then 1, 2, 4, ... seconds after the latest failure, up to MAX_WAIT."""
    moment = datetime.now(UTC)
    since = (moment - LOGIN_WINDOW).isoformat()
    wait = 0.0
    for key, (where, params) in {"name_client": ("name = ? and client = ?", [name, client]),
                                 "client": ("client = ?", [client])}.items():
        failures, latest = store.db.execute(
            f"select count(*), max(at) from login_attempts where {where} and ok = 0 and at >= ?",
            [*params, since]).fetchone()
        if failures >= FREE_FAILURES[key]:
            delay = min(MAX_WAIT, 2 ** (failures - FREE_FAILURES[key]))
            wait = max(wait, delay - (moment - datetime.fromisoformat(latest)).total_seconds())
    return max(0, ceil(wait))


def record_attempt(store: Store, name: str, client: str, ok: bool) -> None:
    """Record a login attempt, to the microsecond: the back-off's first steps are one and two seconds."""
    with store.transaction():
        store.db["login_attempts"].insert({"name": name[:64], "client": client, "ok": int(ok),
                                           "at": datetime.now(UTC).isoformat()})


def start_session(store: Store, reviewer: Reviewer) -> tuple[str, Session]:
    """A new session token (for the cookie only) and the session; expired sessions are cleared."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    moment = datetime.now(UTC)
    with store.transaction():
        store.db.execute("delete from sessions where expires_at < ?", [_stamp(moment)])
        store.db["sessions"].insert({"token_hash": _token_hash(token), "reviewer": reviewer.name, "csrf": csrf,
                                     "created_at": _stamp(moment), "expires_at": _stamp(moment + SESSION_LIFETIME)})
    return token, Session(reviewer, csrf)


def find_session(store: Store, token: str | None) -> Session | None:
    """The live session for a cookie token, if any (and its reviewer is still enabled)."""
    if not token:
        return None
    row = store.db.execute(
        "select r.name, r.role, s.csrf from sessions s join reviewers r on r.name = s.reviewer "
        "where s.token_hash = ? and s.expires_at > ? and coalesce(r.disabled, 0) = 0",
        [_token_hash(token), now()]).fetchone()
    return Session(Reviewer(row[0], row[1]), row[2]) if row else None


def end_session(store: Store, token: str | None) -> None:
    if token:
        with store.transaction():
            store.db.execute("delete from sessions where token_hash = ?", [_token_hash(token)])


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode("utf-8"), expected.encode("utf-8"))
