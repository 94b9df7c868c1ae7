"""The feed for the risk engine: flag events with a cursor, pushed to an outbox or webhook, and per-authority
signals."""
