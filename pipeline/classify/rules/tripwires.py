"""High-precision tripwires: phrases that are evidence by themselves, whatever the similarity says.

The rules live in ``taxonomy/<taxonomy>.tripwires.yaml`` (a reviewed table: rule -> patterns ->
entries). A rule fires on a sentence, not a passage, and respects negation ("no significant
weaknesses were identified" is positive evidence, not a flag), hedging ("there is a risk that
a section 114 notice may be needed" is a possibility) and quotation of the guide itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from pipeline.classify.rules.polarity import CueCounts, is_negated
from pipeline.errors import TaxonomyError
from pipeline.ids import short_hash
from pipeline.paths import TAXONOMY_DIR
from pipeline.taxonomy import Taxonomy
from pipeline.text import squash_space

Polarity = Literal["failure", "positive"]
_SENTENCE = re.compile(r"[^.!?;\n]+(?:[.!?;]+|\n|$)")
_CLAUSE_BREAK = re.compile(r"[,:]|\bbut\b|\bhowever\b|\balthough\b|\band\b", re.IGNORECASE)
# "We have not made any statutory recommendations, issued a report in the public interest or ...": a negated
# verb carries over a list of further objects, up to a contrast or a new clause.
_LIST_NEGATOR = re.compile(r"\b(?:(?:has|have|had|did|does|do|was|were|is|are)(?:n't| not)|not|nor|neither|no)\b",
                           re.IGNORECASE)
# A risk register's risk cell ("CR07 | Governance: failure to respond to the auditor's statutory recommendations |")
# names a risk, not an event, however its own clauses run.
_RISK_CELL = re.compile(r"\b(?:cr|sr|risk)\s?\d+\s*\|[^|]*$", re.IGNORECASE)
_NEW_CLAUSE = re.compile(r"[;:]|\b(?:but|however|although|whereas|while|which|because|so)\b|"
                         r"\band (?:the|a|an|its|our|their|we|it|they|he|she|this|that)\b", re.IGNORECASE)


def _compile(patterns: Sequence[str], where: str) -> tuple[re.Pattern[str], ...]:
    try:
        return tuple(re.compile(p, re.IGNORECASE) for p in patterns)
    except re.error as e:
        raise TaxonomyError(f"{where}: invalid pattern: {e}") from e


@dataclass(frozen=True)
class TripwireRule:
    id: str
    label: str
    polarity: Polarity
    patterns: tuple[re.Pattern[str], ...]
    entries: tuple[str, ...]  # most likely first, before subject ranking
    negated_entries: tuple[str, ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()
    subjects: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)

    def rank(self, entries: Sequence[str], text: str) -> tuple[str, ...]:
        """Entries with the most subject cues in ``text`` first; ties keep the table's order."""
        hits = {e: sum(bool(p.search(text)) for p in self.subjects.get(e, ())) for e in entries}
        return tuple(sorted(entries, key=lambda e: (-hits[e], entries.index(e))))


@dataclass(frozen=True)
class TripwireHit:
    rule: str
    polarity: Polarity  # "failure": the passage evidences failure; "positive": the healthy pole
    entries: tuple[str, ...]  # ranked by the passage's subject
    negated: bool  # fired through negation of a failure rule ("no significant weaknesses")
    phrase: str

    @property
    def reason(self) -> str:
        return f"tripwire:{self.rule}" + (":negated" if self.negated else "")


