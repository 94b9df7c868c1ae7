"""The ``triage`` command: a thin layer over the pipeline's Python API.

Heavy imports (torch, Prefect) happen inside the commands that need them, so
``triage --help``, ``triage extract`` and ``triage taxonomy`` start quickly.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipeline.errors import DocumentError, TriageError
from pipeline.paths import DEFAULT_DB, DEFAULT_HEATMAP, DEFAULT_OUTBOX, DEMO_CORPUS, DEVSET
from pipeline.settings import configure_environment
from pipeline.sources import DEFAULT_REGISTER
from pipeline.taxonomy import DEFAULT_TAXONOMY, available_taxonomies, load_taxonomy

configure_environment()

if TYPE_CHECKING:
    from pipeline.summary import AuthoritySummary

app = typer.Typer(help="Triage council papers for evidence against the Best Value Duty indicators.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
taxonomy_app = typer.Typer(help="Inspect and export the indicator taxonomies.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")
sources_app = typer.Typer(help="The source register: where each authority's papers come from.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
scrape_app = typer.Typer(help="Collect published council papers and ingest them.", no_args_is_help=True)
app.add_typer(scrape_app, name="scrape")
flows_app = typer.Typer(help="Prefect deployments.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")
export_app = typer.Typer(help="Feeds for the risk engine.", no_args_is_help=True)
app.add_typer(export_app, name="export")
reviewers_app = typer.Typer(help="Analysts who review suggested evidence.", no_args_is_help=True)
app.add_typer(reviewers_app, name="reviewers")
tokens_app = typer.Typer(help="API tokens for the risk engine's /api/v1/flags.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
out = Console()
err = Console(stderr=True)

RegisterPath = Annotated[Path, typer.Option("--register", help="Source register YAML.", dir_okay=False)]
DbPath = Annotated[Path, typer.Option("--db", help="SQLite database file.", dir_okay=False)]
TaxonomyId = Annotated[str, typer.Option("--taxonomy", help="Taxonomy id, e.g. bv-2023-draft or wales-2013.")]
AuthorityOpt = Annotated[str | None, typer.Option("--authority", help="Authority slug for documents "
                                                  "without a manifest entry (created if new).")]


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


# -- taxonomy ----------------------------------------------------------------------------------------

@taxonomy_app.command("list")
def taxonomy_list(taxonomy: TaxonomyId = DEFAULT_TAXONOMY) -> None:
    """List the available taxonomies and the themes of one, with entry counts."""
    try:
        tax = load_taxonomy(taxonomy)
    except TriageError as e:
        raise fail(str(e)) from e
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
    try:
        tax = load_taxonomy(taxonomy)
        if entry_id in {t.id for t in tax.themes}:
            theme = tax.theme(entry_id)
            out.print(f"[bold]{theme.id} {theme.name}[/bold]\n{theme.description}\n", highlight=False)
            for entry in (e for e in tax.entries if e.theme == theme.id):
                out.print(f"{entry.id:8} {entry.kind:18} {entry.text}", highlight=False)
            return
        entry = tax.entry(entry_id)
    except TriageError as e:
        raise fail(str(e)) from e
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
    try:
        tax = load_taxonomy(taxonomy)
    except TriageError as e:
        raise fail(str(e)) from e
    for entry in tax.entries:
        sys.stdout.write(json.dumps(entry.as_record(), ensure_ascii=False) + "\n")


# -- extract -----------------------------------------------------------------------------------------

@app.command()
def extract(
    file: Annotated[Path, typer.Argument(help="A PDF, DOCX, HTML or text file.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl (passages) or blocks (typed blocks).")] = "jsonl",
) -> None:
    """Print a document's passages as JSON lines. Exit status 2 if it cannot be read."""
    from pipeline.extract import extract_document
    from pipeline.segment import Segmenter

    if fmt not in ("jsonl", "blocks"):
        raise fail(f"unsupported format {fmt!r}; use jsonl or blocks")
    try:
        document = extract_document(file)
    except DocumentError as e:
        raise fail(f"{file.name}: {e.reason}: {e}", code=2) from e
    if fmt == "blocks":
        for block in document.blocks:
            record = {"type": str(block.type), "page": block.page, "heading": " > ".join(block.heading_path),
                      "start": block.start, "end": block.end, "text": block.text}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    for passage in Segmenter().passages(document):
        sys.stdout.write(json.dumps(passage.as_record(), ensure_ascii=False) + "\n")


