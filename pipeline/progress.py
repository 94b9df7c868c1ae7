"""Progress on long work, on stderr so stdout stays the command's output.

On a terminal it is a live bar with counts, elapsed time and an ETA; anywhere else (a pipe, a log
file, CI) Rich draws nothing live, so it prints a plain line every ``every`` seconds instead, whether or
not an item finished meanwhile (work done in batches advances in bursts, and a log should show it lives). Library
code can always report: a disabled progress does nothing.
"""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

PLAIN_EVERY = 10.0  # seconds between plain lines


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    def __init__(self, description: str, total: int, enabled: bool = True, unit: str = "documents",
                 console: Console | None = None, every: float = PLAIN_EVERY) -> None:
        self.description, self.total, self.unit, self.every = description, total, unit, every
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal and not self.console.is_dumb_terminal
        self.done = 0
        self._started = self._last_line = 0.0
        self._printed = -1  # ``done`` when the last plain line was printed
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._bar: RichProgress | None = None
        if self.live:
            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[item]}"),
                console=self.console, transient=False)
            self._task = self._bar.add_task(description, total=total or None, item="")

    def __enter__(self) -> Progress:
        self._started = self._last_line = time.monotonic()
        if self._bar is not None:
            self._bar.start()
        elif self.enabled:
            count = f"{self.total} {self.unit}" if self.total else self.unit
            self.console.print(f"{self.description}: {count}", highlight=False, markup=False)
            if self.every > 0:
                self._heartbeat = threading.Thread(target=self._beat, name="progress-lines", daemon=True)
                self._heartbeat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled and self.done != self._printed:
            self._line("")

    def advance(self, item: str = "") -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, item=item)
        elif self.enabled and (time.monotonic() - self._last_line >= self.every or self.done == self.total):
            self._line(item)

    def line(self) -> str:
        """The plain progress line: counts, elapsed time and, with a known total, an ETA."""
        elapsed = time.monotonic() - self._started
        text = f"{self.description}: {self.done}/{self.total} {self.unit}" if self.total else \
            f"{self.description}: {self.done} {self.unit}"
        text += f", {_duration(elapsed)} elapsed"
        if self.total and 0 < self.done < self.total:
            text += f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        return text

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            if time.monotonic() - self._last_line >= self.every:
                self._line("")

    def _line(self, item: str) -> None:
        self.console.print(self.line() + (f" ({item})" if item else ""), highlight=False, markup=False,
                           soft_wrap=True)
        self._last_line, self._printed = time.monotonic(), self.done