class Tripwires:
    """The rule table of one taxonomy, compiled."""

    def __init__(self, rules: Sequence[TripwireRule], hedges: Sequence[re.Pattern[str]] = (),
                 quotes: Sequence[re.Pattern[str]] = (), key: str = "none") -> None:
        self.rules = tuple(rules)
        self.hedges = tuple(hedges)
        self.quotes = tuple(quotes)
        self.key = key

    def match(self, text: str, cues: CueCounts) -> list[TripwireHit]:
        """Every rule that fires on ``text`` (at most one hit per rule and polarity), in table order; none when the
        passage as a whole is about authorities in general and none in particular, or is a checklist of conditions
        (as guidance lists the signs of failure): no event at this one. ``cues`` are the passage's ``cue_counts``,
        counted once by the caller (the suppression rules read them too)."""
        if cues.general:
            return []
        hits: dict[tuple[str, bool], TripwireHit] = {}
        for sentence in _SENTENCE.findall(squash_space(text)):
            if any(q.search(sentence) for q in self.quotes):
                continue
            for rule in self.rules:
                if any(u.search(sentence) for u in rule.unless):
                    continue
                for pattern in rule.patterns:
                    for m in pattern.finditer(sentence):
                        if self._hedged(sentence, m.start()):
                            continue
                        negated = is_negated(sentence, m.start(), m.end()) or _list_negated(sentence, m.start())
                        if negated and not rule.negated_entries:
                            continue
                        if (rule.id, negated) not in hits:
                            entries = rule.negated_entries if negated else rule.entries
                            polarity: Polarity = "positive" if negated else rule.polarity
                            hits[(rule.id, negated)] = TripwireHit(rule.id, polarity, rule.rank(entries, text),
                                                                   negated, m.group(0))
        return list(hits.values())

    def _hedged(self, sentence: str, start: int) -> bool:
        before = sentence[:start]
        if _RISK_CELL.search(before):
            return True
        breaks = list(_CLAUSE_BREAK.finditer(before))
        clause = before[breaks[-1].end():] if breaks else before
        return any(h.search(clause) for h in self.hedges)


def _list_negated(sentence: str, start: int) -> bool:
    """A negator earlier in the sentence whose scope runs, through commas and "or", up to the match."""
    before = sentence[:start]
    negators = list(_LIST_NEGATOR.finditer(before))
    if not negators:
        return False
    return not _NEW_CLAUSE.search(before[negators[-1].end():])


def parse_tripwires(text: str, taxonomy: Taxonomy, name: str = "tripwires") -> Tripwires:
    """Parse and validate a rule table; every entry must exist in ``taxonomy`` with the rule's polarity."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise TaxonomyError(f"{name} is not valid YAML: {e}") from e
    if not isinstance(data, dict) or data.get("taxonomy") != taxonomy.id or not isinstance(data.get("rules"), list):
        raise TaxonomyError(f"{name} must declare taxonomy {taxonomy.id!r} and a list of rules")
    known = {e.id: e for e in taxonomy.entries}
    rules: list[TripwireRule] = []
    for raw in data["rules"]:
        where = f"{name} rule {raw.get('id', '?') if isinstance(raw, dict) else raw!r}"
        if not isinstance(raw, dict) or not raw.get("id") or not raw.get("patterns") or not raw.get("entries"):
            raise TaxonomyError(f"{where}: needs id, patterns and entries")
        polarity = raw.get("polarity", "failure")
        if polarity not in ("failure", "positive"):
            raise TaxonomyError(f"{where}: polarity must be failure or positive")
        entries = tuple(str(e) for e in raw["entries"])
        negated = tuple(str(e) for e in raw.get("negated_entries") or [])
        for entry_id in entries + negated:
            if entry_id not in known:
                raise TaxonomyError(f"{where}: unknown entry {entry_id!r}")
        wrong = [e for e in entries if known[e].is_failure != (polarity == "failure")]
        wrong += [e for e in negated if known[e].is_failure]
        if wrong:
            raise TaxonomyError(f"{where}: entries {wrong} do not match the rule's polarity")
        subjects = {str(e): _compile(p, where) for e, p in (raw.get("subjects") or {}).items()}
        rules.append(TripwireRule(str(raw["id"]), str(raw.get("label", raw["id"])), polarity,
                                  _compile(raw["patterns"], where), entries, negated,
                                  _compile(raw.get("unless") or [], where), subjects))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise TaxonomyError(f"{name}: duplicate rule ids")
    return Tripwires(rules, _compile(data.get("hedges") or [], name), _compile(data.get("quotes") or [], name),
                     key=short_hash(text, length=12))


@cache
def _load(path: Path, taxonomy: Taxonomy) -> Tripwires:
    return parse_tripwires(path.read_text(encoding="utf-8"), taxonomy, path.name)


def load_tripwires(taxonomy: Taxonomy, directory: Path = TAXONOMY_DIR) -> Tripwires:
    """The taxonomy's tripwires, or an empty table when it has none."""
    path = directory / f"{taxonomy.id}.tripwires.yaml"
    if not path.is_file():
        return Tripwires(())
    return _load(path, taxonomy)
