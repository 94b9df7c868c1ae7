"""The analyst's pages: the queue, one item with its context, decisions, entry search, source documents."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from pipeline.collect.blobs import BlobStore
from pipeline.errors import DecisionError, InvalidBlobId, TaxonomyError
from pipeline.review import decisions, queries, work
from pipeline.review.decisions import REASONS, Decision
from pipeline.review.queries import Key, QueueFilters
from pipeline.review.sentences import highlight
from pipeline.review.web import Ctx, page, settings, whole_number
from pipeline.taxonomy import Theme, load_taxonomy

_MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html", "docx": "application/vnd.openxmlformats-"
                "officedocument.wordprocessingml.document", "text": "text/plain"}
COUNTED_MESSAGES = {"batch-undone": "Bulk decision undone on {n} items (items decided again since were left).",
                    "assigned": "Assigned {n} items."}
_EXTENSIONS = {"pdf": "pdf", "html": "html", "docx": "docx", "text": "txt"}
DONE_MESSAGES = {"confirm": "Confirmed", "reject": "Rejected", "reassign": "Reassigned", "note": "Note saved.",
                 "undo": "Undone."}


def item_url(key: Key, position: int | None = None, filters: QueueFilters | None = None, **extra: object) -> str:
    """An item's address, carrying the queue it was opened from so next and previous follow that queue."""
    path = "/items/" + "/".join(quote(part, safe="") for part in key)
    query = [filters.query()] if filters else []
    query += [f"pos={position}"] if position is not None else []
    query += [f"{name}={quote(str(value))}" for name, value in extra.items() if value not in (None, "")]
    query = [q for q in query if q]
    return path + ("?" + "&".join(query) if query else "")


def _position(ctx: Ctx) -> int:
    return _int_param(ctx, "pos") or 0


def filters_for(ctx: Ctx, params: object = None) -> QueueFilters:
    """The queue's filters from the request, in this reviewer's scope."""
    return QueueFilters.from_params(params if params is not None else ctx.request.query_params, ctx.reviewer.name)


def queue(ctx: Ctx) -> Response:
    filters = filters_for(ctx)
    if filters.order == "shuffle" and not filters.seed:
        return RedirectResponse("/queue?" + filters.query(seed=secrets.randbelow(10**6) + 1), status_code=303)
    result = queries.queue_page(ctx.store, filters)
    return page(ctx, "queue.html", filters=filters, result=result, options=queries.filter_options(ctx.store),
                statuses=queries.STATUSES, orders=queries.ORDERS, scopes=queries.SCOPES, reasons=REASONS,
                banner=_banner(ctx), recent=queries.recent_decisions(ctx.store, ctx.reviewer.name),
                key_param=decisions.key_param, reviewers=[r for r in ctx.store.reviewer_accounts()
                                                          if not r.disabled] if ctx.reviewer.is_lead else [])


def recent(ctx: Ctx) -> Response:
    return page(ctx, "recent.html", recent=queries.recent_decisions(ctx.store, ctx.reviewer.name), banner=_banner(ctx))


def _int_param(ctx: Ctx, name: str) -> int | None:
    return whole_number(ctx.request.query_params.get(name, ""))


def _banner(ctx: Ctx) -> dict | None:
    """The confirmation of what was just done (built from stored rows and fixed words, never from request text),
    with the undo for it when it still stands and is the reviewer's own."""
    params = ctx.request.query_params
    batch = _int_param(ctx, "batch")
    if params.get("done") == "bulk" and batch is not None:
        found = ctx.store.batch(batch)
        if found:
            return {"message": f"Bulk {found.decision} applied to {found.items} items.", "batch": batch,
                    "undoable": found.reviewer == ctx.reviewer.name and not found.undone_at}
    review_id = _int_param(ctx, "review")
    review = ctx.store.review(review_id) if review_id is not None else None
    if review and review.reviewer == ctx.reviewer.name:
        standing = ctx.store.decision_to_undo(review.key.as_tuple())
        target = f" → {review.new_entry}" if review.new_entry else ""
        return {"message": f"{DONE_MESSAGES.get(review.decision, 'Done')} {review.key.entry}{target}.",
                "review": review, "undoable": bool(standing) and standing.id == review.id,
                "href": item_url(review.key.as_tuple())}
    count = _int_param(ctx, "n")
    if params.get("done") in COUNTED_MESSAGES and count is not None:
        return {"message": COUNTED_MESSAGES[params["done"]].format(n=count), "undoable": False}
    message = DONE_MESSAGES.get(params.get("done", ""))
    return {"message": message, "undoable": False} if message else None


def _theme(taxonomy: str, theme: str) -> Theme | None:
    try:
        return load_taxonomy(taxonomy).theme(theme)
    except TaxonomyError:
        return None


def _item_or_404(ctx: Ctx) -> tuple[Key, dict]:
    params = ctx.request.path_params
    key = (params["passage"], params["taxonomy"], params["entry"])
    item = queries.load_item(ctx.store, key)
    if item is None:
        raise HTTPException(404, "no current evidence for this passage and entry")
    return key, item


