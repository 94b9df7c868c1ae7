"""The keyboard map: one list, shown by the app's help dialog (``?``) and written into the analyst's
guide by ``docs/samples.py`` (``tests/test_docs.py`` fails when the guide is behind). ``{key}`` marks a
key to press."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

SHORTCUTS: list[tuple[str, str, str]] = [  # (where, keys, what they do)
    ("everywhere", "{?}", "show or hide this help"),
    ("everywhere", "{Esc}", "close the help, cancel a reject or reassign, leave a text field"),
    ("queue", "{j} / {k}", "move down / up the list"),
    ("queue", "{Enter} or {o}", "open the highlighted item"),
    ("item", "{j} / {k}", "next / previous item of the queue"),
    ("item", "{c}", "confirm the link (and move on)"),
    ("item", "{r} then {1}–{6}", "reject with that reason (and move on)"),
    ("item", "{a}", "reassign: type words or an id, {↓} / {↑} choose an entry, {Enter} reassigns to it"),
    ("item", "{n}", "write a note; {Ctrl}+{Enter} saves it"),
    ("item", "{u}", "undo my last decision (the one the banner names after moving on), else this item's"),
    ("second review", "{c}", "confirm (and move on to the next second review)"),
    ("second review", "{r} then {1}–{6}", "reject with that reason (and move on)"),
]
_KEY = re.compile(r"\{([^}]+)\}")


def as_html(text: str) -> Markup:
    """The text with each ``{key}`` as a <kbd> element (everything else escaped)."""
    return Markup(_KEY.sub(lambda m: f"<kbd>{m[1]}</kbd>", str(escape(text))))


def as_markdown(text: str) -> str:
    """The text with each ``{key}`` as inline code, as the README writes keys."""
    return _KEY.sub(lambda m: f"`{m[1]}`", text)
