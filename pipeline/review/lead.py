"""Bulk decisions, blind second reviews and reviewer management.

Bulk decisions, sampling for second reviews and managing reviewers are for leads only (the routes
are wrapped with ``lead_only``); any reviewer does the second reviews assigned to them.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from pipeline.domain import SecondReview
from pipeline.errors import DecisionError, ReviewerError
from pipeline.review import auth, decisions, queries, work
from pipeline.review.decisions import REASONS, BulkSet, Decision
from pipeline.review.sentences import highlight
from pipeline.review.views import filters_for
from pipeline.review.web import Ctx, page

BLIND_DONE = {"confirm": "Confirmed, in a blind review. Here is your next one.",
              "reject": "Rejected, in a blind review. Here is your next one."}


def _bulk_form(ctx: Ctx, chosen: BulkSet, decision: Decision, status: int = 200,
               message: str | None = None) -> Response:
    targets, left_out = decisions.bulk_targets(ctx.store, chosen)
    return page(ctx, "bulk.html", status, chosen=chosen, filters=chosen.filters, decision=decision, targets=targets,
                left_out=left_out, count=len(targets), reasons=REASONS, message=message,
                key_param=decisions.key_param, low_confidence=decisions.LOW_CONFIDENCE)


def bulk_preview(ctx: Ctx) -> Response:
    """The confirmation step: the items a bulk decision would touch, and those it leaves out, before anything
    is written."""
    params = ctx.request.query_params
    decision = Decision(params.get("decision", ""), params.get("reason") or None)
    if decision.decision not in ("confirm", "reject"):
        return page(ctx, "error.html", 400, message="choose confirm or reject for a bulk decision")
    return _bulk_form(ctx, BulkSet.from_params(params, filters_for(ctx)), decision)


def bulk_apply(ctx: Ctx) -> Response:
    """Apply a previewed bulk decision as one batch; if the set changed since the preview, show it again."""
    form = ctx.form or {}
    chosen, decision = BulkSet.from_params(form, filters_for(ctx, form)), Decision.from_form(form)
    if str(len(decisions.bulk_targets(ctx.store, chosen)[0])) != ctx.field("expected"):
        return _bulk_form(ctx, chosen, decision, 409, "The set changed since you looked: check it again.")
    try:
        batch, _ = decisions.bulk_decide(ctx.store, chosen, decision, ctx.reviewer.name)
    except DecisionError as e:
        return _bulk_form(ctx, chosen, decision, 400, str(e))
    query = "&".join(q for q in (chosen.filters.query(status="suggested"), f"done=bulk&batch={batch}") if q)
    return RedirectResponse(f"/queue?{query}", status_code=303)


def undo_batch(ctx: Ctx) -> Response:
    try:
        undone = decisions.undo_batch(ctx.store, ctx.path_number("batch", "bulk decision"), ctx.reviewer.name)
    except DecisionError as e:
        return page(ctx, "error.html", 409, message=str(e))
    return RedirectResponse(f"/queue?done=batch-undone&n={undone}", status_code=303)


def assign(ctx: Ctx) -> Response:
    """Assign the filtered set's suggested items to a reviewer (leads only)."""
    form = ctx.form or {}
    filters = filters_for(ctx, form)
    try:
        assigned = work.assign(ctx.store, filters, ctx.field("assignee"), ctx.reviewer.name)
    except DecisionError as e:
        return page(ctx, "error.html", 400, message=str(e))
    query = "&".join(q for q in (filters.query(), f"done=assigned&n={assigned}") if q)
    return RedirectResponse(f"/queue?{query}", status_code=303)


