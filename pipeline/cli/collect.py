"""``triage sources``, ``triage scrape`` and ``triage flows``: where papers come from and collecting them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.common import DbPath, RegisterPath, err, fail, out
from pipeline.collect.councils import DEFAULT_COUNCILS
from pipeline.collect.sources import DEFAULT_SCHEDULE, load_register

sources_app = typer.Typer(help="The source register: where each authority's papers come from.", no_args_is_help=True)
scrape_app = typer.Typer(help="Collect published council papers and ingest them.")
flows_app = typer.Typer(help="Prefect deployments.", no_args_is_help=True)


CouncilsPath = Annotated[Path, typer.Option("--councils", help="National council register (TSV; default: the "
                                            "shipped corpus/councils.tsv).", dir_okay=False)]


@sources_app.command("list")
def sources_list(
    register: RegisterPath = None,
    available: Annotated[bool, typer.Option("--available", help="List the national register's councils "
                                            "instead: code, name, platform, site URL.")] = False,
    platform: Annotated[str | None, typer.Option("--platform", help="With --available: only councils on this "
                                                 "platform (moderngov, cmis, other).")] = None,
    councils: CouncilsPath = DEFAULT_COUNCILS,
) -> None:
    """List the registered sources, or with --available the councils sources can be made from."""
    if available:
        from pipeline.collect.councils import load_councils

        rows = [c for c in load_councils(councils) if platform is None or c.platform == platform]
        for c in rows:
            typer.echo(f"{c.code}\t{c.name}\t{c.platform}\t{c.base_url}")  # tab-separated, for scripts
        err.print(f"{len(rows)} councils", highlight=False)
        return
    known = load_register(register)
    table = Table(title=f"Sources ({register})")
    for column in ("id", "authority", "kind", "where", "schedule"):
        table.add_column(column)
    for s in known.sources:
        table.add_row(s.id, s.authority, s.kind, s.base_url or s.path or "", s.schedule)
    out.print(table)


@sources_app.command("add")
def sources_add(
    source_id: Annotated[str | None, typer.Argument(help="New source id (lower-case slug); not with --council "
                                                    "or --all-moderngov.")] = None,
    authority: Annotated[str | None, typer.Option("--authority", help="Authority slug.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="moderngov, listing or local.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Site or page URL.")] = None,
    path: Annotated[str | None, typer.Option("--path", help="Folder, for local sources.")] = None,
    pattern: Annotated[list[str] | None, typer.Option("--pattern", help="Link pattern (listing).")] = None,
    include: Annotated[list[str] | None, typer.Option("--include", help="Committee to include.")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Committee to exclude.")] = None,
    schedule: Annotated[str, typer.Option("--schedule", help="Cron expression.")] = DEFAULT_SCHEDULE,
    council: Annotated[str | None, typer.Option("--council", help="Make the source from the national register: "
                                                "a council's code or name (ModernGov councils).")] = None,
    all_moderngov: Annotated[bool, typer.Option("--all-moderngov", help="Add every ModernGov council of the "
                                                "national register not yet registered, on staggered nightly "
                                                "schedules.")] = False,
    councils: CouncilsPath = DEFAULT_COUNCILS,
    register: RegisterPath = None,
) -> None:
    """Validate a new source and append it to the register (or make it from the national register)."""
    from pipeline.collect.councils import add_councils, load_councils
    from pipeline.collect.sources import add_source, parse_source

    if council or all_moderngov:
        if source_id or authority or kind or base_url or path:
            raise fail("--council and --all-moderngov take no source id, --authority, --kind, --base-url or "
                       "--path: the national register gives them")
        added = add_councils(load_register(register), load_councils(councils), council,
                             schedule if schedule != DEFAULT_SCHEDULE else None)
        for source in added:
            out.print(f"added {source.id} ({source.base_url}, {source.schedule}) to {register}",
                      highlight=False, markup=False)
        if all_moderngov:
            out.print(f"{len(added)} ModernGov councils added to {register}", highlight=False)
        return
    if not (source_id and authority and kind):
        raise fail("give a source id, --authority and --kind (or --council CODE|NAME)")
    raw = {"id": source_id, "authority": authority, "kind": kind, "base_url": base_url, "path": path,
           "patterns": pattern or [], "committees_include": include or [],
           "committees_exclude": exclude or [], "schedule": schedule}
    add_source(load_register(register), parse_source({k: v for k, v in raw.items() if v is not None}))
    out.print(f"added {source_id} to {register}", highlight=False)


@sources_app.command("check")
def sources_check(register: RegisterPath = None) -> None:
    """Validate the register: ids, kinds, URLs, patterns, schedules, local folders."""
    from pipeline.collect.sources import register_problems

    known = load_register(register)
    problems = register_problems(known)
    for problem in problems:
        err.print(problem, highlight=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"{len(known.sources)} sources OK in {register}", highlight=False)


@scrape_app.callback(invoke_without_command=True)
def scrape_main(
    ctx: typer.Context,
    report: Annotated[bool, typer.Option("--report", help="Show the failures of the last scrape (or --run N) "
                                         "and the URLs failing now, with their back-off.")] = False,
    run_id: Annotated[int | None, typer.Option("--run", help="With --report: the collect run to show.")] = None,
    db: DbPath = None,
) -> None:
    """Collect published council papers and ingest them; --report shows what failed."""
    if ctx.invoked_subcommand is not None:
        return
    if not report:
        out.print(ctx.get_help(), highlight=False, markup=False)
        return
    from pipeline.store import Store

    if not db.is_file():  # not ExistingDb: the option is parsed before a subcommand, which may make the database
        raise fail(f"no database at {db}")
    with Store(db) as store:
        run_id = run_id or store.last_run("collect")
        if run_id is None:
            raise fail(f"no scrape has run into {db}")
        failures = store.scrape_failures(run_id)
        failing = store.failing_urls()
    out.print(f"scrape run {run_id}: {len(failures)} failures", highlight=False)
    for f in failures:
        status = f" HTTP {f.http_status}" if f.http_status else ""
        out.print(f"  {f.source}  {f.level}  {f.reason}{status}  {f.url}", highlight=False,
                  markup=False, soft_wrap=True)
    out.print(f"failing now: {len(failing)} URLs", highlight=False)
    for u in failing:
        wait = f", skipped until {u.retry_at}" if u.retry_at else ""
        out.print(f"  {u.source}  {u.level}  {u.reason}  failed {u.failures}x since "
                  f"{u.first_failed}{wait}  {u.url}", highlight=False, markup=False, soft_wrap=True)


AllowPrivate = Annotated[bool, typer.Option("--allow-private-hosts", help="Allow loopback and private addresses "
                                            "(tests, intranets).")]
Workers = Annotated[int, typer.Option("--workers", min=1, help="Sources collected at once.")]


@scrape_app.command("moderngov")
def scrape_moderngov(
    base_url: Annotated[str, typer.Argument(help="The site's folder holding mgWebService.asmx.")],
    authority: Annotated[str, typer.Option("--authority", help="Authority slug (created if new).")],
    since: Annotated[str | None, typer.Option("--since", help="First meeting date, YYYY-MM-DD "
                                              "(default: 28 days ago).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last meeting date (default: in 7 days).")] = None,
    db: DbPath = None,
    allow_private_hosts: AllowPrivate = False,
    register: RegisterPath = None,
) -> None:
    """Scrape one ModernGov site for a date window and ingest what is new or changed."""
    _scrape([], db, register, since, until, allow_private_hosts,
            {"id": f"{authority}-adhoc", "authority": authority, "kind": "moderngov", "base_url": base_url}, 1)


@scrape_app.command("source")
def scrape_source(
    keys: Annotated[list[str], typer.Argument(help="Source ids or authority slugs (all their sources); "
                                              "'all' for every registered source.")],
    since: Annotated[str | None, typer.Option("--since", help="Backfill from this date, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last meeting date.")] = None,
    db: DbPath = None,
    register: RegisterPath = None,
    workers: Workers = 4,
) -> None:
    """Scrape registered sources, a few at a time, and ingest what is new or changed."""
    _scrape(keys, db, register, since, until, False, None, workers)


def _scrape(keys: list[str], db: Path, register: Path, since: str | None, until: str | None,
            allow_private_hosts: bool, adhoc: dict | None, workers: int) -> None:
    """Run the scrape and print its summary; exit 1 only when no site could be read (or bad input)."""
    from flows.scrape import scrape

    result = scrape(keys, db, register, since, until, adhoc, allow_private_hosts, workers)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    counts = result.counts
    out.print("scrape: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("new", "changed", "unchanged", "failed"))
              + "".join(f", {counts[k]} {k}" for k in ("skipped", "deferred", "local") if counts.get(k)),
              highlight=False)
    for source, failure in result.failures:
        status = f" (HTTP {failure.status})" if failure.status else ""
        out.print(f"failed: {source} {failure.level} {failure.reason}{status}: {failure.url}", highlight=False,
                  markup=False, soft_wrap=True)
    if result.ingest:
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(result.ingest.outcomes.items()))
        out.print(f"ingest run {result.ingest.run_id}: {result.ingest.documents} documents ({outcomes})",
                  highlight=False)
    if result.failures:
        out.print(f"details: triage scrape --report --run {result.run_id} --db {db}", highlight=False,
                  markup=False, soft_wrap=True)
    if not result.usable:
        raise fail(f"nothing could be read from {', '.join(result.unreachable)} ({result.why_unusable})")


@flows_app.command("serve")
def flows_serve(
    db: DbPath = None,
    register: RegisterPath = None,
    port: Annotated[int, typer.Option("--port", help="Port for a Prefect server started here.")] = 4200,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the deployments and exit.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Scrape runs at once (each politely paced).")] = 4,
) -> None:
    """Serve one scheduled scrape deployment per registered source (needs a Prefect server)."""
    import os

    from flows.serve import build_deployments, serve_deployments

    deployments = build_deployments(load_register(register), str(db))
    for deployment in deployments:
        crons = ", ".join(str(getattr(s.schedule, "cron", s.schedule)) for s in deployment.schedules or [])
        out.print(f"{deployment.name}  cron {crons}  {deployment.parameters}", highlight=False, markup=False)
    if dry_run:
        return
    where = os.environ.get("PREFECT_API_URL")
    err.print(f"connecting to the Prefect server at {where}" if where else
              f"starting a Prefect server on http://127.0.0.1:{port} (set PREFECT_API_URL to use another)",
              highlight=False)
    serve_deployments(deployments, port, limit)
