"""Overview pages: the per-authority dashboard and the agreement page."""

from __future__ import annotations

from starlette.responses import Response

from pipeline.review import metrics
from pipeline.review.queries import filter_options
from pipeline.review.web import Ctx, page
from pipeline.taxonomy import DEFAULT_TAXONOMY, available_taxonomies, load_taxonomy


def dashboard(ctx: Ctx) -> Response:
    """The authority's heat map of confirmed and suggested evidence, newest flagged passages, progress."""
    authorities = filter_options(ctx.store)["authorities"]
    params = ctx.request.query_params
    slugs = [a["slug"] for a in authorities]
    slug = params.get("authority") if params.get("authority") in slugs else (slugs[0] if slugs else None)
    taxonomy_id = params.get("taxonomy", DEFAULT_TAXONOMY)
    taxonomy = load_taxonomy(taxonomy_id if taxonomy_id in available_taxonomies() else DEFAULT_TAXONOMY)
    if slug is None:
        return page(ctx, "dashboard.html", authorities=[], authority=None)
    return page(ctx, "dashboard.html", authorities=authorities, authority=slug, taxonomy=taxonomy,
                rows=metrics.heatmap(ctx.store, slug, taxonomy), flagged=metrics.newest_flagged(ctx.store, slug),
                progress=metrics.progress(ctx.store, slug), counts=metrics.status_counts(ctx.store, slug),
                levels=metrics.HEAT_LEVELS)


def agreement(ctx: Ctx) -> Response:
    """Model precision per theme and entry from decisions, and kappa between reviewers."""
    authorities = filter_options(ctx.store)["authorities"]
    wanted = ctx.request.query_params.get("authority", "")
    slug = wanted if wanted in {a["slug"] for a in authorities} else ""
    themes, entries = metrics.precision(ctx.store, slug)
    pairs, pooled = metrics.agreement(ctx.store)
    return page(ctx, "agreement.html", authorities=authorities, authority=slug, themes=themes, entries=entries,
                pairs=pairs, pooled=pooled)
