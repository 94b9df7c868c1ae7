"""What `make run` flags on the bundled demo corpus: failures reported, never failures denied or imagined.

The demo corpus (``corpus/build_content``, fictional) has a failing council (Brackenmoor), a sound one
(Ferncastle) and one in between (Kestrelford). Its passages mention failures in every way the issue names
without reporting one: negated ("No standards complaints were upheld"), reported then dismissed ("Five
complaints ... were received ... None was upheld"), made good ("the shortfall replaced by alternative recurrent
savings"), conditional ("If the remaining £4.2m cannot be recovered"), planned ("intends to invite a further
corporate peer challenge"), imagined ("stress-tested ... against three scenarios"), stated as law (section 114,
the EHC plan duty, the B&B limit) and answered "No" in a flattened table. Each of those must stay unflagged while
the reported failures stay flagged.
"""

import sqlite3

import pytest

from pipeline.classify.model import load_model
from pipeline.paths import MODELS_DIR

pytestmark = pytest.mark.slow

DENIED = {  # a phrase that identifies the passage -> how it mentions a failure without reporting one
    "No standards complaints were upheld during the year": "negated",
    "The review has not identified any significant governance issues": "negated",
    "We did not identify any material misstatements": "negated",
    "It has not borrowed to invest for yield": "negated",
    "I have not at this stage made a report under section 114": "negated",
    "None was upheld after investigation and one was resolved informally": "reported then dismissed",
    "with the shortfall replaced by alternative recurrent savings": "made good",
    "If the remaining £4.2m cannot be recovered": "conditional",
    "intends to invite a further corporate peer challenge": "plan",
    "stress-tested the framework against three scenarios": "scenario",
    "The main risks are delay to building disposals": "listed risk",
    "Within three months, the Council has agreed to:": "plan",
    "We did not charge any additional fees": "negated",
    "Section 114 of the Local Government Finance Act 1988 requires": "statement of law",
    "A council must issue a final EHC plan within 20 weeks": "statement of law",
    "B&B accommodation is not suitable for families with children": "statement of law",
    "Significant weakness identified | Improvement recommendations": "table answered no",
}
REPORTED = [  # failures the papers report: each must be flagged
    "We have identified significant weaknesses in the Council's arrangements under all three reporting criteria",
    "The Council has overspent its budget in each of the last three years",
    "The Council was at fault for the 21-week delay in issuing the final plan",
    "The Council has a poor record of delivering savings",
    "The forecast revenue overspend is £6.9m before mitigating actions",
]


@pytest.fixture(scope="module")
def demo_db(installed_demo):
    workspace, _ = installed_demo
    with sqlite3.connect(workspace.path / "data" / "triage.db") as db:
        yield db


def _flagged(db: sqlite3.Connection, phrase: str) -> list[tuple[str, float]]:
    passages = db.execute("SELECT id FROM passages WHERE instr(replace(text, char(10), ' '), ?) > 0",
                          (phrase,)).fetchall()
    assert passages, f"no demo passage contains {phrase!r} (corpus changed?)"
    return db.execute(f"SELECT entry, probability FROM evidence WHERE flagged = 1 AND passage IN "
                      f"({','.join('?' * len(passages))})", [p[0] for p in passages]).fetchall()


@pytest.mark.parametrize("phrase", sorted(DENIED))
def test_a_failure_mentioned_but_not_reported_is_not_flagged(demo_db, phrase):
    assert _flagged(demo_db, phrase) == [], DENIED[phrase]


@pytest.mark.parametrize("phrase", REPORTED)
def test_a_reported_failure_is_flagged(demo_db, phrase):
    assert _flagged(demo_db, phrase)


def test_every_flagged_link_carries_one_probability_at_or_above_a_flag_threshold(demo_db):
    thresholds = load_model(MODELS_DIR / "bv-2023-draft").thresholds
    lowest = min([thresholds.flag, *thresholds.flag_by_theme.values()])
    rows = demo_db.execute("SELECT passage, min(probability), max(probability) FROM evidence WHERE flagged = 1 "
                           "GROUP BY passage").fetchall()
    assert len(rows) > 30  # the failing council's papers are full of failures: the check is not vacuous
    for passage, low, high in rows:
        assert low == high >= lowest, passage
