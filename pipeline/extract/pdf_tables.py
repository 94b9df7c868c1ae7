"""Ruled tables from pdfium's path objects: rules become a grid, cells are read with
``get_text_bounded``. This costs a few milliseconds a page where pdfplumber's table finder
costs hundreds, because it never runs pdfminer's layout analysis."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.text import squash_space

_TOLERANCE = 2.0  # points: rules closer than this are the same rule
_THIN = 2.5


@dataclass(frozen=True)
class Rule:
    horizontal: bool
    position: float  # y for horizontal rules, x for vertical ones (PDF coordinates)
    start: float
    end: float


@dataclass
class GridTable:
    bbox: tuple[float, float, float, float]  # x0, top, x1, bottom in top-down coordinates
    rows: list[list[str]]
    regular: bool  # every cell boundary is ruled; False means merged or partial cells


def rules_from_paths(paths: list[pdfium.PdfObject]) -> list[Rule]:
    """Thin paths are rules; a stroked rectangle contributes its four edges."""
    rules: list[Rule] = []
    for path in paths:
        left, bottom, right, top = path.get_bounds()
        width, height = right - left, top - bottom
        if height < _THIN and width > 10:
            rules.append(Rule(True, (bottom + top) / 2, left, right))
        elif width < _THIN and height > 6:
            rules.append(Rule(False, (left + right) / 2, bottom, top))
        elif width > 6 and height > 6 and _stroked(path):
            rules += [Rule(True, bottom, left, right), Rule(True, top, left, right),
                      Rule(False, left, bottom, top), Rule(False, right, bottom, top)]
    return rules


def _stroked(path: pdfium.PdfObject) -> bool:
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(path.raw, ctypes.byref(fill_mode), ctypes.byref(stroke)):
        return False
    return bool(stroke.value)


def _touch(a: Rule, b: Rule) -> bool:
    if a.horizontal == b.horizontal:
        return abs(a.position - b.position) <= _TOLERANCE and a.start <= b.end + _TOLERANCE \
            and b.start <= a.end + _TOLERANCE
    h, v = (a, b) if a.horizontal else (b, a)
    return (v.start - _TOLERANCE <= h.position <= v.end + _TOLERANCE
            and h.start - _TOLERANCE <= v.position <= h.end + _TOLERANCE)


def _components(rules: list[Rule]) -> list[list[Rule]]:
    parent = list(range(len(rules)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(rules)):
        for j in range(i + 1, len(rules)):
            if _touch(rules[i], rules[j]):
                parent[find(i)] = find(j)
    groups: dict[int, list[Rule]] = {}
    for i, rule in enumerate(rules):
        groups.setdefault(find(i), []).append(rule)
    return list(groups.values())


def _distinct(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in sorted(values):
        if not out or value - out[-1] > _TOLERANCE:
            out.append(value)
    return out


MAX_RULES = 600  # beyond this, grouping rules pairwise costs more than pdfplumber's analysis


class TooManyRules(Exception):
    """The page has more rules than the fast grid finder handles; use layout analysis."""


def find_tables(paths: list[pdfium.PdfObject], textpage: pdfium.PdfTextPage, page_height: float) -> list[GridTable]:
    rules = rules_from_paths(paths)
    if len(rules) < 6:
        return []
    if len(rules) > MAX_RULES:
        raise TooManyRules(f"{len(rules)} rules")
    tables = []
    for component in _components(rules):
        ys = _distinct([r.position for r in component if r.horizontal])
        xs = _distinct([r.position for r in component if not r.horizontal])
        if len(ys) < 3 or len(xs) < 3:
            continue  # a frame or a single rule, not a grid of cells
        verticals = [r for r in component if not r.horizontal]
        rows: list[list[str]] = []
        regular = True
        for top, bottom in zip(reversed(ys[1:]), reversed(ys[:-1]), strict=True):  # top row first
            middle = (top + bottom) / 2
            cells: list[str] = []
            left = xs[0]
            for x in xs[1:]:
                ruled = x == xs[-1] or any(abs(v.position - x) <= _TOLERANCE and v.start - _TOLERANCE <= middle
                                           <= v.end + _TOLERANCE for v in verticals)
                if not ruled:
                    regular = False
                    continue  # merged cell: keep extending to the next ruled boundary
                text = textpage.get_text_bounded(left=left, bottom=bottom, right=x, top=top)
                cells.append(squash_space(text))
                left = x
            if any(cells):
                rows.append(cells)
        if len(rows) >= 2:
            tables.append(GridTable((xs[0], page_height - ys[-1], xs[-1], page_height - ys[0]), rows, regular))
    return tables
