"""Views read back from the store: per-authority summaries, the HTML heat map, read-only exploration."""