def item_view(ctx: Ctx, status: int = 200, error: str | None = None, decision: Decision | None = None) -> Response:
    key, item = _item_or_404(ctx)
    filters, position = filters_for(ctx), _position(ctx)
    held_by = work.claim(ctx.store, key, ctx.reviewer.name) if item["status"] == "suggested" else None
    previous, following = queries.neighbours(ctx.store, filters, position, key)
    before, after = ctx.store.passages_around(item["document"], item["passage"], item["ordinal"])
    search = ctx.request.query_params.get("q", "").strip()[:80]
    return page(
        ctx, "item.html", status, item=item, key=key, filters=filters, position=position, error=error,
        sentences=highlight(item["text"], item["entry_text"]), theme=_theme(item["taxonomy"], item["theme"]),
        before=before, after=after, candidates=queries.candidates(ctx.store, item),
        history=ctx.store.review_history(key), undoable=ctx.store.decision_to_undo(key) is not None,
        reasons=REASONS, source=queries.source_href(item), search=search, attempted=decision, held_by=held_by,
        results=queries.search_entries(ctx.store, item["taxonomy"], search) if search else [],
        previous=item_url(*previous, filters=filters) if previous else None,
        following=item_url(*following, filters=filters) if following else None,
        self_url=item_url(key, position, filters), banner=_banner(ctx))


def decide(ctx: Ctx) -> Response:
    """Apply a decision; a stale version gets 409 with what was decided meanwhile, and nothing is written."""
    key, item = _item_or_404(ctx)
    filters, position = filters_for(ctx), _position(ctx)
    decision = Decision.from_form(ctx.form or {})
    version = int(ctx.field("version")) if ctx.field("version").isdigit() else None
    if version is None and decision.decision != "note":  # a note changes nothing, so it cannot conflict
        return item_view(ctx, 400, "the form has no item version: reload the page", decision)
    holder = work.holder(ctx.store, key, ctx.reviewer.name)
    if holder is not None and decision.decision != "note":
        return item_view(ctx, 409, f"{holder['reviewer']} is working on this item: nothing was saved", decision)
    try:
        review_id = decisions.apply(ctx.store, item, decision, ctx.reviewer.name, version)
    except DecisionError as e:
        return item_view(ctx, 400, str(e), decision)
    if review_id is None:
        return page(ctx, "conflict.html", 409, item=item, history=ctx.store.review_history(key), attempted=decision,
                    reasons=REASONS, item_href=item_url(key, position, filters))
    if decision.decision == "note":
        return RedirectResponse(item_url(key, position, filters, done="note"), status_code=303)
    if decision.decision == "undo":  # an undo of a reassign's confirmation lands on the link it came from
        undone = ctx.store.review(review_id)
        target = undone.key.as_tuple() if undone else key
        return RedirectResponse(item_url(target, None if target != key else position, filters, done="undo"),
                                status_code=303)
    work.release(ctx.store, key)
    following = queries.neighbours(ctx.store, filters, position, key)[1]
    if following is None:
        query = "&".join(q for q in (filters.query(), f"review={review_id}") if q)
        return RedirectResponse(f"/queue?{query}", status_code=303)
    return RedirectResponse(item_url(*following, filters=filters, review=review_id), status_code=303)


def undo(ctx: Ctx) -> Response:
    """Undo one of my decisions from wherever I am (the banner on the next item, the recent decisions), then show
    the item it was on, to decide again."""
    try:
        key = decisions.undo_review(ctx.store, ctx.path_number("review_id", "decision"), ctx.reviewer.name)
    except DecisionError as e:
        return page(ctx, "error.html", 409, message=str(e))
    return RedirectResponse(item_url(key, done="undo"), status_code=303)


def entries_api(ctx: Ctx) -> Response:
    """Entries matching words or an id, for the reassign search."""
    params = ctx.request.query_params
    rows = queries.search_entries(ctx.store, params.get("taxonomy", ""), params.get("q", "")[:80])
    return JSONResponse({"entries": rows})


def document(ctx: Ctx) -> Response:
    """A stored document's bytes, from the content-addressed blob store beside the database, found by its id
    only: never the path it was read from (which may have changed, or been a link to anywhere)."""
    document_id = ctx.request.path_params["document_id"]
    stored_format = ctx.store.stored_format(document_id)
    try:
        path = BlobStore(settings(ctx.request).db_path.parent / "blobs").path(document_id)
    except InvalidBlobId:
        path = None
    if stored_format is None or path is None or not path.is_file():
        raise HTTPException(404, "no stored copy of this document")
    media_type = _MEDIA_TYPES.get(stored_format, "application/octet-stream")
    # A stored page is someone else's HTML: never let it run script on this site.
    headers = {} if media_type == "application/pdf" else {"content-security-policy": "sandbox; default-src 'none'"}
    return FileResponse(path, media_type=media_type, headers=headers, content_disposition_type="inline",
                        filename=f"{document_id[:12]}.{_EXTENSIONS.get(stored_format, 'bin')}")
