"""What the scraper fetched, per URL: validators for conditional GET and when it was seen."""

from __future__ import annotations

from pipeline.store.base import StoreBase, now


class FetchesMixin(StoreBase):
    def fetch_record(self, url: str) -> dict | None:
        rows = list(self.db["fetches"].rows_where("url = ?", [url]))
        return rows[0] if rows else None

    def record_fetch(self, row: dict[str, object]) -> None:
        """Upsert what was fetched from a URL; first_seen is kept from the first sighting."""
        stamp = now()
        with self.transaction():
            existing = self.fetch_record(str(row["url"]))
            self.db["fetches"].upsert({**row, "first_seen": existing["first_seen"] if existing else stamp,
                                       "last_seen": stamp}, pk="url")
