"""The source register (``corpus/sources.yaml``): where each authority's papers come from.

A source is a ModernGov site, a plain listing page of links, or a local folder, with the
committees and document kinds wanted and a cron schedule for the nightly flows. The
register's hosts are the only hosts the scraper may fetch from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from pipeline.collect.corpus import check_slug
from pipeline.domain import DOCUMENT_KINDS
from pipeline.errors import CorpusError
from pipeline.paths import default_register

SOURCE_KINDS = ("moderngov", "listing", "local")
DEFAULT_SCHEDULE = "0 2 * * *"
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


@dataclass(frozen=True)
class Source:
    id: str
    authority: str
    kind: str
    base_url: str | None = None  # moderngov: the folder holding mgWebService.asmx; listing: the page
    path: str | None = None  # local: a folder
    committees_include: tuple[str, ...] = ()
    committees_exclude: tuple[str, ...] = ()
    document_kinds: tuple[str, ...] = ()  # empty: every kind
    patterns: tuple[str, ...] = ()  # listing: regexes a link's URL or text must match
    schedule: str = DEFAULT_SCHEDULE
    back_days: int = 28
    forward_days: int = 7
    allow_private_hosts: bool = False  # only for tests and intranets
    include_expired_committees: bool = False  # moderngov: also committees the site marks expired or deleted
    council: str | None = None  # the national register's code, for sources made from it

    @property
    def host(self) -> str | None:
        return urlsplit(self.base_url).hostname if self.base_url else None

    def as_record(self) -> dict[str, object]:
        record = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        return {k: v for k, v in record.items() if v not in (None, [], False) and not (
            k in ("schedule", "back_days", "forward_days") and v == Source.__dataclass_fields__[k].default)}


@dataclass
class Register:
    path: Path
    sources: list[Source] = field(default_factory=list)
    contact: str | None = None  # who runs the scraper (URL or email), sent in the User-Agent

    def get(self, key: str) -> list[Source]:
        """Sources by id, or every source of an authority slug, local folders made absolute."""
        found = [s for s in self.sources if s.id == key] or [s for s in self.sources if s.authority == key]
        if not found:
            known = ", ".join(s.id for s in self.sources) or "none"
            raise CorpusError(f"no source or authority {key!r} in {self.path} (sources: {known})")
        return [replace(s, path=str(self.folder(s))) if s.kind == "local" else s for s in found]

    def select(self, keys: Sequence[str]) -> list[Source]:
        """The sources a scrape names: ids, authority slugs (all their sources) or ``all``; each source once."""
        return list({s.id: s for key in keys for s in (self.sources if key == "all" else self.get(key))}.values())

    def folder(self, source: Source) -> Path:
        """A local source's folder: absolute, or relative to the register file's folder."""
        return (self.path.parent / (source.path or "")).absolute()

    @property
    def allowed_bases(self) -> list[str]:
        return [s.base_url for s in self.sources if s.base_url]


def scrape_day(value: str | None) -> date | None:
    """A scrape window's first or last meeting date (YYYY-MM-DD), or None for the source's default."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as e:
        raise CorpusError(f"bad date: {e}") from e


def parse_source(raw: dict, where: str = "source") -> Source:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: expected a mapping, got {raw!r}")
    unknown = set(raw) - set(Source.__dataclass_fields__)
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        source = Source(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except TypeError as e:
        raise CorpusError(f"{where}: {e}") from e
    _validate(source, where)
    return source


def _validate(source: Source, where: str) -> None:
    check_slug(source.id)
    check_slug(source.authority)
    if source.kind not in SOURCE_KINDS:
        raise CorpusError(f"{where}: kind {source.kind!r} is not one of {SOURCE_KINDS}")
    if source.kind in ("moderngov", "listing"):
        parts = urlsplit(source.base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CorpusError(f"{where}: {source.kind} source needs an http(s) base_url, got {source.base_url!r}")
    if source.kind == "local" and not source.path:
        raise CorpusError(f"{where}: local source needs a path")
    if source.kind == "listing" and not source.patterns:
        raise CorpusError(f"{where}: listing source needs at least one link pattern")
    for pattern in source.patterns + source.committees_include + source.committees_exclude:
        try:
            re.compile(pattern)
        except re.error as e:
            raise CorpusError(f"{where}: bad pattern {pattern!r}: {e}") from e
    bad_kinds = set(source.document_kinds) - set(DOCUMENT_KINDS)
    if bad_kinds:
        raise CorpusError(f"{where}: unknown document kinds {sorted(bad_kinds)}")
    fields = source.schedule.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise CorpusError(f"{where}: schedule {source.schedule!r} is not a five-field cron expression")
    if source.back_days < 0 or source.forward_days < 0:
        raise CorpusError(f"{where}: back_days and forward_days must be >= 0")


def load_register(path: Path | None = None) -> Register:
    """The register at ``path``, by default the data directory's (a checkout's: the demo's)."""
    path = path or default_register()
    if not path.exists():
        return Register(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise CorpusError(f"{path} is not valid YAML: {e}") from e
    rows = data.get("sources", []) if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise CorpusError(f"{path}: expected a 'sources' list")
    unknown = set(data) - {"sources", "contact"}
    if unknown:
        raise CorpusError(f"{path}: unknown top-level keys {sorted(unknown)} (expected 'contact' and 'sources')")
    contact = data.get("contact")
    if contact is not None and not (isinstance(contact, str) and contact.strip()):
        raise CorpusError(f"{path}: contact must be a URL or email address")
    sources = [parse_source(row, f"{path} source {i + 1}") for i, row in enumerate(rows)]
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        raise CorpusError(f"{path}: duplicate source ids")
    return Register(path, sources, contact.strip() if contact else None)


def register_problems(register: Register) -> list[str]:
    """What validation of single entries cannot see: local folders that do not exist."""
    return [f"{s.id}: folder {s.path} does not exist" for s in register.sources
            if s.kind == "local" and not register.folder(s).is_dir()]


def add_source(register: Register, source: Source) -> Register:
    """Append a validated source and rewrite the file atomically."""
    return add_sources(register, [source])


def add_sources(register: Register, sources: list[Source]) -> Register:
    """Append validated sources (all or none) and rewrite the file atomically."""
    known = {s.id for s in register.sources}
    for source in sources:
        if source.id in known:
            raise CorpusError(f"source {source.id!r} already exists in {register.path}")
        known.add(source.id)
    updated = Register(register.path, [*register.sources, *sources], register.contact)
    save_register(updated)
    return updated


def save_register(register: Register) -> None:
    register.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = register.path.with_suffix(".yaml.tmp")
    data: dict[str, object] = {"contact": register.contact} if register.contact else {}
    data["sources"] = [s.as_record() for s in register.sources]
    temporary.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    temporary.replace(register.path)
