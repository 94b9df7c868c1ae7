"""``triage sources``, ``triage scrape`` and ``triage flows``: where papers come from and collecting them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.common import DbPath, RegisterPath, err, fail, out
from pipeline.collect.sources import DEFAULT_REGISTER
from pipeline.errors import TriageError
from pipeline.paths import DEFAULT_DB

sources_app = typer.Typer(help="The source register: where each authority's papers come from.", no_args_is_help=True)
scrape_app = typer.Typer(help="Collect published council papers and ingest them.", no_args_is_help=True)
flows_app = typer.Typer(help="Prefect deployments.", no_args_is_help=True)


def _register(path: Path):  # type: ignore[no-untyped-def]
    """The source register, or a one-line error."""
    from pipeline.collect.sources import load_register

    try:
        return load_register(path)
    except TriageError as e:
        raise fail(str(e)) from e


@sources_app.command("list")
def sources_list(register: RegisterPath = DEFAULT_REGISTER) -> None:
    """List the registered sources."""
    known = _register(register)
    table = Table(title=f"Sources ({register})")
    for column in ("id", "authority", "kind", "where", "schedule"):
        table.add_column(column)
    for s in known.sources:
        table.add_row(s.id, s.authority, s.kind, s.base_url or s.path or "", s.schedule)
    out.print(table)


@sources_app.command("add")
def sources_add(
    source_id: Annotated[str, typer.Argument(help="New source id (lower-case slug).")],
    authority: Annotated[str, typer.Option("--authority", help="Authority slug.")],
    kind: Annotated[str, typer.Option("--kind", help="moderngov, listing or local.")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="Site or page URL.")] = None,
    path: Annotated[str | None, typer.Option("--path", help="Folder, for local sources.")] = None,
    pattern: Annotated[list[str] | None, typer.Option("--pattern", help="Link pattern (listing).")] = None,
    include: Annotated[list[str] | None, typer.Option("--include", help="Committee to include.")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Committee to exclude.")] = None,
    schedule: Annotated[str, typer.Option("--schedule", help="Cron expression.")] = "0 2 * * *",
    register: RegisterPath = DEFAULT_REGISTER,
) -> None:
    """Validate a new source and append it to the register."""
    from pipeline.collect.sources import add_source, load_register, parse_source

    raw = {"id": source_id, "authority": authority, "kind": kind, "base_url": base_url, "path": path,
           "patterns": pattern or [], "committees_include": include or [], "committees_exclude": exclude or [],
           "schedule": schedule}
    try:
        add_source(load_register(register), parse_source({k: v for k, v in raw.items() if v is not None}))
    except TriageError as e:
        raise fail(str(e)) from e
    out.print(f"added {source_id} to {register}", highlight=False)


@sources_app.command("check")
def sources_check(register: RegisterPath = DEFAULT_REGISTER) -> None:
    """Validate the register: ids, kinds, URLs, patterns, schedules, local folders."""
    from pipeline.collect.sources import register_problems

    known = _register(register)
    problems = register_problems(known)
    for problem in problems:
        err.print(problem, highlight=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"{len(known.sources)} sources OK in {register}", highlight=False)


@scrape_app.command("moderngov")
def scrape_moderngov(
    base_url: Annotated[str, typer.Argument(help="The site's folder holding mgWebService.asmx.")],
    authority: Annotated[str, typer.Option("--authority", help="Authority slug (created if new).")],
    since: Annotated[str | None, typer.Option("--since", help="First meeting date, YYYY-MM-DD "
                                              "(default: 28 days ago).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last meeting date (default: in 7 days).")] = None,
    db: DbPath = DEFAULT_DB,
    allow_private_hosts: Annotated[bool, typer.Option("--allow-private-hosts", help="Allow loopback and private "
                                                      "addresses (tests, intranets).")] = False,
    register: RegisterPath = DEFAULT_REGISTER,
) -> None:
    """Scrape one ModernGov site for a date window and ingest what is new or changed."""
    _scrape([], db, register, since, until, allow_private_hosts,
            {"id": f"{authority}-adhoc", "authority": authority, "kind": "moderngov", "base_url": base_url})


@scrape_app.command("source")
def scrape_source(
    key: Annotated[str, typer.Argument(help="A source id, or an authority slug for all its sources.")],
    since: Annotated[str | None, typer.Option("--since", help="Backfill from this date, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last meeting date.")] = None,
    db: DbPath = DEFAULT_DB,
    register: RegisterPath = DEFAULT_REGISTER,
) -> None:
    """Scrape registered sources and ingest what is new or changed."""
    _scrape([key], db, register, since, until, False, None)


def _scrape(keys: list[str], db: Path, register: Path, since: str | None, until: str | None,
            allow_private_hosts: bool, adhoc: dict | None) -> None:
    from datetime import date

    from pipeline.collect.sources import load_register, parse_source

    try:
        for value in (since, until):
            if value:
                date.fromisoformat(value)
        known = load_register(register)
        _ = parse_source(adhoc, "command line") if adhoc else [known.get(k) for k in keys]
    except ValueError as e:
        raise fail(f"bad date: {e}") from e
    except TriageError as e:
        raise fail(str(e)) from e
    from flows.scrape import scrape_flow

    result = scrape_flow(keys, str(db), str(register), since, until, adhoc, allow_private_hosts, progress=True)
    counts = result.counts
    out.print("scrape: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("new", "changed", "unchanged", "failed"))
              + "".join(f", {counts[k]} {k}" for k in ("skipped", "local") if counts.get(k)), highlight=False)
    for url, reason in result.failures:
        out.print(f"failed: {url}: {reason}", highlight=False, markup=False)
    if result.ingest:
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(result.ingest.outcomes.items()))
        out.print(f"ingest run {result.ingest.run_id}: {result.ingest.documents} documents ({outcomes})",
                  highlight=False)


@flows_app.command("serve")
def flows_serve(
    db: DbPath = DEFAULT_DB,
    register: RegisterPath = DEFAULT_REGISTER,
    port: Annotated[int, typer.Option("--port", help="Port for a Prefect server started here.")] = 4200,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the deployments and exit.")] = False,
) -> None:
    """Serve one scheduled scrape deployment per registered source (needs a Prefect server)."""
    import os

    known = _register(register)
    from flows.serve import build_deployments, serve_register

    for deployment in build_deployments(known, str(db)):
        crons = ", ".join(str(getattr(s.schedule, "cron", s.schedule)) for s in deployment.schedules or [])
        out.print(f"{deployment.name}  cron {crons}  {deployment.parameters}", highlight=False, markup=False)
    if dry_run:
        return
    where = os.environ.get("PREFECT_API_URL")
    err.print(f"connecting to the Prefect server at {where}" if where else
              f"starting a Prefect server on http://127.0.0.1:{port} (set PREFECT_API_URL to use another)",
              highlight=False)
    try:
        serve_register(known, str(db), port)
    except TriageError as e:
        raise fail(str(e)) from e