# -- predict -----------------------------------------------------------------------------------------

@app.command()
def predict(
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Matches per passage.")] = 5,
    input_file: Annotated[Path | None, typer.Option("--input", help="JSONL input (default: stdin).")] = None,
    output_file: Annotated[Path | None, typer.Option("--output", help="JSONL output (default: stdout).")] = None,
) -> None:
    """Classify JSONL passages {"id", "text"} without a database."""
    from pipeline.classify import load_classifier
    from pipeline.embed import load_encoder
    from pipeline.predict import predict_records, read_records, write_jsonl

    try:
        with ExitStack() as files:
            source = files.enter_context(input_file.open(encoding="utf-8")) if input_file else sys.stdin
            classifier = load_classifier(load_encoder(), taxonomy)
            sink = files.enter_context(output_file.open("w", encoding="utf-8")) if output_file else sys.stdout
            write_jsonl(predict_records(read_records(source), classifier, top_k), sink)
    except OSError as e:
        raise fail(f"{e.filename}: {e.strerror}") from e
    except TriageError as e:
        raise fail(str(e)) from e


# -- sources, scrape, flows -------------------------------------------------------------------------

def _register(path: Path):  # type: ignore[no-untyped-def]
    """The source register, or a one-line error."""
    from pipeline.sources import load_register

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
    from pipeline.sources import add_source, load_register, parse_source

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
    from pipeline.sources import register_problems

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

    from pipeline.sources import load_register, parse_source

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

    result = scrape_flow(keys, str(db), str(register), since, until, adhoc, allow_private_hosts,
                         progress=sys.stderr.isatty())
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


# -- review ------------------------------------------------------------------------------------------

@app.command()
def review(
    db: DbPath = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[bool | None, typer.Option("--secure-cookies/--no-secure-cookies", help="Force the "
                                                        "Secure cookie flag (default: when served over https).")
                              ] = None,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", help="Address of a reverse proxy whose X-Forwarded-For/-Proto headers are believed "
        "(repeatable; default none).")] = None,
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", help="Host name the app answers to (repeatable; '*.example.org' for subdomains; "
        "default: the loopback names, or the --host address).")] = None,
) -> None:
    """Serve the analyst review app (login required; see `triage reviewers add`)."""
    from pipeline.review.commands import serve

    try:
        serve(db, host, port, secure_cookies, trusted_proxy or (), allowed_host or ())
    except TriageError as e:
        raise fail(str(e)) from e


@app.command()
def explore(
    db: DbPath = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (no login: keep it loopback).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8001,
    review_url: Annotated[str, typer.Option("--review-url", help="Where analysts reach the review app: passage ids "
                                            "link to its item pages.")] = "http://127.0.0.1:8000",
) -> None:
    """Explore the database read-only in Datasette: facets, full-text search, canned queries."""
    from pipeline.explore import serve

    err.print(f"Datasette on http://{host}:{port} (read-only)", highlight=False)
    try:
        serve(db, host, port, review_url)
    except TriageError as e:
        raise fail(str(e)) from e


@reviewers_app.command("add")
def reviewers_add(
    name: Annotated[str, typer.Argument(help="Reviewer name (used to log in).")],
    role: Annotated[str, typer.Option("--role", help="analyst or lead.")] = "analyst",
    db: DbPath = DEFAULT_DB,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="Read the password from this "
                                                       "file (for scripts) instead of a prompt.")] = None,
) -> None:
    """Add a reviewer; the password is stored as a salted scrypt hash."""
    from pipeline.review.commands import add_reviewer

    if password_file:
        try:
            password = password_file.read_text(encoding="utf-8").rstrip("\n")
        except OSError as e:
            raise fail(f"{password_file}: {e.strerror}") from e
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        add_reviewer(db, name, role, password)
    except TriageError as e:
        raise fail(str(e)) from e
    out.print(f"added {role} {name}", highlight=False)


