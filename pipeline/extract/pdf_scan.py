"""Vet each PDF page's content before pdfium loads it.

Loading a page makes pdfium inflate every content stream and expand every Form XObject
each time it is drawn, with no bound: a 3 KB file whose form draws the next one ten times,
nine levels deep, asks for 10**9 drawings, and a 3 MB file of flate streams inflates to
gigabytes. This scan reads the page's object graph with pdfminer (already a dependency
through pdfplumber), inflates content streams with a cap, multiplies out form drawings
and names the pages that would cost too much, so the extractor can skip them and record
why. It is advisory: a file pdfminer cannot parse is left to pdfium, whose work the
ingest worker's time and memory budgets still bound.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import TooLargeError
from pipeline.extract.limits import Limits

MAX_FORM_DEPTH = 32  # forms nested deeper than this are absurd, whatever they draw
_DO = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*Do(?![A-Za-z])")


@dataclass
class _Cost:
    content_bytes: int = 0  # inflated content streams, a form's counted once per drawing
    drawings: int = 0  # XObjects drawn, nested ones included
    pixels: int = 0  # the largest image drawn, in pixels


class _TooCostly(Exception):
    """A page's content goes past a limit; the message says which."""


def absurd_pages(path: Path, limits: Limits, page_count: int) -> dict[int, str]:
    """Page number -> why it would cost too much to load, for the pages that would.

    Returns nothing when pdfminer cannot read the file's structure. When its page tree does not
    number the pages as pdfium does, and some page is absurd, no page can be trusted: the whole
    document is too large."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser

    found: dict[int, str] = {}
    try:
        with path.open("rb") as handle:
            slots = _page_slots(PDFDocument(PDFParser(handle)), page_count + 1)
            for number, slot in enumerate(slots, start=1):
                if slot is None:
                    continue
                try:
                    _page_cost(*slot, limits)
                except _TooCostly as e:
                    found[number] = str(e)
    except Exception:  # pdfminer raises anything on hostile bytes: then pdfium runs under the worker's budgets
        return {}
    if found and len(slots) != page_count:
        number, detail = next(iter(found.items()))
        raise TooLargeError(f"a page (number {number} of {len(slots)} in the page tree, which pdfium counts as "
                            f"{page_count}) would cost too much to load: {detail}")
    return found


def _page_slots(document: object, most: int) -> list[tuple[list[object], object] | None]:
    """Each leaf of the page tree in order, as pdfium counts pages: its content streams and
    (inherited) resources, or None where the leaf is not a page dictionary. Stops after ``most``."""
    from pdfminer.pdftypes import resolve1

    slots: list[tuple[list[object], object] | None] = []
    root = resolve1(document.catalog.get("Pages"))  # type: ignore[attr-defined]
    if not isinstance(root, dict):
        return slots
    stack = [(_kids(root), root.get("Resources"))]
    seen: set[int] = set()
    while stack and len(slots) < most:
        kids, inherited = stack[-1]
        kid = next(kids, None)
        if kid is None:
            stack.pop()
            continue
        node = resolve1(kid)
        key = getattr(kid, "objid", None) or id(node)
        if key in seen:
            continue
        seen.add(key)
        resources = node.get("Resources", inherited) if isinstance(node, dict) else inherited
        if isinstance(node, dict) and "Kids" in node:
            stack.append((_kids(node), resources))
        elif isinstance(node, dict):
            contents = resolve1(node.get("Contents"))
            slots.append((contents if isinstance(contents, list) else [contents], resources))
        else:
            slots.append(None)
    return slots


def _kids(node: dict) -> Iterator[object]:
    from pdfminer.pdftypes import resolve1

    kids = resolve1(node.get("Kids"))
    return iter(kids if isinstance(kids, list) else [])


def _page_cost(contents: list[object], resources: object, limits: Limits) -> _Cost:
    from pdfminer.pdftypes import resolve1

    cost = _Cost()
    memo: dict[int, _Cost] = {}
    for stream in contents:
        _add_stream(resolve1(stream), resolve1(resources), cost, memo, limits, depth=0, active=set())
    return cost


def _add_stream(stream: object, resources: object, cost: _Cost, memo: dict[int, _Cost], limits: Limits,
                depth: int, active: set[int]) -> None:
    """Add one content stream's cost, and that of everything it draws, to ``cost``."""
    from pdfminer.pdftypes import PDFStream, resolve1

    if not isinstance(stream, PDFStream):
        return
    data = _decoded(stream, limits.max_page_content_bytes - cost.content_bytes + 1)
    cost.content_bytes += len(data)
    _check(cost, limits)
    xobjects = resolve1(resolve1(resources).get("XObject")) if isinstance(resolve1(resources), dict) else None
    if not isinstance(xobjects, dict):
        return
    counts: dict[bytes, int] = {}
    for match in _DO.finditer(data):
        counts[match[1]] = counts.get(match[1], 0) + 1
    for name, times in counts.items():
        child = resolve1(xobjects.get(name.decode("latin-1")))
        if not isinstance(child, PDFStream):
            continue
        child_cost = _xobject_cost(child, resources, memo, limits, depth + 1, active)
        cost.content_bytes += times * child_cost.content_bytes
        cost.drawings += times * (1 + child_cost.drawings)
        cost.pixels = max(cost.pixels, child_cost.pixels)
        _check(cost, limits)


