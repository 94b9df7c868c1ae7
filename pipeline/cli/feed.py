"""``triage export``: the feeds for the risk engine."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import AuthorityOpt, ExistingDb, err, fail, in_data_dir, out
from pipeline.paths import default_outbox

export_app = typer.Typer(help="Feeds for the risk engine.", no_args_is_help=True)
OutboxPath = Annotated[Path, typer.Option("--outbox", help="Folder for JSONL batches (default: outbox in the data "
                                          "directory).", callback=in_data_dir(default_outbox))]


@export_app.command("flags")
def export_flags_command(
    db: ExistingDb = None,
    since: Annotated[str | None, typer.Option("--since", help="Cursor: return events after it.")] = None,
    cursor_file: Annotated[Path | None, typer.Option("--cursor-file", help="Read the cursor from this file if it "
                                                     "exists; replace it with the next one after writing.")] = None,
    status: Annotated[str, typer.Option("--status", help="suggested, confirmed or all.")] = "all",
    min_probability: Annotated[float | None, typer.Option("--min-probability", help="Probability (or score) "
                                                          "floor for suggested and confirmed events.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
) -> None:
    """Flag events after a cursor (retractions and supersessions always included); the next cursor
    goes to stderr as `next cursor: N`."""
    from pipeline.feed.events import ExportFilter, export_flags, parse_cursor, render, write_atomically
    from pipeline.store import Store

    if since is not None and cursor_file is not None:
        raise fail("give --since or --cursor-file, not both")
    selection = ExportFilter(status, min_probability)
    start = parse_cursor(cursor_file.read_text() if cursor_file and cursor_file.exists() else since)
    with Store(db) as store:
        records, next_cursor = export_flags(store, start, selection)
    text = render(records, fmt)
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if cursor_file:
        write_atomically(cursor_file, f"{next_cursor}\n")
    err.print(f"next cursor: {next_cursor}", highlight=False)


@export_app.command("signals")
def export_signals_command(
    db: ExistingDb = None,
    authority: AuthorityOpt = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write JSON here instead of stdout.")] = None,
    as_of: Annotated[datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                   help="Age evidence to this day (YYYY-MM-DD) instead of today, "
                                                        "to reproduce an earlier export.")] = None,
) -> None:
    """Per authority and theme: a weighted evidence score with its contributing evidence ids."""
    from pipeline.feed.events import write_atomically
    from pipeline.feed.signals import authority_signals
    from pipeline.store import Store

    with Store(db) as store:
        signals = [s.as_record() for s in authority_signals(store, as_of.date() if as_of else None, authority)]
    text = json.dumps({"signals": signals}, indent=2) + "\n"
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text)


@export_app.command("push")
def export_push_command(
    db: ExistingDb = None,
    outbox: OutboxPath = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="Also POST batches here (signed with "
                                                "BV_TRIAGE_WEBHOOK_SECRET; the receiver's token, if it wants one, "
                                                "in BV_TRIAGE_WEBHOOK_TOKEN, never in the URL).")] = None,
) -> None:
    """Run the export flow once: new flag events to the outbox (and the webhook)."""
    from flows.export import export_flow

    results = export_flow(str(db), str(outbox), webhook)
    for result in results:
        out.print(f"{result.destination}: {result.events} events, cursor {result.cursor}", highlight=False)