@tokens_app.command("add")
def tokens_add(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. risk-engine.")],
    db: DbPath = DEFAULT_DB,
) -> None:
    """Create an API token for GET /api/v1/flags; it is printed once and stored only as a hash."""
    from pipeline.review.api import add_token
    from pipeline.store import Store

    try:
        with Store(db) as store:
            token = add_token(store, name)
    except TriageError as e:
        raise fail(str(e)) from e
    sys.stdout.write(token + "\n")
    err.print("store this token now: it cannot be shown again", highlight=False)


@tokens_app.command("list")
def tokens_list(db: DbPath = DEFAULT_DB) -> None:
    """List API tokens by id and name (never the tokens themselves), with their dates and state."""
    from rich.table import Table
    from rich.text import Text

    from pipeline.review.api import list_tokens
    from pipeline.store import Store

    if not db.exists():
        raise fail(f"no database at {db}")
    with Store(db) as store:
        tokens = list_tokens(store)
    if not tokens:
        err.print("no API tokens (add one with `triage tokens add NAME`)", highlight=False)
        return
    table = Table("id", "name", "created by", "created", "last used", "state")
    for t in tokens:
        table.add_row(t["id"], Text(t["name"]), Text(t["created_by"]), t["created_at"], t["last_used_at"] or "never",
                      "revoked" if t["revoked"] else "live")
    out.print(table, highlight=False)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token's id from `triage tokens list` (6+ characters), or its "
                                        "name to revoke every live token of that name.")],
    db: DbPath = DEFAULT_DB,
) -> None:
    """Revoke an API token: requests with it get 401 from then on."""
    from pipeline.review.api import revoke_token
    from pipeline.store import Store

    if not db.exists():
        raise fail(f"no database at {db}")
    try:
        with Store(db) as store:
            revoked = revoke_token(store, token)
    except TriageError as e:
        raise fail(str(e)) from e
    out.print(f"revoked {len(revoked)} token(s): {', '.join(revoked)}", highlight=False)


# -- export ------------------------------------------------------------------------------------------

@export_app.command("flags")
def export_flags_command(
    db: DbPath = DEFAULT_DB,
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
    from pipeline.feed import ExportFilter, export_flags, parse_cursor, render, write_atomically
    from pipeline.store import Store

    if since is not None and cursor_file is not None:
        raise fail("give --since or --cursor-file, not both")
    if not db.exists():
        raise fail(f"no database at {db}")
    try:
        selection = ExportFilter(status, min_probability)
        start = parse_cursor(cursor_file.read_text() if cursor_file and cursor_file.exists() else since)
        with Store(db) as store:
            records, next_cursor = export_flags(store, start, selection)
        text = render(records, fmt)
    except TriageError as e:
        raise fail(str(e)) from e
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
    db: DbPath = DEFAULT_DB,
    authority: AuthorityOpt = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write JSON here instead of stdout.")] = None,
) -> None:
    """Per authority and theme: a weighted evidence score with its contributing evidence ids."""
    from pipeline.feed import write_atomically
    from pipeline.signals import authority_signals
    from pipeline.store import Store

    if not db.exists():
        raise fail(f"no database at {db}")
    with Store(db) as store:
        signals = [s.as_record() for s in authority_signals(store, authority=authority)]
    text = json.dumps({"signals": signals}, indent=2) + "\n"
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text)


@export_app.command("push")
def export_push_command(
    db: DbPath = DEFAULT_DB,
    outbox: Annotated[Path, typer.Option("--outbox", help="Folder for JSONL batches.")] = DEFAULT_OUTBOX,
    webhook: Annotated[str | None, typer.Option("--webhook", help="Also POST batches here (signed with "
                                                "BV_TRIAGE_WEBHOOK_SECRET; the receiver's token, if it wants one, "
                                                "in BV_TRIAGE_WEBHOOK_TOKEN, never in the URL).")] = None,
) -> None:
    """Run the export flow once: new flag events to the outbox (and the webhook)."""
    from flows.export import export_flow

    if not db.exists():
        raise fail(f"no database at {db}")
    try:
        results = export_flow(str(db), str(outbox), webhook)
    except (TriageError, ValueError) as e:
        raise fail(str(e)) from e
    for result in results:
        out.print(f"{result.destination}: {result.events} events, cursor {result.cursor}", highlight=False)


