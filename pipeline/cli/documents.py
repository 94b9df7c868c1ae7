"""``triage extract`` and ``triage predict``: one document's passages, and passages classified, without a database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import TaxonomyId, fail, note
from pipeline.errors import DocumentError
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
        for block in document.blocks:
            record = {"type": str(block.type), "page": block.page, "heading": " > ".join(block.heading_path),
                      "start": block.start, "end": block.end, "text": block.text}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    for passage in Segmenter().passages(document):
        sys.stdout.write(json.dumps(passage.as_record(), ensure_ascii=False) + "\n")


def predict(
    taxonomy: TaxonomyId = DEFAULT_TAXONOMY,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Matches per passage.")] = 5,
    input_file: Annotated[Path | None, typer.Option("--input", help="JSONL input (default: stdin).")] = None,
    output_file: Annotated[Path | None, typer.Option("--output", help="JSONL output (default: stdout).")] = None,
) -> None:
    """Classify JSONL passages {"id", "text"} without a database."""
    from pipeline.predict import predict_file

    predict_file(input_file, output_file, taxonomy, top_k)
