"""Long work talks: a live bar with counts and an ETA on a terminal, plain periodic lines elsewhere,
always on stderr."""

from __future__ import annotations

import io
import time

from rich.console import Console

from pipeline.progress import Progress


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=140, color_system=None), buffer


def test_plain_lines_off_a_terminal_give_counts_elapsed_and_time_left():
    console, buffer = _console(terminal=False)
    with Progress("Ingesting", 3, console=console, every=0) as bar:
        for name in ("a.pdf", "b.html", "c.docx"):
            bar.advance(name)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "Ingesting: 3 documents"
    assert lines[1].startswith("Ingesting: 1/3 documents, ") and "left (a.pdf)" in lines[1]
    assert lines[-1].startswith("Ingesting: 3/3 documents, ") and lines[-1].endswith("elapsed (c.docx)")
    assert len(lines) == 4  # the last advance printed the final line; exit adds nothing


def test_plain_lines_are_periodic_not_one_per_item():
    console, buffer = _console(terminal=False)
    with Progress("Ingesting", 100, console=console, every=3600) as bar:
        for _ in range(100):
            bar.advance()
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Ingesting: 100/100 documents, ")


def test_plain_lines_keep_coming_while_no_item_finishes():
    console, buffer = _console(terminal=False)
    with Progress("Ingesting", 3, console=console, every=0.05):
        time.sleep(0.3)  # a batch being embedded: nothing advances
    lines = buffer.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("Ingesting: 0/3 documents, ") for line in lines[1:])


def test_unknown_total_counts_without_an_eta():
    console, buffer = _console(terminal=False)
    with Progress("Collecting src", 0, console=console, every=3600) as bar:
        bar.advance("one")
        bar.advance("two")
    last = buffer.getvalue().splitlines()[-1]
    assert last.startswith("Collecting src: 2 documents, ") and "left" not in last


def test_live_bar_on_a_terminal_shows_counts_and_eta():
    console, buffer = _console(terminal=True)
    with Progress("Ingesting", 2, console=console) as bar:
        bar.advance("a.pdf")
        bar.advance("b.pdf")
    output = buffer.getvalue()
    assert "2/2" in output and "ETA" in output and "documents" in output


def test_disabled_progress_prints_nothing_and_stdout_is_never_used(capsys):
    console, buffer = _console(terminal=False)
    with Progress("Ingesting", 2, enabled=False, console=console) as bar:
        bar.advance("a.pdf")
    assert buffer.getvalue() == ""
    with Progress("Ingesting", 1, every=0) as bar:  # the default console is stderr
        bar.advance("a.pdf")
    captured = capsys.readouterr()
    assert captured.out == "" and "1/1 documents" in captured.err