def second_reviews(ctx: Ctx, status: int = 200, message: str | None = None) -> Response:
    """Second reviews waiting for this reviewer (a lead sees everyone's and can ask for more)."""
    lead = ctx.reviewer.is_lead
    if message is None and ctx.request.query_params.get("done") == "all":
        message = "Recorded. That was your last second review."
    return page(ctx, "second_reviews.html", status, mine=ctx.store.open_second_reviews(ctx.reviewer.name),
                everyone=ctx.store.open_second_reviews(None) if lead else [],
                reviewers=ctx.store.reviewer_accounts() if lead else [], message=message,
                authorities=ctx.store.authorities())


def request_second_reviews(ctx: Ctx) -> Response:
    try:
        size = int(ctx.field("size") or 0)
        sent = decisions.request_second_reviews(ctx.store, ctx.reviewer.name, ctx.field("assignee"), size,
                                                ctx.field("authority"))
    except ValueError:
        return second_reviews(ctx, 400, "the sample size must be a number")
    except DecisionError as e:
        return second_reviews(ctx, 400, str(e))
    return second_reviews(ctx, message=f"Sent {sent} decided items to {ctx.field('assignee')} for a blind review.")


def _request_or_404(ctx: Ctx) -> tuple[SecondReview, dict]:
    """The open second review assigned to this reviewer, and its item."""
    request = ctx.store.second_review(ctx.path_number("review_id", "second review for you"))
    if request is None or request.assigned_to != ctx.reviewer.name:
        raise HTTPException(404, "no such second review for you")
    item = queries.load_item(ctx.store, request.key.as_tuple())
    if item is None:
        raise HTTPException(404, "the item is no longer current evidence")
    return request, item


def blind_item(ctx: Ctx, status: int = 200, error: str | None = None) -> Response:
    """The item without its status, probability or earlier decisions, so the second opinion is independent."""
    request, item = _request_or_404(ctx)
    before, after = ctx.store.passages_around(item["document"], item["passage"], item["ordinal"])
    left = len(ctx.store.open_second_reviews(ctx.reviewer.name))
    done = BLIND_DONE.get(ctx.request.query_params.get("done", ""))
    return page(ctx, "blind.html", status, second=request, item=item, before=before, after=after, error=error,
                sentences=highlight(item["text"], item["entry_text"]), reasons=REASONS,
                source=queries.source_href(item), left=left, done=done)


def blind_decide(ctx: Ctx) -> Response:
    request, item = _request_or_404(ctx)
    if request.done_at:
        return blind_item(ctx, 409, "this second review is already done")
    try:
        decision = Decision.from_form(ctx.form or {})
        decisions.record_second_review(ctx.store, request, decision, ctx.reviewer.name, item["classifier_id"])
    except DecisionError as e:
        return blind_item(ctx, 400, str(e))
    waiting = ctx.store.open_second_reviews(ctx.reviewer.name)
    if not waiting:
        return RedirectResponse("/second-reviews?done=all", status_code=303)
    return RedirectResponse(f"/second-reviews/{waiting[0].id}?done={decision.decision}", status_code=303)


def reviewers(ctx: Ctx, status: int = 200, message: str | None = None) -> Response:
    return page(ctx, "reviewers.html", status, reviewers=ctx.store.reviewer_accounts(), roles=auth.ROLES,
                message=message, min_password=auth.MIN_PASSWORD)


def add_reviewer(ctx: Ctx) -> Response:
    try:
        added = auth.add_reviewer(ctx.store, ctx.field("name"), ctx.field("role"),
                                 str((ctx.form or {}).get("password") or ""))
    except ReviewerError as e:
        return reviewers(ctx, 400, str(e))
    return reviewers(ctx, message=f"Added {added.name} ({added.role}).")


def set_disabled(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"]
    if name == ctx.reviewer.name:
        return reviewers(ctx, 400, "you cannot disable yourself")
    disabled = ctx.field("disabled") == "1"
    if not ctx.store.set_reviewer_disabled(name, disabled):
        raise HTTPException(404, "no such reviewer")
    return reviewers(ctx, message=f"{name} {'disabled' if disabled else 'enabled'}.")