# -- learn -------------------------------------------------------------------------------------------

@app.command()
def learn(
    db: DbPath = DEFAULT_DB,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Refit and report, but never activate.")] = False,
) -> None:
    """Refit thresholds and heads from confirmed and rejected evidence; activate only if not worse."""
    from flows.learn import learn_flow

    if not db.exists():
        raise fail(f"no database at {db}")
    try:
        report = learn_flow(str(db), taxonomy, activate=not dry_run)
    except TriageError as e:
        raise fail(str(e)) from e
    from pipeline.learn import format_report

    out.print(format_report(report), highlight=False, markup=False)
    if report.activated:
        out.print("The next `triage run` re-classifies stored passages with it (from cached embeddings).",
                  highlight=False, markup=False)


# -- evaluate ----------------------------------------------------------------------------------------

@app.command()
def evaluate(
    gold: Annotated[Path, typer.Option("--gold", help="Labelled JSONL (see LABELLING.md): id or gid, text, theme, "
                                       "polarity, entries.")] = DEVSET,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    json_output: Annotated[Path | None, typer.Option("--json", help="Also write the reports as JSON.")] = None,
) -> None:
    """Score the classifier and a BM25 baseline (thresholds fitted on the development set) on a gold file."""
    from pipeline.bm25 import BM25Classifier
    from pipeline.classify import load_classifier
    from pipeline.embed import load_encoder
    from pipeline.evaluate import format_report, load_gold, report_to_dict, score
    from pipeline.predict import predict_records

    try:
        tax = load_taxonomy(taxonomy)
        rows = load_gold(gold)
        records = [{"id": row.id, "text": row.text} for row in rows]
        bm25 = BM25Classifier(tax)
        bm25.fit_thresholds(load_gold(DEVSET))
        classifier = load_classifier(load_encoder(), tax.id)
        themes = [t.id for t in tax.themes]
        reports = {
            "bv-triage": score(rows, predict_records(records, classifier, top_k=5), themes),
            "bm25": score(rows, bm25.predict(records, top_k=5), themes),
        }
    except TriageError as e:
        raise fail(str(e)) from e
    out.print(format_report(reports), highlight=False, markup=False)
    if json_output:
        json_output.write_text(json.dumps({k: report_to_dict(v) for k, v in reports.items()}, indent=2))


# -- run ---------------------------------------------------------------------------------------------

@app.command()
def run(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the bundled corpus).")] = None,
    db: DbPath = DEFAULT_DB,
    authority: AuthorityOpt = None,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    dask_workers: Annotated[int | None, typer.Option("--dask-workers", help="Prepare documents on a local Dask "
                                                     "cluster of this many worker processes.")] = None,
    dask_address: Annotated[str | None, typer.Option("--dask-address", help="Prepare documents on the Dask "
                                                     "scheduler at this address (tcp://host:8786).")] = None,
) -> None:
    """Ingest documents into the database with the Prefect flow, then print a summary."""
    from pipeline.corpus import discover
    from pipeline.ingest import settled_run
    from pipeline.store import Store
    from pipeline.summary import authority_summaries

    targets = paths or [DEMO_CORPUS]
    parameters = {"paths": [str(p) for p in targets], "authority": authority, "taxonomy": taxonomy}
    try:
        authorities, sources = discover(targets, authority)  # fail fast, before Prefect and the model start
        load_taxonomy(taxonomy)
        summary = settled_run(sources, authorities, db, taxonomy, parameters)
    except TriageError as e:
        raise fail(str(e)) from e
    if summary is not None:
        err.print("Nothing to do: every document is stored under the current extractor and classifier "
                  "(Prefect not started)", highlight=False)
    else:
        from flows.ingest import dask_task_runner, ingest_flow

        if dask_workers or dask_address:
            ingest_flow = ingest_flow.with_options(task_runner=dask_task_runner(dask_address, dask_workers or 2))
        err.print(f"Ingesting {', '.join(str(p) for p in targets)} into {db} (Prefect, local ephemeral mode unless "
                  "PREFECT_API_URL is set)", highlight=False)
        summary = ingest_flow(parameters["paths"], str(db), authority, taxonomy, progress=sys.stderr.isatty(),
                              embed_in_workers=bool(dask_workers or dask_address))
    with Store(db) as store:
        print_summary(authority_summaries(store, authority if paths else None))
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary.outcomes.items()))
    out.print(f"run {summary.run_id}: {summary.documents} documents ({outcomes}); database {db}", highlight=False)


