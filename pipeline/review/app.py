"""The review app's ASGI factory and route table."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pipeline.review import api, insight, lead, login, views
from pipeline.review.decisions import REASONS
from pipeline.review.shortcuts import as_html, load_shortcuts
from pipeline.review.tables import table_view
from pipeline.review.web import LOOPBACK_HOSTS, AllowedHosts, SecurityHeaders, Settings, guarded, public, render
from pipeline.store import Store

HERE = Path(__file__).parent


def _routes() -> list[BaseRoute]:
    return [
        Route("/", lambda request: RedirectResponse("/queue", status_code=303)),
        Route("/login", public(login.login), methods=["GET", "POST"]),
        Route("/logout", guarded(login.logout), methods=["POST"]),
        Route("/queue", guarded(views.queue)),
        Route("/items/{passage}/{taxonomy}/{entry}", guarded(views.item_view)),
        Route("/items/{passage}/{taxonomy}/{entry}", guarded(views.decide), methods=["POST"]),
        Route("/reviews/{review_id}/undo", guarded(views.undo), methods=["POST"]),
        Route("/recent", guarded(views.recent)),
        Route("/api/entries", guarded(views.entries_api)),
        Route("/documents/{document_id}", guarded(views.document)),
        Route("/dashboard", guarded(insight.dashboard)),
        Route("/agreement", guarded(insight.agreement)),
        Route("/agreement/settle", guarded(insight.settle, lead_only=True), methods=["POST"]),
        Route("/bulk", guarded(lead.bulk_preview, lead_only=True)),
        Route("/bulk", guarded(lead.bulk_apply, lead_only=True), methods=["POST"]),
        Route("/batches/{batch}/undo", guarded(lead.undo_batch, lead_only=True), methods=["POST"]),
        Route("/assign", guarded(lead.assign, lead_only=True), methods=["POST"]),
        Route("/second-reviews", guarded(lead.second_reviews)),
        Route("/second-reviews", guarded(lead.request_second_reviews, lead_only=True), methods=["POST"]),
        Route("/second-reviews/{review_id}", guarded(lead.blind_item)),
        Route("/second-reviews/{review_id}", guarded(lead.blind_decide), methods=["POST"]),
        Route("/reviewers", guarded(lead.reviewers, lead_only=True)),
        Route("/reviewers", guarded(lead.add_reviewer, lead_only=True), methods=["POST"]),
        Route("/reviewers/{name}/disabled", guarded(lead.set_disabled, lead_only=True), methods=["POST"]),
        Route("/api/v1/flags", api.flags),
        Route("/api/v1/openapi.json", api.openapi),
        Route("/api/v1/schemas/flag_event.v1.json", api.schema),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Not found, method not allowed and the like, as a page in the app's style (and with its headers)."""
    status, detail = getattr(exc, "status_code", 500), getattr(exc, "detail", "something went wrong")
    return render(request, "error.html", {"message": detail, "reviewer": None, "csrf": ""}, status)


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(item_url=views.item_url, reason_labels=REASONS, shortcuts=load_shortcuts())
    env.filters.update(keys=as_html, table_view=table_view)
    return env


def create_app(db_path: Path | str, secure_cookies: bool | None = None, trusted_proxies: Iterable[str] = (),
               allowed_hosts: Iterable[str] = LOOPBACK_HOSTS) -> Starlette:
    """The review app over one database (migrated on the way in).

    ``secure_cookies``: None sets the Secure flag when a request came over https (directly, or per
    X-Forwarded-Proto from a trusted proxy); True always sets it; False never does. ``trusted_proxies``:
    the addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (none by
    default: a header anyone can send must not choose whose login attempts are counted). ``allowed_hosts``:
    the names the Host header may carry.
    """
    Store(db_path).close()  # create or migrate the schema before the first request
    app = Starlette(routes=_routes(), exception_handlers={HTTPException: _http_error},
                    middleware=[Middleware(SecurityHeaders), Middleware(AllowedHosts, allowed=allowed_hosts)])
    app.state.settings = Settings(Path(db_path), secure_cookies, frozenset(trusted_proxies), templates())
    return app
