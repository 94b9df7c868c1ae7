"""Runs of the flows: parameters, outcome and counts, for the record and for ``triage doctor``."""

from __future__ import annotations

import json

from pipeline.store.base import StoreBase, now


class RunsMixin(StoreBase):
    def start_run(self, flow: str, parameters: dict[str, object], code_version: str, model_id: str | None,
                  classifier_id: str | None) -> int:
        with self.transaction():
            table = self.db["runs"]
            table.insert({"flow": flow, "parameters": json.dumps(parameters, default=str), "started_at": now(),
                          "outcome": "running", "code_version": code_version, "model_id": model_id,
                          "classifier_id": classifier_id})
            return int(table.last_pk)

    def finish_run(self, run_id: int, outcome: str, counts: dict[str, object]) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, {"ended_at": now(), "outcome": outcome,
                                            "counts": json.dumps(counts, default=str)})

    def record_timings(self, run_id: int, timings: dict[str, float], worker_seconds: dict[str, float]) -> None:
        """Keep the run's whole time budget (known only once the run's summary is printed) with its counts."""
        with self.transaction():
            row = self.db.execute("select counts from runs where id = ?", [run_id]).fetchone()
            counts = json.loads(row[0]) if row and row[0] else {}
            counts.update(timings=timings, worker_seconds=worker_seconds)
            self.db["runs"].update(run_id, {"counts": json.dumps(counts)})

    def last_run(self, flow: str) -> int | None:
        row = self.db.execute("select max(id) from runs where flow = ?", [flow]).fetchone()
        return row[0] if row else None

    def table_counts(self) -> dict[str, int]:
        return {name: self.db[name].count for name in
                ("authorities", "documents", "passages", "evidence", "taxonomy_entries", "runs", "classifications",
                 "embeddings", "reviews")}
