"""``python -m pipeline.cli``: the ``triage`` command without its console script."""

from pipeline.cli import app

app()
