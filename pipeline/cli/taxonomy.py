"""``triage taxonomy``: inspect and export the indicator taxonomies."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.common import TaxonomyId, fail, out
from pipeline.jsonl import write_jsonl
from pipeline.paths import LABELLING_GUIDE
from pipeline.taxonomy import DEFAULT_TAXONOMY, available_taxonomies, load_taxonomy

taxonomy_app = typer.Typer(help="Inspect and export the indicator taxonomies.", no_args_is_help=True)


@taxonomy_app.command("list")
def taxonomy_list(taxonomy: TaxonomyId = DEFAULT_TAXONOMY) -> None:
    """List the available taxonomies and the themes of one, with entry counts."""
    tax = load_taxonomy(taxonomy)
    out.print(f"available: {', '.join(available_taxonomies())}")
    table = Table(title=f"{tax.id}: {tax.title}")
    for column in ("theme", "name", "characteristics", "failure indicators"):
        table.add_column(column)
    for theme in tax.themes:
        entries = [e for e in tax.entries if e.theme == theme.id]
        table.add_row(theme.id, theme.name, str(sum(not e.is_failure for e in entries)),
                      str(sum(e.is_failure for e in entries)))
    out.print(table)
    out.print(f"{len(tax.entries)} entries. {tax.attribution}", highlight=False)


@taxonomy_app.command("show")
def taxonomy_show(entry_id: Annotated[str, typer.Argument(help="Entry id (e.g. R-F09) or theme code (e.g. G).")],
                  taxonomy: TaxonomyId = DEFAULT_TAXONOMY) -> None:
    """Show one entry, or one theme with its description and entries."""
    tax = load_taxonomy(taxonomy)
    if entry_id in {t.id for t in tax.themes}:
        theme = tax.theme(entry_id)
        out.print(f"[bold]{theme.id} {theme.name}[/bold]\n{theme.description}\n", highlight=False)
        for entry in (e for e in tax.entries if e.theme == theme.id):
            out.print(f"{entry.id:8} {entry.kind:18} {entry.text}", highlight=False)
        return
    entry = tax.entry(entry_id)
    theme = tax.theme(entry.theme)
    out.print(f"[bold]{entry.id}[/bold] ({tax.id})\ntheme: {theme.id} {theme.name}\nkind: {entry.kind}\n\n"
              f"{entry.text}", highlight=False)


@taxonomy_app.command("export")
def taxonomy_export(
    fmt: Annotated[str, typer.Option("--format", help="Output format.")] = "jsonl",
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
) -> None:
    """Print every entry as JSON lines: taxonomy, id, theme, kind, text."""
    if fmt != "jsonl":
        raise fail(f"unsupported format {fmt!r}; use jsonl")
    tax = load_taxonomy(taxonomy)
    write_jsonl((entry.as_record() for entry in tax.entries), sys.stdout)


@taxonomy_app.command("guide")
def taxonomy_guide() -> None:
    """Print the labelling guide: what counts as evidence, themes, polarity, entries, settled ambiguities."""
    sys.stdout.write(LABELLING_GUIDE.read_text(encoding="utf-8"))
