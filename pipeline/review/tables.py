"""A passage cut from a table block, back into rows and cells for display.

The extractors (PDF, HTML and DOCX alike) write a table block as one line per row with cells joined
by " | " (``pipeline.extract.pdf.table_text`` and its HTML and DOCX twins); a long table is split into
passages between rows. Rows can have fewer cells than the widest (merged cells are written once), so
the last cell of a short row spans the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

CELL_SEPARATOR = " | "


@dataclass(frozen=True)
class Cell:
    text: str
    span: int = 1


@dataclass(frozen=True)
class TableView:
    rows: list[list[Cell]]
    more_rows: int  # rows left out by a row limit


def table_view(text: str, max_rows: int | None = None) -> TableView:
    """The rows of a table passage, at most ``max_rows`` of them."""
    lines = [line.split(CELL_SEPARATOR) for line in text.split("\n") if line.strip()]
    shown = lines if max_rows is None else lines[:max_rows]
    width = max((len(cells) for cells in shown), default=0)
    rows = [[Cell(cell.strip(), width - len(cells) + 1 if i == len(cells) - 1 else 1) for i, cell in enumerate(cells)]
            for cells in shown]
    return TableView(rows, len(lines) - len(shown))
