"""Load and validate taxonomy data files (``taxonomy/<id>.yaml``).

A taxonomy is immutable once published: stored evidence, exports and analysts'
decisions refer to entries by ``(taxonomy, id)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from pipeline.errors import TaxonomyError, UnknownEntryError
from pipeline.ids import short_hash
from pipeline.paths import TAXONOMY_DIR
from pipeline.text import squash_space

DEFAULT_TAXONOMY = "bv-2023-draft"
Crosswalk = dict[tuple[str, str], str]  # (old taxonomy, old entry id) -> entry id in the current taxonomy
Kind = Literal["characteristic", "failure_indicator"]
KINDS: tuple[str, ...] = ("characteristic", "failure_indicator")


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Entry:
    taxonomy: str
    id: str
    theme: str
    kind: Kind
    text: str

    @property
    def is_failure(self) -> bool:
        return self.kind == "failure_indicator"

    def as_record(self) -> dict[str, str]:
        return {"taxonomy": self.taxonomy, "id": self.id, "theme": self.theme, "kind": self.kind,
                "text": self.text}


@dataclass(frozen=True)
class Taxonomy:
    id: str
    title: str
    version: str
    source: str
    licence: str
    attribution: str
    themes: tuple[Theme, ...]
    entries: tuple[Entry, ...]

    def entry(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise UnknownEntryError(f"no entry {entry_id!r} in taxonomy {self.id!r}")

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise UnknownEntryError(f"no theme {theme_id!r} in taxonomy {self.id!r}")

    @property
    def theme_ids(self) -> list[str]:
        """The themes' ids in the taxonomy's order: the order every per-theme table and metric reports in."""
        return [t.id for t in self.themes]

    @property
    def content_hash(self) -> str:
        """Changes whenever any entry's id, kind, theme or text changes."""
        return short_hash(self.id, *(f"{e.id}|{e.theme}|{e.kind}|{e.text}" for e in self.entries))


@dataclass(frozen=True)
class _PublishedShape:
    """The id scheme and per-theme entry counts of a taxonomy we ship, so a mistyped id or a lost entry fails
    the load instead of silently changing what is classified."""

    id_pattern: re.Pattern[str]  # groups: ``theme``, and ``n`` (a characteristic) or ``f`` (a failure indicator)
    counts: dict[str, tuple[int, int]]  # theme -> (characteristics, failure indicators)


_PUBLISHED: dict[str, _PublishedShape] = {
    "bv-2023-draft": _PublishedShape(
        re.compile(r"^(?P<theme>[A-Z]{1,3})(?:(?P<n>\d{3})|-F(?P<f>\d{2}))$"),
        {"CI": (8, 5), "L": (9, 12), "G": (9, 14), "C": (9, 14), "R": (12, 16), "SD": (7, 9), "PCE": (6, 6)},
    ),
    "wales-2013": _PublishedShape(
        re.compile(r"^WAL-(?P<theme>[OADIES])(?P<f>\d{2})$"),
        {"O": (0, 8), "A": (0, 8), "D": (0, 6), "I": (0, 3), "E": (0, 22), "S": (0, 8)},
    ),
}
_GENERIC_ID = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")  # any other taxonomy's entry ids


