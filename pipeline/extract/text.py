"""Plain-text extraction: blank lines separate paragraphs; numbered or '#' lines are headings."""

from __future__ import annotations

import re

from pipeline.domain import Block, BlockType
from pipeline.extract import layout
from pipeline.extract.limits import Limits

_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def extract_text(data: bytes, limits: Limits) -> list[Block]:
    text = decode_text(data).replace("\r\n", "\n")
    limits.check_size(0, len(text))
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text):
        limits.check_size(len(blocks), 0)
        lines = [ln.strip() for ln in chunk.split("\n") if ln.strip()]
        current: list[str] = []
        for line in lines:
            if match := _MARKDOWN_HEADING.match(line):
                _flush(blocks, current)
                blocks.append(Block(BlockType.HEADING, match[2].strip(), level=len(match[1])))
            elif layout.looks_like_list_item(line) or (len(lines) == 1 and layout.looks_like_heading(line)):
                _flush(blocks, current)
                current.append(line)
            else:
                current.append(line)
        _flush(blocks, current)
    return blocks


def _flush(blocks: list[Block], lines: list[str]) -> None:
    if not lines:
        return
    text = layout.join_lines(lines)
    lines.clear()
    if layout.looks_like_heading(text):
        blocks.append(Block(BlockType.HEADING, text, level=layout.heading_level(text)))
    elif layout.looks_like_list_item(text):
        blocks.append(Block(BlockType.LIST_ITEM, text))
    else:
        blocks.append(Block(BlockType.PARAGRAPH, text))
