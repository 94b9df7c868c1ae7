"""What the scraper fetched, per URL: validators for conditional GET and when it was seen; what failed,
per collect run, and the URLs failing now with their back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.domain import FailingUrl, FetchRecord, LoggedScrapeFailure
from pipeline.store.base import StoreBase, now

BACKOFF_CAP_DAYS = 32


class FetchesMixin(StoreBase):
    def fetch_record(self, url: str) -> FetchRecord | None:
        rows = list(self.db["fetches"].rows_where("url = ?", [url]))
        return FetchRecord(**rows[0]) if rows else None

    def record_fetch(self, row: dict[str, object]) -> None:
        """Upsert what was fetched from a URL; first_seen is kept from the first sighting."""
        stamp = now()
        with self.write_transaction():  # read-then-write: take the lock first
            existing = self.fetch_record(str(row["url"]))
            self.db["fetches"].upsert({**row, "first_seen": existing.first_seen if existing else stamp,
                                       "last_seen": stamp}, pk="url")

    def record_scrape_failure(self, run: int | None, source: str, url: str, key: str, level: str, reason: str,
                              http_status: int | None, message: str) -> None:
        """Log a failure of ``url`` and back its ``key`` (the URL without a rolling date window) off: after two
        failures in a row it is skipped for a day, then 2, 4 ... up to 32 days (less two hours, so a nightly
        schedule's jitter does not skip a whole day)."""
        stamp = datetime.now(UTC)
        with self.write_transaction():  # read-then-write: take the lock first
            self.db["scrape_failures"].insert(
                {"run": run, "source": source, "url": url, "level": level, "reason": reason,
                 "http_status": http_status, "message": message, "at": stamp.isoformat(timespec="seconds")})
            row = self.db.execute("select failures, first_failed from failing_urls where url = ?", [key]).fetchone()
            failures = (row[0] if row else 0) + 1
            retry_at = None
            if failures >= 2:
                wait = timedelta(days=min(2 ** (failures - 2), BACKOFF_CAP_DAYS)) - timedelta(hours=2)
                retry_at = (stamp + wait).isoformat(timespec="seconds")
            self.db["failing_urls"].upsert(
                {"url": key, "source": source, "level": level, "reason": reason, "http_status": http_status,
                 "failures": failures, "first_failed": row[1] if row else stamp.isoformat(timespec="seconds"),
                 "last_failed": stamp.isoformat(timespec="seconds"), "retry_at": retry_at}, pk="url")

    def clear_failure(self, url: str) -> None:
        """The URL answered: its failure streak and back-off end."""
        with self.write_transaction():  # read-then-write: take the lock first
            self.db.execute("delete from failing_urls where url = ?", [url])

    def backing_off(self, url: str) -> bool:
        """Whether the URL has failed repeatedly and its back-off has not yet run out."""
        row = self.db.execute("select retry_at from failing_urls where url = ?", [url]).fetchone()
        return bool(row and row[0] and row[0] > now())

    def scrape_failures(self, run: int) -> list[LoggedScrapeFailure]:
        return [LoggedScrapeFailure(**row) for row in self.db["scrape_failures"].rows_where("run = ?", [run],
                                                                                              order_by="id")]

    def failing_urls(self) -> list[FailingUrl]:
        return [FailingUrl(**row) for row in self.db["failing_urls"].rows_where(order_by="source, failures desc, url")]
