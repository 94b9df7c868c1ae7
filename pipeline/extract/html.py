"""HTML extraction: committee report pages and other council web pages.

The page is walked with an explicit stack, never by recursion, so thousands of nested
elements cost memory in proportion to the page and nothing more; each element's text is
read once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, NavigableString, PageElement, ParserRejectedMarkup, Tag

from pipeline.domain import Block, BlockType
from pipeline.errors import CorruptDocumentError
from pipeline.extract import layout
from pipeline.extract.limits import Limits
from pipeline.text import squash_space

_SKIP = {"script", "style", "noscript", "template", "head", "svg", "form", "button", "iframe", "object"}
_FURNITURE = {"nav": BlockType.HEADER, "header": BlockType.HEADER, "footer": BlockType.FOOTER}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {"p", "li", "table", "pre", "blockquote", "dt", "dd", "ul", "ol", "dl", "div", "section", "article",
           "main", "aside", "figure", "figcaption", "address", "tr", "td", "th", "body", *_HEADINGS, *_FURNITURE}
_NOT_TEXT = ("Comment", "Doctype", "Declaration", "ProcessingInstruction", "CData")


def extract_html(data: bytes, limits: Limits) -> tuple[list[Block], str | None]:
    """Return blocks in document order and the page title."""
    try:
        soup = BeautifulSoup(data, "lxml")
    except (ParserRejectedMarkup, ValueError) as e:
        raise CorruptDocumentError(f"HTML cannot be parsed ({e})") from e
    title = squash_space(soup.title.get_text()) if soup.title else None
    root = soup.body or soup
    blocks = _Walker(limits, _block_holders(root)).walk(root)
    return blocks, title or None


def _block_holders(root: Tag) -> set[int]:
    """The ids of the elements with a block element somewhere inside, found in one pass."""
    holders: set[int] = set()
    for element in root.descendants:
        if isinstance(element, Tag) and element.name in _BLOCKS:
            parent = element.parent
            while parent is not None and id(parent) not in holders:
                holders.add(id(parent))
                parent = parent.parent
    return holders


@dataclass
class _Descend:
    """Walk this element's children as blocks of ``default`` type."""

    tag: Tag
    default: BlockType


_Item = PageElement | Block | _Descend


@dataclass
class _Frame:
    items: Iterator[_Item]
    default: BlockType
    buffer: list[str] = field(default_factory=list)  # inline text waiting to become one block


@dataclass
class _Walker:
    limits: Limits
    holders: set[int]
    blocks: list[Block] = field(default_factory=list)

    def walk(self, root: Tag) -> list[Block]:
        stack = [_Frame(iter(root.children), BlockType.PARAGRAPH)]
        while stack:
            frame = stack[-1]
            item = next(frame.items, None)
            if item is None:
                self._flush(frame)
                stack.pop()
            elif isinstance(item, Block):
                self._flush(frame)
                self._add(item)
            elif isinstance(item, _Descend):
                self._flush(frame)
                stack.append(_Frame(iter(item.tag.children), item.default))
            elif isinstance(item, NavigableString):
                if item.__class__.__name__ not in _NOT_TEXT:
                    frame.buffer.append(str(item))
            elif isinstance(item, Tag) and item.name not in _SKIP:
                pushed = self._element(item, frame)
                if pushed is not None:
                    stack.append(pushed)
        return self.blocks

    def _element(self, tag: Tag, frame: _Frame) -> _Frame | None:
        """Handle one element; return a frame when its content is to be walked next."""
        name, default = tag.name, frame.default
        if name == "br":
            frame.buffer.append(" ")
            return None
        if name not in _BLOCKS and name != "li":
            frame.buffer.append(tag.get_text(" "))
            return None
        self._flush(frame)
        if name in _HEADINGS:
            kind = BlockType.HEADING if default is BlockType.PARAGRAPH else default
            self._add(_block(tag.get_text(" "), kind, _HEADINGS[name]))
        elif name in _FURNITURE:
            return _Frame(iter(tag.children), _FURNITURE[name])
        elif name == "table":
            return _Frame(_table(tag, default), default)
        elif name == "li":
            return _Frame(_list_item(tag, default), default)
        elif id(tag) in self.holders:
            return _Frame(iter(tag.children), default)
        else:
            self._add(_block(tag.get_text(" "), default))
        return None

    def _flush(self, frame: _Frame) -> None:
        if frame.buffer:
            self._add(_block(" ".join(frame.buffer), frame.default))
            frame.buffer.clear()

    def _add(self, block: Block | None) -> None:
        if block is not None:
            self.blocks.append(block)
            self.limits.check_size(len(self.blocks), 0)


def _block(text: str, kind: BlockType, level: int = 0) -> Block | None:
    text = squash_space(text)
    if not text:
        return None
    if kind is BlockType.PARAGRAPH and layout.looks_like_list_item(text):
        kind = BlockType.LIST_ITEM
    return Block(kind, text, None, level=level)


def _list_item(item: Tag, default: BlockType) -> Iterator[_Item]:
    """The item's own text as one block, then its nested lists and tables."""
    own = [c.get_text(" ") if isinstance(c, Tag) else str(c)
           for c in item.children if not (isinstance(c, Tag) and c.name in ("ul", "ol", "table"))]
    kind = BlockType.LIST_ITEM if default is BlockType.PARAGRAPH else default
    if block := _block(" ".join(own), kind):
        yield block
    for nested in item.find_all(["ul", "ol", "table"], recursive=False):
        if nested.name == "table":
            yield from _table(nested, default)
        else:
            yield _Descend(nested, default)


def _own_rows(table: Tag) -> list[list[Tag]]:
    """The table's rows and their cells, without the rows of tables nested in it."""
    rows: list[list[Tag]] = []
    stack = [iter(table.children)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif isinstance(child, Tag) and child.name != "table":
            if child.name == "tr":
                rows.append([c for c in child.children if isinstance(c, Tag) and c.name in ("td", "th")])
            stack.append(iter(child.children))
    return rows


def _table(table: Tag, default: BlockType) -> Iterator[_Item]:
    """Label/value tables become one paragraph per row; other tables one table block."""
    rows = _own_rows(table)
    if not rows:
        return
    if default is not BlockType.PARAGRAPH:
        if block := _block(table.get_text(" "), default):
            yield block
        return
    if all(len(r) <= 2 for r in rows) and any(len(r) == 2 for r in rows) and _is_label_value(rows):
        for row in rows:
            if len(row) == 1:
                yield _Descend(row[0], default)
                continue
            cells = [squash_space(c.get_text(" ")) for c in row]
            label, value = cells[0].rstrip(":"), " ".join(c for c in cells[1:] if c)
            block = (_block(f"{label}: {value}" if label else value, BlockType.PARAGRAPH) if value
                     else _block(label, BlockType.HEADING, 3) if label else None)
            if block:
                yield block
        return
    lines = []
    for row in rows:
        cells = [squash_space(c.get_text(" ")) for c in row]
        if any(cells):
            lines.append(" | ".join(cells))
    if lines:
        yield Block(BlockType.TABLE, "\n".join(lines))


def _is_label_value(rows: list[list[Tag]]) -> bool:
    """Short labels in the first column, and not a data table with a header row."""
    if all(cell.name == "th" for cell in rows[0]) and len(rows[0]) > 1:
        return False
    labels = [squash_space(r[0].get_text(" ")) for r in rows if len(r) >= 2]
    return bool(labels) and all(len(label.split()) <= 8 for label in labels)
