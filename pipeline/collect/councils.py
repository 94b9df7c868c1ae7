"""The national council register (``corpus/councils.tsv``): every current principal council of England
and Wales, with its committee-papers platform and site, from which sources are made.

``corpus/build_councils.py`` builds the file and ``corpus/councils.md`` says where each column comes
from. Sources made here carry the council's code, so the authorities they create get the council's
name, type, nation and GSS code.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.collect.sources import Register, Source, add_sources, parse_source
from pipeline.domain import Authority
from pipeline.errors import CorpusError
from pipeline.paths import CORPUS_DIR

DEFAULT_COUNCILS = CORPUS_DIR / "councils.tsv"
SCHEDULE_WINDOW = (0, 6 * 60)  # national runs start between 00:00 and 05:59, one council at a time
PLATFORMS = {"cmis": "CMIS", "other": "its own website", "unknown": "a platform the register does not know"}


@dataclass(frozen=True)
class Council:
    """One row of the register; ``base_url`` is the ModernGov site root for ``platform == "moderngov"``."""

    code: str
    slug: str
    name: str
    gss: str
    nation: str
    type: str
    platform: str
    base_url: str
    flags: str

    def authority(self) -> Authority:
        return Authority(self.slug, self.name, self.type, nation=self.nation, gss=self.gss or None)

    def source(self, schedule: str | None = None) -> Source:
        """A ModernGov source with the default rolling window; CorpusError for other platforms."""
        if self.platform != "moderngov":
            platform = PLATFORMS.get(self.platform, self.platform)
            raise CorpusError(
                f"{self.name} ({self.code}) publishes its papers on {platform}, which bv-triage cannot scrape yet; "
                f"add its papers page as a listing source: triage sources add {self.slug}-papers --kind listing "
                f"--authority {self.slug} --base-url URL --pattern PATTERN")
        raw: dict[str, object] = {"id": f"{self.slug}-moderngov", "authority": self.slug, "kind": "moderngov",
                                  "base_url": self.base_url, "council": self.code}
        if schedule:
            raw["schedule"] = schedule
        return parse_source(raw, f"council {self.code}")


def load_councils(path: Path = DEFAULT_COUNCILS) -> list[Council]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as e:
        raise CorpusError(f"cannot read the council register {path}: {e.strerror}") from e
    columns = [f.name for f in fields(Council)]
    if not rows or list(rows[0]) != columns:
        raise CorpusError(f"{path}: not a council register (expected the columns {', '.join(columns)})")
    return [Council(**row) for row in rows]


def _loose(name: str) -> str:
    """Lower-case words and digits one space apart, so ``Adur  District-Council`` finds Adur District Council."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def find_council(councils: list[Council], key: str) -> Council:
    """By code (``ADU``), slug (``adur``) or name, loosely (``Adur District Council``, ``adur district``)."""
    loose = _loose(key)
    for match in (lambda c: c.code.lower() == key.strip().lower(), lambda c: c.slug == key.strip().lower(),
                  lambda c: _loose(c.name) == loose):
        found = [c for c in councils if match(c)]
        if found:
            return found[0]
    near = [c for c in councils if loose and loose in _loose(c.name)]
    if len(near) == 1:
        return near[0]
    hint = f"; did you mean {', '.join(f'{c.code} ({c.name})' for c in near[:5])}?" if near else \
        "; triage sources list --available lists them"
    raise CorpusError(f"no council {key!r} in the national register{hint}")


def staggered_schedules(councils: list[Council]) -> dict[str, str]:
    """A nightly cron per council (by code), spread over ``SCHEDULE_WINDOW``. Sites hosted under one shared
    host (``*.moderngov.co.uk``, one rate limit between them) are spread evenly over the whole window
    rather than bunched, and the rest fill the slots between."""
    from pipeline.collect.http import HostRateLimiter  # the one place that knows which hosts share a limit

    limiter = HostRateLimiter(0)
    ordered = sorted(councils, key=lambda c: c.code)
    shared = [c for c in ordered if limiter.key(urlsplit(c.base_url).hostname or "") != (
        urlsplit(c.base_url).hostname or "").lower()]
    others = iter(c for c in ordered if c not in shared)
    total = len(ordered)
    slots: list[Council | None] = [None] * total
    for k, council in enumerate(shared):
        slots[k * total // len(shared)] = council
    slots = [slot or next(others) for slot in slots]
    start, end = SCHEDULE_WINDOW
    schedules = {}
    for index, council in enumerate(slots):
        assert council is not None
        minute = start + index * (end - start) // max(total, 1)
        schedules[council.code] = f"{minute % 60} {minute // 60} * * *"
    return schedules


def add_councils(register: Register, councils: list[Council], key: str | None,
                 schedule: str | None = None) -> list[Source]:
    """Register one council's source (``key``: code or name), or with no key every ModernGov council not yet
    registered, on staggered schedules; returns the sources added."""
    if key is not None:
        source = find_council(councils, key).source(schedule)
        add_sources(register, [source])
        return [source]
    registered = {s.council for s in register.sources} | {s.id for s in register.sources}
    moderngov = [c for c in councils if c.platform == "moderngov"]
    schedules = staggered_schedules(moderngov)
    added = [c.source(schedule or schedules[c.code]) for c in moderngov
             if c.code not in registered and f"{c.slug}-moderngov" not in registered]
    add_sources(register, added)
    return added
