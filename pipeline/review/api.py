"""``GET /api/v1/flags``: the flag feed over HTTP for the risk engine, with an API token.

Tokens are made by ``triage tokens add`` and stored as sha256 hashes; the request sends
``Authorization: Bearer <token>``. Pages follow the cursor contract of ``triage export flags``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pipeline.errors import FeedError, ReviewError
from pipeline.feed.events import SCHEMA_PATH, ExportFilter, export_flags, parse_cursor, read_events
from pipeline.review.web import integer_problem, settings
from pipeline.store import Store

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
TOKEN_PREFIX = "bvt_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(store: Store, name: str, created_by: str = "cli") -> str:
    """Create an API token; it is shown once and only its hash is kept."""
    if not name.strip() or len(name) > 80 or not name.isprintable():
        raise ReviewError("a token needs a name of 1-80 printable characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.add_api_token(_hash(token), name.strip(), created_by)
    return token


def revoke_token(store: Store, id_or_name: str) -> list[str]:
    """Revoke the live token with this id (or id prefix), or every live token with this name; returns the
    revoked ids. ReviewError if nothing matches, or if an id prefix is ambiguous."""
    live = store.api_tokens(live_only=True)
    by_id = [t for t in live if len(id_or_name) >= 6 and t.id.startswith(id_or_name.lower())]
    if len(by_id) > 1:
        raise ReviewError(f"{id_or_name!r} starts {len(by_id)} token ids: give more characters")
    chosen = by_id or [t for t in live if t.name == id_or_name]
    if not chosen:
        raise ReviewError(f"no live token with id or name {id_or_name!r} (see `triage tokens list`)")
    store.revoke_api_tokens([t.id for t in chosen])
    return [t.id for t in chosen]


def _token_name(store: Store, header: str | None) -> str | None:
    if not header or not header.startswith("Bearer "):
        return None
    digest = _hash(header.removeprefix("Bearer ").strip())
    for token in store.api_tokens(live_only=True):
        if hmac.compare_digest(token.token_hash, digest):
            store.mark_api_token_used(token.token_hash)
            return token.name
    return None


def token_required(handler: Callable[[Request, Store], Response]) -> Callable[[Request], Awaitable[Response]]:
    """Every /api/v1 route, its description included, answers only to a valid API token."""

    async def endpoint(request: Request) -> Response:
        def run() -> Response:
            with Store(settings(request).db_path) as store:
                if _token_name(store, request.headers.get("authorization")) is None:
                    return JSONResponse({"error": "a valid API token is required (Authorization: Bearer ...)"},
                                        status_code=401, headers={"WWW-Authenticate": "Bearer"})
                problem = integer_problem(request.query_params.multi_items())
                if problem:
                    return JSONResponse({"error": problem}, status_code=400)
                return handler(request, store)

        return await run_in_threadpool(run)

    return endpoint


@token_required
def flags(request: Request, store: Store) -> Response:
    query = request.query_params
    try:
        since = parse_cursor(query.get("since"))
        limit = int(query.get("limit") or DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise FeedError(f"limit must be between 1 and {MAX_LIMIT}")
        minimum = float(query["min_probability"]) if query.get("min_probability") else None
        records, next_cursor = export_flags(store, since, ExportFilter(query.get("status") or "all", minimum), limit)
    except (FeedError, ValueError) as e:
        return JSONResponse({"error": str(e)}, status_code=400)
    more = next(read_events(store, next_cursor, limit=1), None) is not None
    return JSONResponse({"records": records, "next_cursor": next_cursor, "more": more})


OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "bv-triage flag feed", "version": "1.0",
             "description": "Flag events for the risk engine; see the README's cursor contract."},
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "security": [{"token": []}],
    "paths": {"/api/v1/flags": {"get": {
        "summary": "Flag events after a cursor, oldest first",
        "parameters": [
            {"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                         "default": DEFAULT_LIMIT}},
            {"name": "status", "in": "query", "schema": {"enum": ["suggested", "confirmed", "all"]}},
            {"name": "min_probability", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 1}},
        ],
        "responses": {
            "200": {"description": "A page of records (flag_event.v1.json) and the cursor to send next",
                    "content": {"application/json": {"schema": {"type": "object", "required": [
                        "records", "next_cursor", "more"], "properties": {
                        "records": {"type": "array", "items": {"$ref": "/api/v1/schemas/flag_event.v1.json"}},
                        "next_cursor": {"type": "integer"}, "more": {"type": "boolean"}}}}}},
            "400": {"description": "A bad parameter"},
            "401": {"description": "No valid API token"},
        },
    }}},
}


@token_required
def openapi(request: Request, store: Store) -> Response:
    return JSONResponse(OPENAPI)


@token_required
def schema(request: Request, store: Store) -> Response:
    return Response(SCHEMA_PATH.read_text(), media_type="application/schema+json")
