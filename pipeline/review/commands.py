"""Plain functions behind the ``triage`` commands for the review app (the CLI only parses arguments)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.errors import ReviewError
from pipeline.review.app import create_app
from pipeline.review.auth import add_reviewer as store_reviewer
from pipeline.review.web import LOOPBACK_HOSTS
from pipeline.store import Store


def allowed_hosts_for(host: str, allowed: Sequence[str] = ()) -> tuple[str, ...]:
    """The Host header values to answer: those given, else the loopback names (listening on loopback) or the
    address listened on; listening on every address needs them given."""
    if allowed:
        return tuple(allowed)
    if host in ("0.0.0.0", "::", ""):
        raise ReviewError("listening on every address needs --allowed-host NAME (the host name users type)")
    return LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else (host, *LOOPBACK_HOSTS)


def serve(db: Path, host: str, port: int, secure_cookies: bool | None, trusted_proxies: Sequence[str] = (),
          allowed_hosts: Sequence[str] = ()) -> None:
    """Serve the review app until interrupted. X-Forwarded-For and -Proto are believed only from
    ``trusted_proxies`` (the reverse proxy's address), so https behind it gets Secure cookies."""
    import uvicorn

    if not db.exists():
        raise ReviewError(f"no database at {db}; run `triage run` first")
    with Store(db) as store:
        if not store.db["reviewers"].count:
            raise ReviewError(f"no reviewers in {db}: add a lead first")
    app = create_app(db, secure_cookies, trusted_proxies, allowed_hosts_for(host, allowed_hosts))
    uvicorn.run(app, host=host, port=port, proxy_headers=False, server_header=False, log_level="info")


def add_reviewer(db: Path, name: str, role: str, password: str) -> None:
    """Add a reviewer (role analyst or lead); raises ReviewerError on a bad name, role or short password,
    or a name already taken."""
    with Store(db) as store:
        store_reviewer(store, name, role, password)
