"""Overview pages: the per-authority dashboard and the agreement page."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from pipeline.errors import DecisionError
from pipeline.review import decisions, metrics
from pipeline.review.decisions import REASONS, Decision
from pipeline.review.queries import load_item
from pipeline.review.web import Ctx, page
from pipeline.taxonomy import DEFAULT_TAXONOMY, available_taxonomies, load_taxonomy

DONE = {"settled": "Settled: the link now stands as you decided, and the settlement is in its audit trail."}


def dashboard(ctx: Ctx) -> Response:
    """Every authority's (or one's) heat map of confirmed and suggested evidence, newest flagged links and
    progress per reviewer, each saying its scope."""
    authorities = ctx.store.authorities()
    wanted = ctx.request.query_params.get("authority", "")
    slug = wanted if wanted in {a.slug for a in authorities} else ""
    taxonomy_id = ctx.request.query_params.get("taxonomy", DEFAULT_TAXONOMY)
    taxonomy = load_taxonomy(taxonomy_id if taxonomy_id in available_taxonomies() else DEFAULT_TAXONOMY)
    scope = next((a.name for a in authorities if a.slug == slug), "all authorities")
    return page(ctx, "dashboard.html", authorities=authorities, authority=slug, scope=scope, taxonomy=taxonomy,
                rows=metrics.heatmap(ctx.store, slug, taxonomy), flagged=metrics.newest_flagged(ctx.store, slug),
                progress=metrics.progress(ctx.store, slug), counts=metrics.status_counts(ctx.store, slug),
                levels=metrics.HEAT_LEVELS)


def agreement(ctx: Ctx, status: int = 200, message: str | None = None) -> Response:
    """Model precision per theme and entry from decisions, kappa between reviewers, and the disagreements a lead
    settles."""
    authorities = ctx.store.authorities()
    wanted = ctx.request.query_params.get("authority", "")
    slug = wanted if wanted in {a.slug for a in authorities} else ""
    themes, entries = metrics.precision(ctx.store, slug)
    pairs, pooled = metrics.agreement(ctx.store)
    return page(ctx, "agreement.html", status, authorities=authorities, authority=slug, themes=themes,
                entries=entries, pairs=pairs, pooled=pooled, disagreements=metrics.disagreements(ctx.store),
                reasons=REASONS, message=message or DONE.get(ctx.request.query_params.get("done", "")))


def settle(ctx: Ctx) -> Response:
    """A lead settles a disagreement: the link gets the lead's decision, recorded as a settlement."""
    form = ctx.form or {}
    key = (ctx.field("passage"), ctx.field("taxonomy"), ctx.field("entry"))
    item = load_item(ctx.store, key)
    if item is None:
        return agreement(ctx, 404, "that link is no longer current evidence")
    try:
        decisions.settle(ctx.store, key, Decision.from_form(form), ctx.reviewer.name, item["classifier_id"])
    except DecisionError as e:
        return agreement(ctx, 400, str(e))
    return RedirectResponse("/agreement?done=settled", status_code=303)