@app.command()
def summary(
    db: DbPath = DEFAULT_DB,
    authority: AuthorityOpt = None,
    html: Annotated[Path, typer.Option("--html", help="Where to write the HTML heat map.")] = DEFAULT_HEATMAP,
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
) -> None:
    """Per-authority evidence by theme, polarity and status, the strongest flagged passages, and an
    HTML heat map."""
    from pipeline.heatmap import render_heatmap
    from pipeline.store import Store
    from pipeline.summary import authority_summaries

    if not db.exists():
        raise fail(f"no database at {db}; run `triage run` first")
    with Store(db) as store:
        summaries = authority_summaries(store, authority)
    if authority and not summaries:
        raise fail(f"no authority {authority!r} in {db}")
    print_summary(summaries)
    for s in summaries:
        out.print(f"\n[bold]{s.name}[/bold] ({s.slug})", highlight=False)
        for theme, counts in sorted(s.by_theme.items()):
            cells = [f"{polarity} {status} {n}" for (polarity, status), n in sorted(counts.items())]
            out.print(f"  {theme:4} " + ", ".join(cells), highlight=False)
        for p in s.strongest[:3]:
            score = f"{p.score:.2f}" if p.score is not None else "n/a"
            out.print(f"  flagged {p.entry} {score} {p.status}: {p.title or p.document[:12]} p.{p.page or '-'}: "
                      f"{' '.join(p.text.split())[:140]}", highlight=False, markup=False)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_heatmap(summaries, load_taxonomy(taxonomy)), encoding="utf-8")
    out.print(f"\nheat map: {html}", highlight=False)


@app.command()
def doctor(
    db: DbPath = DEFAULT_DB,
    repair: Annotated[bool, typer.Option("--repair", help="Repair what is safe to repair.")] = False,
) -> None:
    """Check the database: schema, integrity, orphan rows, unclassified documents, stuck runs."""
    from pipeline.doctor import check
    from pipeline.store import Store

    if not db.exists():
        raise fail(f"no database at {db}")
    with Store(db) as store:
        findings = check(store, repair=repair)
    for finding in findings:
        mark = "ok" if finding.count == 0 else ("repaired" if finding.repaired else "PROBLEM")
        out.print(f"{mark:9} {finding.check}: {finding.count}" + (f" ({finding.detail})" if finding.count else ""),
                  highlight=False, markup=False)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def print_summary(summaries: list[AuthoritySummary]) -> None:
    table = Table(title="Evidence by authority")
    for column in ("authority", "docs", "failed", "ocr", "passages", "evidence", "flagged", "top themes"):
        table.add_column(column, justify="left" if column in ("authority", "top themes") else "right")
    for s in summaries:
        themes = " ".join(f"{k}:{v}" for k, v in sorted(s.themes.items(), key=lambda kv: -kv[1])[:3])
        table.add_row(s.slug, str(s.documents), str(s.failed), str(s.ocr), str(s.passages), str(s.evidence),
                      str(s.flagged_passages), themes)
    out.print(table)
    for s in summaries:
        for path, reason in s.failures:
            out.print(f"failed: {s.slug} {Path(path).name}: {reason}", highlight=False)


if __name__ == "__main__":
    app()
