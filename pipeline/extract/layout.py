"""Format-independent layout rules: block typing, page furniture, heading paths.

Each extractor produces blocks in reading order; these functions give every
format the same block model.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from pipeline.domain import Block, BlockType
from pipeline.text import squash_space

BULLET = re.compile(r"^\s*(?:[•●▪■◦○►▶✓\u2022\u25aa\u25cf\uf0b7\uf0a7o\-–*]\s+|\(?[a-z]{1,3}\)\s+|\([ivx]{1,5}\)\s+)")
NUMBERED = re.compile(r"^\s*(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(?=\S)")
SUBNUMBER = re.compile(r"^\s*(?P<num>\d{1,2}(?:\.\d{1,2}){1,3})\.?\s+(?=\S)")
PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?\s*$|^\s*[-–—]\s*\d{1,4}\s*[-–—]\s*$",
    re.IGNORECASE,
)
TERMINAL = re.compile(r"[.!?:;\"”’)\]]\s*$")
_DIGITS = re.compile(r"\d+")


def looks_like_page_number(text: str) -> bool:
    return bool(PAGE_NUMBER.match(text))


def looks_like_list_item(text: str) -> bool:
    return bool(BULLET.match(text))


def numbered_heading_level(text: str) -> int:
    """Depth of a numbered heading ("5." -> 1, "5.2" -> 2), or 0 when unnumbered."""
    match = NUMBERED.match(text)
    return match["num"].count(".") + 1 if match else 0


def looks_like_heading(text: str, *, emphasised: bool = False) -> bool:
    """A short line without a closing full stop that is emphasised or numbered like a section."""
    words = text.split()
    if not words or len(words) > 16 or len(text) > 120 or text.rstrip().endswith((".", ",", ";")):
        return False
    if looks_like_page_number(text) or looks_like_list_item(text):
        return False
    if not any(c.isalpha() for c in text):
        return False
    if emphasised:
        return True
    match = NUMBERED.match(text)
    if not match:
        return False
    rest = text[match.end():]
    starts_like_title = bool(rest) and (rest[0].isupper() or rest[0].isdigit())
    return starts_like_title and not text.rstrip().endswith(":") and len(words) <= 12


def heading_level(text: str, default: int = 1) -> int:
    return numbered_heading_level(text) or default


def assign_heading_paths(blocks: list[Block]) -> list[Block]:
    """Carry the enclosing headings onto each block; a numbered paragraph adds its number."""
    stack: list[tuple[int, str]] = []
    for block in blocks:
        if block.type is BlockType.HEADING:
            level = block.level or heading_level(block.text)
            block.level = level
            while stack and stack[-1][0] >= level:
                stack.pop()
            block.heading_path = tuple(text for _, text in stack)
            stack.append((level, squash_space(block.text)))
            continue
        path = tuple(text for _, text in stack)
        if block.type is BlockType.PARAGRAPH and (match := SUBNUMBER.match(block.text)):
            path = (*path, match["num"])
        block.heading_path = path
    return blocks


def furniture_key(text: str) -> str:
    """Text with digits masked, so "Page 3 of 9" and "Page 4 of 9" repeat."""
    return _DIGITS.sub("#", squash_space(text).lower())


def mark_running_furniture(pages: list[list[tuple[Block, str]]], min_share: float = 0.4) -> None:
    """Mark headers and footers by repetition across pages.

    ``pages`` holds, per page, candidate blocks with their zone ("top" or "bottom").
    A candidate is furniture when its digit-masked text recurs in the same zone on at
    least ``min_share`` of the pages (and at least two). Page numbers are recognised by
    pattern in either zone, since they differ on every page.
    """
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    for index, candidates in enumerate(pages):
        for block, zone in candidates:
            seen[(zone, furniture_key(block.text))].add(index)
    threshold = max(2, round(min_share * len(pages)))
    for candidates in pages:
        for block, zone in candidates:
            if looks_like_page_number(block.text):
                block.type = BlockType.PAGE_NUMBER
            elif _has_words(block.text) and len(seen[(zone, furniture_key(block.text))]) >= threshold:
                block.type = BlockType.HEADER if zone == "top" else BlockType.FOOTER


def _has_words(text: str) -> bool:
    """Repeated numbers (table totals) are content; repeated words are furniture."""
    return sum(c.isalpha() for c in text) >= 3


def join_continued_paragraphs(blocks: list[Block]) -> list[Block]:
    """Join a paragraph cut by a page break: it lacks a closing mark and the next page
    continues in lower case."""
    out: list[Block] = []
    last_body: Block | None = None
    for block in blocks:
        if (
            last_body is not None
            and block.type is BlockType.PARAGRAPH
            and last_body.type in (BlockType.PARAGRAPH, BlockType.LIST_ITEM)
            and block.page != last_body.page
            and not TERMINAL.search(last_body.text)
            and block.text[:1].islower()
        ):
            last_body.text = join_lines([last_body.text, block.text])
            continue
        out.append(block)
        if block.type.is_body or block.type is BlockType.HEADING:
            last_body = block if block.type.is_body else None
    return out


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines into one string, mending words hyphenated at a line end."""
    text = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not text:
            text = line
        elif re.search(r"[A-Za-z][-\u00ad\x02]$", text) and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text


def body_font_size(sizes: Counter[float]) -> float:
    return sizes.most_common(1)[0][0] if sizes else 10.0
