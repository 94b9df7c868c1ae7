"""Who may use the review app and the feed API: reviewer accounts, login sessions, the login back-off's
attempts and API tokens. Callers pass hashes only (of passwords, session tokens and API tokens), so
nothing here can log anyone in."""

from __future__ import annotations

import sqlite3

from pipeline.domain import API_TOKEN_ID_LENGTH, ApiToken, Reviewer, ReviewerAccount, Session
from pipeline.store.base import StoreBase, now


class AccessMixin(StoreBase):
    # -- reviewer accounts ---------------------------------------------------------------------------

    def add_reviewer_account(self, reviewer: Reviewer, password_hash: str) -> bool:
        """Store a new, enabled reviewer; False when the name is taken."""
        try:
            with self.transaction():
                self.db["reviewers"].insert({"name": reviewer.name, "role": reviewer.role,
                                             "password_hash": password_hash, "created_at": now(), "disabled": 0})
        except sqlite3.IntegrityError:
            return False
        return True

    def reviewer_accounts(self) -> list[ReviewerAccount]:
        """Every reviewer, by name."""
        return [ReviewerAccount(Reviewer(name, role), created_at, bool(disabled)) for name, role, created_at, disabled
                in self.db.execute("select name, role, created_at, coalesce(disabled, 0) from reviewers order by name")]

    def credentials(self, name: str) -> tuple[ReviewerAccount, str] | None:
        """The reviewer's account and password hash, to check a login against."""
        row = self.db.execute("select role, created_at, coalesce(disabled, 0), password_hash from reviewers "
                              "where name = ?", [name]).fetchone()
        return (ReviewerAccount(Reviewer(name, row[0]), row[1], bool(row[2])), row[3]) if row else None

    def set_reviewer_disabled(self, name: str, disabled: bool) -> bool:
        """Disable or re-enable a reviewer, ending their sessions on disabling; False if there is no such name."""
        with self.transaction():
            changed = self.db.execute("update reviewers set disabled = ? where name = ?",
                                      [int(disabled), name]).rowcount
            if disabled:
                self.db.execute("delete from sessions where reviewer = ?", [name])
        return bool(changed)

    # -- the login back-off --------------------------------------------------------------------------

    def record_login_attempt(self, name: str, client: str, ok: bool, at: str) -> None:
        with self.transaction():
            self.db["login_attempts"].insert({"name": name[:64], "client": client, "ok": int(ok), "at": at})

    def login_failures(self, client: str, since: str, name: str | None = None) -> tuple[int, str | None]:
        """Failed logins from the client (for this name only, when given) at or after ``since``: how many, and
        when the latest was."""
        where, params = ("name = ? and client = ?", [name, client]) if name is not None else ("client = ?", [client])
        failures, latest = self.db.execute(
            f"select count(*), max(at) from login_attempts where {where} and ok = 0 and at >= ?",
            [*params, since]).fetchone()
        return int(failures), latest

    # -- sessions ------------------------------------------------------------------------------------

    def add_session(self, token_hash: str, session: Session, created_at: str, expires_at: str) -> None:
        """Store a session under its token's hash, clearing the sessions expired by ``created_at``."""
        with self.transaction():
            self.db.execute("delete from sessions where expires_at < ?", [created_at])
            self.db["sessions"].insert({"token_hash": token_hash, "reviewer": session.reviewer.name,
                                        "csrf": session.csrf, "created_at": created_at, "expires_at": expires_at})

    def live_session(self, token_hash: str) -> Session | None:
        """The unexpired session with this token hash, while its reviewer is enabled."""
        row = self.db.execute(
            "select r.name, r.role, s.csrf from sessions s join reviewers r on r.name = s.reviewer "
            "where s.token_hash = ? and s.expires_at > ? and coalesce(r.disabled, 0) = 0",
            [token_hash, now()]).fetchone()
        return Session(Reviewer(row[0], row[1]), row[2]) if row else None

    def end_session(self, token_hash: str) -> None:
        with self.transaction():
            self.db.execute("delete from sessions where token_hash = ?", [token_hash])

    # -- API tokens ----------------------------------------------------------------------------------

    def add_api_token(self, token_hash: str, name: str, created_by: str) -> None:
        with self.transaction():
            self.db["api_tokens"].insert({"token_hash": token_hash, "name": name, "created_by": created_by,
                                          "created_at": now(), "revoked": 0})

    def api_tokens(self, live_only: bool = False) -> list[ApiToken]:
        """Every token (or only those not revoked), newest first."""
        where = " where revoked = 0" if live_only else ""
        return [ApiToken(*row[:5], bool(row[5])) for row in self.db.execute(
            "select token_hash, name, created_by, created_at, last_used_at, revoked from api_tokens"
            f"{where} order by created_at desc, name")]

    def revoke_api_tokens(self, ids: list[str]) -> None:
        """Revoke the tokens named by these ids (``ApiToken.id``)."""
        with self.transaction():
            for token_id in ids:
                self.db.execute("update api_tokens set revoked = 1 where substr(token_hash, 1, ?) = ?",
                                [API_TOKEN_ID_LENGTH, token_id])

    def mark_api_token_used(self, token_hash: str) -> None:
        with self.transaction():
            self.db.execute("update api_tokens set last_used_at = ? where token_hash = ?", [now(), token_hash])
