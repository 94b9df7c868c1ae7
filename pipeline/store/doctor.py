"""Check the evidence store and repair what is safe to repair without the model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.store import Store
from pipeline.store.schema import SCHEMA_VERSION

STUCK_AFTER = timedelta(hours=6)


@dataclass
class Finding:
    check: str
    count: int
    detail: str
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return self.count == 0 or self.repaired


_ORPHANS = {
    "passages without a document": "from passages where document not in (select id from documents)",
    "evidence without a passage": "from evidence where passage not in (select id from passages)",
    "evidence for unknown entries": "from evidence where not exists (select 1 from taxonomy_entries t where "
                                    "t.taxonomy = evidence.taxonomy and t.id = evidence.entry)",
    "classifications without a document": "from classifications where document not in (select id from documents)",
}


def check(store: Store, repair: bool = False, now: datetime | None = None) -> list[Finding]:
    db = store.db
    findings = [Finding("schema version", int(store.schema_version != SCHEMA_VERSION),
                        f"version {store.schema_version}, code expects {SCHEMA_VERSION}")]
    integrity = [r[0] for r in db.execute("pragma integrity_check")]
    findings.append(Finding("sqlite integrity", int(integrity != ["ok"]), "; ".join(integrity)))
    for name, where in _ORPHANS.items():
        count = db.execute(f"select count(*) {where}").fetchone()[0]
        finding = Finding(name, count, "orphan rows")
        if count and repair:
            with store.transaction():
                db.execute(f"delete {where}")
            finding.repaired = True
        findings.append(finding)
    findings.append(Finding("foreign keys", len(list(db.execute("pragma foreign_key_check"))), "violations"))
    unclassified = db.execute(
        "select count(*) from documents d where d.status = 'ok' and not exists (select 1 from classifications c "
        "where c.document = d.id and c.classifier_id = d.classifier_id)").fetchone()[0]
    findings.append(Finding("documents without an evidence run", unclassified,
                            "run `triage run` over them again to classify them"))
    cutoff = ((now or datetime.now(UTC)) - STUCK_AFTER).isoformat(timespec="seconds")
    stuck = db.execute("select count(*) from runs where outcome = 'running' and started_at < ?", [cutoff]).fetchone()[0]
    finding = Finding("runs stuck in a running state", stuck, f"started before {cutoff} and never finished")
    if stuck and repair:
        with store.transaction():
            db.execute("update runs set outcome = 'interrupted' where outcome = 'running' and started_at < ?",
                       [cutoff])
        finding.repaired = True
    findings.append(finding)
    try:
        db.execute("insert into passages_fts(passages_fts) values ('integrity-check')")
        fts_ok = True
    except Exception:
        fts_ok = False
    finding = Finding("full-text index", int(not fts_ok), "passages_fts out of step with passages")
    if not fts_ok and repair:
        with store.transaction():
            db.execute("insert into passages_fts(passages_fts) values ('rebuild')")
        finding.repaired = True
    findings.append(finding)
    return findings
