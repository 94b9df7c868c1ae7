"""Plain functions behind the ``triage`` commands for the review app (the CLI only parses arguments)."""

from __future__ import annotations

from pathlib import Path

from pipeline.review.app import TRUSTED_PROXIES, create_app
from pipeline.review.auth import add_reviewer as store_reviewer
from pipeline.review.errors import ReviewError
from pipeline.store import Store


def serve(db: Path, host: str, port: int, secure_cookies: bool | None) -> None:
    """Serve the review app until interrupted. Behind a reverse proxy on this machine, its
    X-Forwarded-For/-Proto headers are trusted, so https requests get Secure cookies."""
    import uvicorn

    if not db.exists():
        raise ReviewError(f"no database at {db}; run `triage run` first")
    with Store(db) as store:
        if not store.db["reviewers"].count:
            raise ReviewError(f"no reviewers in {db}: add a lead first")
    uvicorn.run(create_app(db, secure_cookies), host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=",".join(TRUSTED_PROXIES), server_header=False, log_level="info")


def add_reviewer(db: Path, name: str, role: str, password: str) -> None:
    """Add a reviewer (role analyst or lead); raises ReviewerError on a bad name, role or short password,
    or a name already taken."""
    with Store(db) as store:
        store_reviewer(store, name, role, password)
