"""Request plumbing shared by every route: the login requirement, roles, CSRF and same-origin checks,
cookies, security headers and template rendering.

Handlers are plain functions ``(Ctx) -> Response`` wrapped by ``guarded`` (or ``public`` for the login
form); they run in a worker thread with their own store connection, since SQLite connections stay in
the thread that opened them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.review.auth import SESSION_LIFETIME, Reviewer, Session, find_session, same_token
from pipeline.store import Store

SESSION_COOKIE = "bv_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


@dataclass(frozen=True)
class Settings:
    db_path: Path
    secure_cookies: bool | None  # None: Secure when the request came over https
    trusted_proxies: frozenset[str]
    templates: Environment


@dataclass
class Ctx:
    """One request as a handler sees it: the store is open for the request only."""

    request: Request
    store: Store
    session: Session
    form: FormData | None

    @property
    def reviewer(self) -> Reviewer:
        return self.session.reviewer

    def field(self, name: str) -> str:
        return str(self.form.get(name) or "").strip() if self.form else ""


Handler = Callable[[Ctx], Response]
Endpoint = Callable[[Request], Any]


def settings(request: Request) -> Settings:
    return request.app.state.settings


def is_https(request: Request) -> bool:
    """Served over https, directly or behind a trusted proxy that says so."""
    if request.url.scheme == "https":
        return True
    client = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return client in settings(request).trusted_proxies and forwarded == "https"


def cookie_secure(request: Request) -> bool:
    forced = settings(request).secure_cookies
    return is_https(request) if forced is None else forced


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def same_origin(request: Request) -> bool:
    """The request's Origin (else Referer) is this site; a request with neither is refused."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    scheme = "https" if is_https(request) else "http"
    return parts.scheme == scheme and parts.netloc.lower() == request.headers.get("host", "").lower()


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def local_path(target: str | None, default: str = "/queue") -> str:
    """A redirect target confined to this site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                        samesite="lax", secure=cookie_secure(request))


def refuse(request: Request, status: int, message: str, session: Session | None = None) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    context = {"reviewer": session.reviewer, "csrf": session.csrf} if session else {"reviewer": None, "csrf": ""}
    return render(request, "error.html", {"message": message, **context}, status)


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    html = settings(request).templates.get_template(template).render(request=request, **context)
    return Response(html, status_code=status, media_type="text/html; charset=utf-8")


def page(ctx: Ctx, template: str, status: int = 200, **context: Any) -> Response:
    """Render a template for the logged-in reviewer (with the CSRF token its forms need)."""
    return render(ctx.request, template, {"reviewer": ctx.reviewer, "csrf": ctx.session.csrf, **context}, status)


def guarded(handler: Handler, *, lead_only: bool = False) -> Endpoint:
    """Wrap a handler: login required (a redirect for pages, 401 otherwise); on state-changing methods a
    same-origin request carrying the session's CSRF token; leads only if asked (403 otherwise)."""

    async def endpoint(request: Request) -> Response:
        form = await request.form() if request.method not in SAFE_METHODS else None
        return await run_in_threadpool(_run, handler, lead_only, request, form)

    return endpoint


def _run(handler: Handler, lead_only: bool, request: Request, form: FormData | None) -> Response:
    with Store(settings(request).db_path) as store:
        session = find_session(store, request.cookies.get(SESSION_COOKIE))
        if session is None:
            if request.method in SAFE_METHODS and not wants_json(request):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
            return refuse(request, 401, "log in first")
        if request.method not in SAFE_METHODS:
            if not same_origin(request):
                return refuse(request, 403, "cross-site request refused")
            token = request.headers.get("x-csrf-token") or (form.get("csrf_token") if form else None)
            if not same_token(str(token) if token else None, session.csrf):
                return refuse(request, 403, "the form's security token is missing or stale: reload the page")
        if lead_only and not session.reviewer.is_lead:
            return refuse(request, 403, "only a lead can do this", session)
        return handler(Ctx(request, store, session, form))


def public(handler: Callable[[Request, Store, FormData | None], Response]) -> Endpoint:
    """Wrap a handler that needs no login (the login form itself)."""

    async def endpoint(request: Request) -> Response:
        form = await request.form() if request.method not in SAFE_METHODS else None

        def run() -> Response:
            with Store(settings(request).db_path) as store:
                return handler(request, store, form)

        return await run_in_threadpool(run)

    return endpoint


class SecurityHeaders:
    """Adds the security headers to every response, and keeps pages (not static files) out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not scope["path"].startswith("/static/"):
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
