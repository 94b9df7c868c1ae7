"""The ``triage`` command: a thin layer over the pipeline's Python API.

Each module holds the commands of one part of the pipeline; this one assembles them into the
app, in the order ``triage --help`` lists them. Heavy imports (torch, Prefect) happen inside
the commands that need them, so ``triage --help``, ``triage extract`` and ``triage taxonomy``
start quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline import paths
from pipeline.cli import collect, database, documents, feed, review, taxonomy, training
from pipeline.cli.common import TranslatedErrors
from pipeline.settings import configure_environment

app = typer.Typer(help="Triage council papers for evidence against the Best Value Duty indicators.",
                  invoke_without_command=True, add_completion=False, pretty_exceptions_enable=False,
                  cls=TranslatedErrors)


@app.callback()
def orientation(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", file_okay=False, help="Where the database, caches, outbox and (installed) source register go; "
        "default: TRIAGE_DATA_DIR, else data/ in a checkout, else the user data directory.")] = None,
) -> None:
    """Triage council papers for evidence against the Best Value Duty indicators."""
    if data_dir is not None:
        paths.use_data_dir(data_dir)  # before any option default is resolved against it
    configure_environment()  # before any command imports Prefect or transformers
    if ctx.invoked_subcommand is None:
        from pipeline.cli.common import out

        out.print(ORIENTATION.format(data_dir=paths.data_dir()), highlight=False, markup=False)


ORIENTATION = """bv-triage reads council papers and links their passages to the Best Value Duty indicators.

Start here:
  triage run                 ingest the bundled demo corpus (16 papers of 3 fictional councils), print a summary
  triage summary             evidence per authority and theme, the strongest flags, an HTML heat map
  triage reviewers add NAME  then `triage review`: the analysts' app to confirm or reject suggestions
  triage doctor              check this machine and the database, and say what to install

Your own papers: `triage run FOLDER --authority SLUG`, or register sites with `triage sources add`.
What counts as evidence: `triage taxonomy guide`. Every command: `triage --help`.
Data directory: {data_dir} (move it with --data-dir DIR or TRIAGE_DATA_DIR)."""
app.add_typer(taxonomy.taxonomy_app, name="taxonomy")
app.add_typer(collect.sources_app, name="sources")
app.add_typer(collect.scrape_app, name="scrape")
app.add_typer(collect.flows_app, name="flows")
app.add_typer(feed.export_app, name="export")
app.add_typer(review.reviewers_app, name="reviewers")
app.add_typer(review.tokens_app, name="tokens")
for command in (documents.extract, documents.predict, review.review, review.explore, training.learn,
                training.evaluate, database.run, database.summary, database.doctor):
    app.command()(command)
