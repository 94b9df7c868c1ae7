"""``triage extract`` and ``triage predict``: one document's passages, and passages classified, without a database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import TaxonomyId, fail, note
from pipeline.errors import DocumentError
from pipeline.jsonl import write_jsonl
from pipeline.taxonomy import DEFAULT_TAXONOMY


def extract(
    file: Annotated[Path, typer.Argument(help="A PDF, DOCX, HTML or text file.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl (passages) or blocks (typed blocks).")] = "jsonl",
) -> None:
    """Print a document's passages as JSON lines. Exit status 2 if it cannot be read."""
    from pipeline.extract import extract_document
    from pipeline.passages.segment import Segmenter

    if fmt not in ("jsonl", "blocks"):
        raise fail(f"unsupported format {fmt!r}; use jsonl or blocks")
    try:
        document = extract_document(file)
    except DocumentError as e:
        raise fail(f"{file.name}: {e.reason}: {e}", code=2) from e
    for skipped in document.skipped_pages:
        note(f"note: {file.name}: page {skipped.page} skipped: {skipped.reason}: {skipped.detail}")
    if fmt == "blocks":
        write_jsonl(({"type": str(block.type), "page": block.page, "heading": " > ".join(block.heading_path),
                      "start": block.start, "end": block.end, "text": block.text} for block in document.blocks),
                    sys.stdout)
        return
    write_jsonl((passage.as_record() for passage in Segmenter().passages(document)), sys.stdout)


def predict(
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Matches per passage.")] = 5,
    input_file: Annotated[Path | None, typer.Option("--input", help="JSONL input (default: stdin).")] = None,
    output_file: Annotated[Path | None, typer.Option("--output", help="JSONL output (default: stdout).")] = None,
) -> None:
    """Classify JSONL passages {"id", "text"} without a database."""
    from pipeline.predict import predict_file

    predict_file(input_file, output_file, taxonomy, top_k)