def available_taxonomies(directory: Path = TAXONOMY_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml") if "." not in p.stem)


@cache
def load_taxonomy(taxonomy_id: str = DEFAULT_TAXONOMY, directory: Path = TAXONOMY_DIR) -> Taxonomy:
    path = directory / f"{taxonomy_id}.yaml"
    if not path.is_file():
        known = ", ".join(available_taxonomies(directory)) or "none"
        raise TaxonomyError(f"unknown taxonomy {taxonomy_id!r} (available: {known})")
    return parse_taxonomy(path.read_text(encoding="utf-8"), expected_id=taxonomy_id)


def parse_taxonomy(text: str, expected_id: str | None = None) -> Taxonomy:
    """Parse and validate one taxonomy file; raise TaxonomyError naming the first problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise TaxonomyError(f"taxonomy file is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise TaxonomyError("taxonomy file must be a mapping")
    for key in ("taxonomy", "title", "version", "source", "licence", "attribution", "themes", "entries"):
        if not data.get(key):
            raise TaxonomyError(f"taxonomy file lacks {key!r}")
    tax_id = data["taxonomy"]
    if expected_id and tax_id != expected_id:
        raise TaxonomyError(f"file for {expected_id!r} declares taxonomy {tax_id!r}")
    themes = tuple(_theme(t) for t in data["themes"])
    theme_ids = [t.id for t in themes]
    if len(set(theme_ids)) != len(theme_ids):
        raise TaxonomyError(f"{tax_id}: duplicate theme ids")
    entries = tuple(_entry(tax_id, e, set(theme_ids)) for e in data["entries"])
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise TaxonomyError(f"{tax_id}: duplicate entry id {entry.id!r}")
        seen.add(entry.id)
    _check_counts(tax_id, entries)
    return Taxonomy(tax_id, data["title"], str(data["version"]), data["source"], data["licence"],
                    data["attribution"], themes, entries)


def _theme(raw: dict) -> Theme:
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("name") or not raw.get("description"):
        raise TaxonomyError(f"theme needs id, name and description: {raw!r}")
    return Theme(str(raw["id"]), str(raw["name"]), str(raw["description"]).strip())


def _entry(tax_id: str, raw: dict, theme_ids: set[str]) -> Entry:
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{tax_id}: entry must be a mapping: {raw!r}")
    entry_id, theme, kind = str(raw.get("id", "")), str(raw.get("theme", "")), raw.get("kind")
    text = squash_space(str(raw.get("text") or ""))
    published = _PUBLISHED.get(tax_id)
    pattern = published.id_pattern if published else None
    match = pattern.match(entry_id) if pattern else _GENERIC_ID.match(entry_id)
    if not match:
        raise TaxonomyError(f"{tax_id}: entry id {entry_id!r} does not follow the id pattern")
    if kind not in KINDS:
        raise TaxonomyError(f"{tax_id}: entry {entry_id} has kind {kind!r}; expected one of {KINDS}")
    if theme not in theme_ids:
        raise TaxonomyError(f"{tax_id}: entry {entry_id} names unknown theme {theme!r}")
    if pattern:
        if match["theme"] != theme:
            raise TaxonomyError(f"{tax_id}: entry {entry_id} is filed under theme {theme!r}")
        if (match["f"] is not None) != (kind == "failure_indicator"):
            raise TaxonomyError(f"{tax_id}: entry {entry_id} has kind {kind!r}, which its id contradicts")
    if not text:
        raise TaxonomyError(f"{tax_id}: entry {entry_id} has no text")
    return Entry(tax_id, entry_id, theme, kind, text)


def _check_counts(tax_id: str, entries: tuple[Entry, ...]) -> None:
    published = _PUBLISHED.get(tax_id)
    if not published:
        return
    for theme, (n_char, n_fail) in published.counts.items():
        got = (sum(e.theme == theme and not e.is_failure for e in entries),
               sum(e.theme == theme and e.is_failure for e in entries))
        if got != (n_char, n_fail):
            raise TaxonomyError(
                f"{tax_id}: theme {theme} has {got[0]} characteristics and {got[1]} failure indicators; "
                f"expected {n_char} and {n_fail}"
            )


def load_crosswalk(taxonomy_id: str, directory: Path = TAXONOMY_DIR) -> Crosswalk:
    """Old (taxonomy, entry id) -> entry id in ``taxonomy_id``, from ``crosswalks/<old>__<new>.yaml``
    files: a mapping of old ids to new ids (null where an entry was removed)."""
    mapping: Crosswalk = {}
    target = load_taxonomy(taxonomy_id, directory)
    known = {e.id for e in target.entries}
    for path in sorted((directory / "crosswalks").glob(f"*__{taxonomy_id}.yaml")):
        source = path.name.split("__", 1)[0]
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise TaxonomyError(f"{path} is not valid YAML: {e}") from e
        if not isinstance(data, dict):
            raise TaxonomyError(f"{path}: expected a mapping of old ids to new ids")
        for old, new in data.items():
            if new is None:
                continue
            if str(new) not in known:
                raise TaxonomyError(f"{path}: {old} maps to {new}, which is not in {taxonomy_id}")
            mapping[(source, str(old))] = str(new)
    return mapping