def _xobject_cost(xobject: object, parent_resources: object, memo: dict[int, _Cost], limits: Limits,
                  depth: int, active: set[int]) -> _Cost:
    """What drawing one XObject once costs: a form's content and drawings, an image's pixels."""
    from pdfminer.pdftypes import resolve1
    from pdfminer.psparser import LIT

    key = getattr(xobject, "objid", None) or id(xobject)
    if key in memo:
        return memo[key]
    subtype = resolve1(xobject.get("Subtype"))  # type: ignore[attr-defined]
    cost = _Cost()
    if subtype is LIT("Image"):
        width, height = resolve1(xobject.get("Width")), resolve1(xobject.get("Height"))  # type: ignore[attr-defined]
        if isinstance(width, int) and isinstance(height, int):
            cost.pixels = max(width, 0) * max(height, 0)
            _check(cost, limits)
    elif subtype is LIT("Form") and key not in active:  # a form that draws itself: pdfium stops the cycle
        if depth > MAX_FORM_DEPTH:
            raise _TooCostly(f"Form XObjects nested more than {MAX_FORM_DEPTH} deep")
        resources = resolve1(xobject.get("Resources")) or parent_resources  # type: ignore[attr-defined]
        _add_stream(xobject, resources, cost, memo, limits, depth, active | {key})
    memo[key] = cost
    return cost


def _check(cost: _Cost, limits: Limits) -> None:
    if cost.content_bytes > limits.max_page_content_bytes:
        raise _TooCostly(f"its content inflates past {limits.max_page_content_bytes:,} bytes")
    if cost.drawings > limits.max_page_objects:
        raise _TooCostly(f"it draws more than {limits.max_page_objects:,} XObjects")
    if cost.pixels > limits.max_image_pixels:
        raise _TooCostly(f"it draws an image of {cost.pixels:,} pixels; the limit is {limits.max_image_pixels:,}")


def _decoded(stream: object, cap: int) -> bytes:
    """A stream's decoded bytes, at most ``cap`` of them (enough to know it is too big)."""
    from pdfminer import pdftypes
    from pdfminer.ascii85 import ascii85decode, asciihexdecode
    from pdfminer.runlength import rldecode

    data = stream.rawdata if stream.rawdata is not None else stream.data  # type: ignore[attr-defined]
    if stream.decipher and stream.rawdata is not None:  # type: ignore[attr-defined]
        data = stream.decipher(stream.objid, stream.genno, data, stream.attrs)  # type: ignore[attr-defined]
    for name, _ in stream.get_filters():  # type: ignore[attr-defined]
        if name in pdftypes.LITERALS_FLATE_DECODE:
            data = _inflate(data, cap)
        elif name in pdftypes.LITERALS_LZW_DECODE:
            data = _lzw(data, cap)
        elif name in pdftypes.LITERALS_ASCII85_DECODE:
            data = ascii85decode(data)
        elif name in pdftypes.LITERALS_ASCIIHEX_DECODE:
            data = asciihexdecode(data)
        elif name in pdftypes.LITERALS_RUNLENGTH_DECODE:
            data = rldecode(data)[:cap]
        else:
            break  # an image codec: not content that pdfium parses
    return data[:cap]


def _inflate(data: bytes, cap: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        return inflater.decompress(data, cap)
    except zlib.error:
        return b""  # pdfium reads what it can of a broken stream; nothing here to count


def _lzw(data: bytes, cap: int) -> bytes:
    from pdfminer.lzw import LZWDecoder

    out = io.BytesIO()
    for chunk in LZWDecoder(io.BytesIO(data)).run():
        out.write(chunk)
        if out.tell() >= cap:
            break
    return out.getvalue()
