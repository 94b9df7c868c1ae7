"""Logging in and out.

The login form is protected before any session exists by a double-submit token (a cookie that must
match a form field) and the same-origin check; failures back off exponentially per name and client.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipeline.review.auth import (
    authenticate,
    end_session,
    find_session,
    login_wait,
    record_attempt,
    same_token,
    start_session,
)
from pipeline.review.web import (
    SESSION_COOKIE,
    Ctx,
    client_address,
    cookie_secure,
    local_path,
    render,
    same_origin,
    set_session_cookie,
)
from pipeline.store import Store

LOGIN_COOKIE = "bv_login"


def _form(request: Request, next_path: str, status: int = 200, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"reviewer": None, "csrf": "", "login_token": token, "error": error,
                                              "next": next_path}, status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=cookie_secure(request))
    return response


def login(request: Request, store: Store, form: FormData | None) -> Response:
    next_path = local_path(str((form or request.query_params).get("next") or ""))
    if form is None:
        if find_session(store, request.cookies.get(SESSION_COOKIE)):
            return RedirectResponse(next_path, status_code=303)
        return _form(request, next_path)
    if not same_origin(request) or not same_token(str(form.get("login_token") or ""),
                                                  request.cookies.get(LOGIN_COOKIE, "")):
        return _form(request, next_path, 403, "The login form expired or came from another site. Try again.")
    name, password = str(form.get("name") or "").strip().lower(), str(form.get("password") or "")
    client = client_address(request)
    wait = login_wait(store, name, client)
    if wait:
        response = _form(request, next_path, 429, f"Too many failed logins: wait {wait} seconds and try again.")
        response.headers["retry-after"] = str(wait)
        return response
    reviewer = authenticate(store, name, password)
    record_attempt(store, name, client, reviewer is not None)
    if reviewer is None:
        return _form(request, next_path, 401, "Wrong name or password.")
    token, _ = start_session(store, reviewer)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def logout(ctx: Ctx) -> Response:
    end_session(ctx.store, ctx.request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
