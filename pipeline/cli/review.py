"""``triage review``, ``triage explore``, ``triage reviewers`` and ``triage tokens``: the analysts' apps."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import DbPath, ExistingDb, err, fail, out

reviewers_app = typer.Typer(help="Analysts who review suggested evidence.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for the risk engine's /api/v1/flags.", no_args_is_help=True)


def review(
    db: DbPath = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[bool | None, typer.Option("--secure-cookies/--no-secure-cookies", help="Force the "
                                                        "Secure cookie flag (default: when served over https).")
                              ] = None,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", help="Address of a reverse proxy whose X-Forwarded-For/-Proto headers are believed "
        "(repeatable; default none).")] = None,
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", help="Host name the app answers to (repeatable; '*.example.org' for subdomains; "
        "default: the loopback names, or the --host address).")] = None,
) -> None:
    """Serve the analyst review app (login required; see `triage reviewers add`)."""
    from pipeline.review.commands import serve

    serve(db, host, port, secure_cookies, trusted_proxy or (), allowed_host or ())


def explore(
    db: DbPath = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (no login: keep it loopback).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8001,
    review_url: Annotated[str, typer.Option("--review-url", help="Where analysts reach the review app: passage ids "
                                            "link to its item pages.")] = "http://127.0.0.1:8000",
) -> None:
    """Explore the database read-only in Datasette: facets, full-text search, canned queries."""
    from pipeline.report.explore import serve

    err.print(f"Datasette on http://{host}:{port} (read-only)", highlight=False)
    serve(db, host, port, review_url)


@reviewers_app.command("add")
def reviewers_add(
    name: Annotated[str, typer.Argument(help="Reviewer name (used to log in).")],
    role: Annotated[str, typer.Option("--role", help="analyst or lead.")] = "analyst",
    db: DbPath = None,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="Read the password from this "
                                                       "file (for scripts) instead of a prompt.")] = None,
) -> None:
    """Add a reviewer; the password is stored as a salted scrypt hash."""
    from pipeline.review.commands import add_reviewer

    if password_file:
        try:
            password = password_file.read_text(encoding="utf-8").rstrip("\n")
        except OSError as e:
            raise fail(f"{password_file}: {e.strerror}") from e
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    add_reviewer(db, name, role, password)
    out.print(f"added {role} {name}", highlight=False)


@tokens_app.command("add")
def tokens_add(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. risk-engine.")],
    db: DbPath = None,
) -> None:
    """Create an API token for GET /api/v1/flags; it is printed once and stored only as a hash."""
    from pipeline.review.api import add_token
    from pipeline.store import Store

    with Store(db) as store:
        token = add_token(store, name)
    sys.stdout.write(token + "\n")
    err.print("store this token now: it cannot be shown again", highlight=False)


@tokens_app.command("list")
def tokens_list(db: ExistingDb = None) -> None:
    """List API tokens by id and name (never the tokens themselves), with their dates and state."""
    from rich.table import Table
    from rich.text import Text

    from pipeline.store import Store

    with Store(db) as store:
        tokens = store.api_tokens()
    if not tokens:
        err.print("no API tokens (add one with `triage tokens add NAME`)", highlight=False)
        return
    table = Table("id", "name", "created by", "created", "last used", "state")
    for t in tokens:
        table.add_row(t.id, Text(t.name), Text(t.created_by), t.created_at, t.last_used_at or "never",
                      "revoked" if t.revoked else "live")
    out.print(table, highlight=False)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token's id from `triage tokens list` (6+ characters), or its "
                                        "name to revoke every live token of that name.")],
    db: ExistingDb = None,
) -> None:
    """Revoke an API token: requests with it get 401 from then on."""
    from pipeline.review.api import revoke_token
    from pipeline.store import Store

    with Store(db) as store:
        revoked = revoke_token(store, token)
    out.print(f"revoked {len(revoked)} token(s): {', '.join(revoked)}", highlight=False)
