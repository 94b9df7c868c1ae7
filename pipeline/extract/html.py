"""HTML extraction: committee report pages and other council web pages."""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag

from pipeline.domain import Block, BlockType
from pipeline.extract import layout

_SKIP = {"script", "style", "noscript", "template", "head", "svg", "form", "button", "iframe", "object"}
_FURNITURE = {"nav": BlockType.HEADER, "header": BlockType.HEADER, "footer": BlockType.FOOTER}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {"p", "li", "table", "pre", "blockquote", "dt", "dd", "ul", "ol", "dl", "div", "section", "article",
           "main", "aside", "figure", "figcaption", "address", "tr", "td", "th", "body", *_HEADINGS, *_FURNITURE}


def extract_html(data: bytes) -> tuple[list[Block], str | None]:
    """Return blocks in document order and the page title."""
    soup = BeautifulSoup(data, "lxml")
    title = layout.normalise_space(soup.title.get_text()) if soup.title else None
    root = soup.body or soup
    blocks: list[Block] = []
    _walk(root, blocks, BlockType.PARAGRAPH)
    return blocks, title or None


def _has_block_child(tag: Tag) -> bool:
    return any(isinstance(c, Tag) and c.name in _BLOCKS for c in tag.descendants)


def _emit(blocks: list[Block], text: str, kind: BlockType, level: int = 0) -> None:
    text = layout.normalise_space(text)
    if not text:
        return
    if kind is BlockType.PARAGRAPH and layout.looks_like_list_item(text):
        kind = BlockType.LIST_ITEM
    blocks.append(Block(kind, text, None, level=level))


def _walk(tag: Tag, blocks: list[Block], default: BlockType) -> None:
    buffer: list[str] = []

    def flush() -> None:
        _emit(blocks, " ".join(buffer), default)
        buffer.clear()

    for child in tag.children:
        if isinstance(child, NavigableString):
            if child.__class__.__name__ in ("Comment", "Doctype", "Declaration", "ProcessingInstruction", "CData"):
                continue
            buffer.append(str(child))
            continue
        if not isinstance(child, Tag) or child.name in _SKIP:
            continue
        name = child.name
        if name in _HEADINGS:
            flush()
            _emit(blocks, child.get_text(" "), BlockType.HEADING if default is BlockType.PARAGRAPH else default,
                  _HEADINGS[name])
        elif name in _FURNITURE:
            flush()
            _walk(child, blocks, _FURNITURE[name])
        elif name == "table":
            flush()
            _table(child, blocks, default)
        elif name == "li":
            flush()
            _list_item(child, blocks, default)
        elif name in _BLOCKS and _has_block_child(child):
            flush()
            _walk(child, blocks, default)
        elif name in _BLOCKS:
            flush()
            _emit(blocks, child.get_text(" "), default)
        elif name == "br":
            buffer.append(" ")
        else:
            buffer.append(child.get_text(" "))
    flush()


def _list_item(item: Tag, blocks: list[Block], default: BlockType) -> None:
    own = [c.get_text(" ") if isinstance(c, Tag) else str(c)
           for c in item.children if not (isinstance(c, Tag) and c.name in ("ul", "ol", "table"))]
    kind = BlockType.LIST_ITEM if default is BlockType.PARAGRAPH else default
    _emit(blocks, " ".join(own), kind)
    for nested in item.find_all(["ul", "ol", "table"], recursive=False):
        _walk(nested, blocks, default) if nested.name != "table" else _table(nested, blocks, default)


def _table(table: Tag, blocks: list[Block], default: BlockType) -> None:
    """Label/value tables become one paragraph per row; other tables one table block."""
    rows: list[list[Tag]] = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is table:
            rows.append(tr.find_all(["td", "th"], recursive=False))
    if not rows:
        return
    if default is not BlockType.PARAGRAPH:
        _emit(blocks, table.get_text(" "), default)
        return
    if all(len(r) <= 2 for r in rows) and any(len(r) == 2 for r in rows) and _is_label_value(rows):
        for row in rows:
            cells = [layout.normalise_space(c.get_text(" ")) for c in row]
            if len(cells) == 1:
                _walk(row[0], blocks, default)
                continue
            label, value = cells[0].rstrip(":"), " ".join(c for c in cells[1:] if c)
            if value:
                _emit(blocks, f"{label}: {value}" if label else value, BlockType.PARAGRAPH)
            elif label:
                _emit(blocks, label, BlockType.HEADING, 3)
        return
    lines = []
    for row in rows:
        cells = [layout.normalise_space(c.get_text(" ")) for c in row]
        if any(cells):
            lines.append(" | ".join(cells))
    if lines:
        blocks.append(Block(BlockType.TABLE, "\n".join(lines)))


def _is_label_value(rows: list[list[Tag]]) -> bool:
    """Short labels in the first column, and not a data table with a header row."""
    if all(cell.name == "th" for cell in rows[0]) and len(rows[0]) > 1:
        return False
    labels = [layout.normalise_space(r[0].get_text(" ")) for r in rows if len(r) >= 2]
    return bool(labels) and all(len(label.split()) <= 8 for label in labels)
