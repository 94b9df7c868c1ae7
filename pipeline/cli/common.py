"""What every command shares: the consoles, option types, and the one place errors become messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from pipeline.errors import DocumentError, TriageError
from pipeline.paths import default_db, default_register
from pipeline.terminal import printable

UNBOUNDED_WIDTH = 1000


def _stdout() -> Console:
    """On a terminal, its width; anywhere else (a pipe, a file, CI) wide enough that no table is cut or
    wrapped: a reader of a log cannot widen it."""
    console = Console()
    if not console.is_terminal:
        console.width = UNBOUNDED_WIDTH
    return console


out = _stdout()
err = Console(stderr=True)


def in_data_dir(default: Callable[[], Path]) -> Callable[[Path | None], Path]:
    """The callback of an option whose default lies in the data directory: the option defaults to None and
    the callback resolves it when the command runs, after `triage --data-dir` has chosen the directory. A
    command always receives a Path."""

    def resolve(value: Path | None) -> Path:
        return value or default()

    return resolve


def _existing(value: Path | None) -> Path:
    db = value or default_db()
    if not db.exists():
        raise TriageError(f"no database at {db}; run `triage run` first")
    return db


DbPath = Annotated[Path, typer.Option("--db", help="SQLite database file (default: triage.db in the data "
                                      "directory).", dir_okay=False, callback=in_data_dir(default_db))]
ExistingDb = Annotated[Path, typer.Option("--db", help="SQLite database file (default: triage.db in the data "
                                          "directory).", dir_okay=False, callback=_existing)]
RegisterPath = Annotated[Path, typer.Option("--register", help="Source register YAML (default: sources.yaml in "
                                            "the data directory; in a checkout, the demo's).", dir_okay=False,
                                            callback=in_data_dir(default_register))]
TaxonomyId = Annotated[str, typer.Option("--taxonomy", help="Taxonomy id, e.g. bv-2023-draft or wales-2013.")]
AuthorityOpt = Annotated[str | None, typer.Option("--authority", help="Authority slug for documents "
                                                  "without a manifest entry (created if new).")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line on stderr (names in it escaped: they may carry terminal escape codes) and exit."""
    err.print(f"[red]error:[/red] {escape(printable(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def note(message: str) -> None:
    """A line on stderr that is not an error, escaped like one."""
    err.print(escape(printable(message)), highlight=False, soft_wrap=True)


class TranslatedErrors(TyperGroup):
    """The one place the library's errors become what a user sees: one line on stderr, exit status 1, or 2
    for a document that cannot be read. Anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DocumentError as e:
            raise fail(str(e), code=2) from e
        except TriageError as e:
            raise fail(str(e)) from e
