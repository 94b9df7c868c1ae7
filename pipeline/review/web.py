"""Request plumbing shared by every route: the login requirement, roles, CSRF and same-origin checks,
the allowed hosts, the client's address behind a configured proxy, integer parameters, cookies,
security headers and template rendering.

Handlers are plain functions ``(Ctx) -> Response`` wrapped by ``guarded`` (or ``public`` for the login
form); they run in a worker thread with their own store connection, since SQLite connections stay in
the thread that opened them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.domain import Reviewer, Session
from pipeline.review.auth import SESSION_LIFETIME, find_session, same_token
from pipeline.store import Store

SESSION_COOKIE = "bv_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
INTEGER_PARAMS = ("page", "seed", "pos", "since", "limit", "size", "n")  # query parameters read as whole numbers
MAX_INTEGER = 2**53 - 1  # fits SQLite's integers (and JavaScript's exact ones)
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
    trusted_proxies: frozenset[str]  # peers whose X-Forwarded-For and -Proto are believed; none by default
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

    def path_number(self, name: str, what: str) -> int:
        """A whole-number path parameter (an id); 404 "no such <what>" when it is not one."""
        number = whole_number(self.request.path_params[name])
        if number is None:
            raise HTTPException(404, f"no such {what}")
        return number


Handler = Callable[[Ctx], Response]
Endpoint = Callable[[Request], Any]


def settings(request: Request) -> Settings:
    return request.app.state.settings


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _behind_trusted_proxy(request: Request) -> bool:
    return _peer(request) in settings(request).trusted_proxies


def is_https(request: Request) -> bool:
    """Served over https, directly or behind a configured proxy that says so."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return _behind_trusted_proxy(request) and forwarded == "https"


def cookie_secure(request: Request) -> bool:
    forced = settings(request).secure_cookies
    return is_https(request) if forced is None else forced


def client_address(request: Request) -> str:
    """The client's address: the peer, or behind a configured proxy the nearest X-Forwarded-For address that
    is not itself a configured proxy (addresses further left are whatever the client chose to send)."""
    peer = _peer(request)
    if not _behind_trusted_proxy(request):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in settings(request).trusted_proxies:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a proxy we trust would not write this
    return peer


def whole_number(value: str) -> int | None:
    """The value as a whole number the store can hold, else None (not ASCII digits, or too large)."""
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_INTEGER else None


def integer_problem(params: Iterable[tuple[str, str]]) -> str | None:
    """Why a whole-number query parameter is unusable (not digits, or too large for the store), if one is."""
    for name, value in params:
        if name in INTEGER_PARAMS and value.strip() and whole_number(value) is None:
            return f"{name} must be a whole number from 0 to {MAX_INTEGER}"
    return None


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
    same-origin request carrying the session's CSRF token; leads only if asked (403 otherwise); whole-number
    parameters that are whole numbers the store can hold (400 otherwise)."""

    async def endpoint(request: Request) -> Response:
        form = await request.form() if request.method not in SAFE_METHODS else None
        problem = integer_problem([*request.query_params.multi_items(),
                                   *((k, v) for k, v in (form.multi_items() if form else []) if isinstance(v, str))])
        if problem:
            return refuse(request, 400, problem)
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


def host_allowed(host_header: str, allowed: frozenset[str]) -> bool:
    """The Host header names one of the allowed hosts (any port); "*.example.org" allows its subdomains."""
    try:
        name = (urlsplit(f"//{host_header}").hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    return bool(name) and any(name == host or (host.startswith("*.") and name.endswith(host[1:])) for host in allowed)


class AllowedHosts:
    """Refuses a request whose Host header is not an allowed host, before anything else sees it: pages and
    redirects are built from that header, and a DNS-rebinding page would send its own."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(host.lower() for host in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not host_allowed(host, self.allowed):
                response = PlainTextResponse("unknown host: the review app answers only to its allowed hosts "
                                             "(triage review --allowed-host)", status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
