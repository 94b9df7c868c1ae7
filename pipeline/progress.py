"""A progress bar that is a no-op when disabled, so library code can always report."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, description: str, total: int, enabled: bool = True) -> None:
        self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[item]}"), disable=not enabled,
                                 transient=False)
        self._task = self._bar.add_task(description, total=total, item="")

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def advance(self, item: str = "") -> None:
        self._bar.update(self._task, advance=1, item=item)
