"""One run at a time per database: a lock file beside it, released even when its holder is killed."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from pipeline.paths import path_text


@contextlib.contextmanager
def run_lock(db: Path, say: Callable[[str], object] = lambda m: print(m, file=sys.stderr)) -> Iterator[None]:
    """One run at a time per database: a second says which process holds it and waits for it."""
    path = Path(f"{db}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            say(f"another run is writing to {path_text(db)} ({holder}); waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
