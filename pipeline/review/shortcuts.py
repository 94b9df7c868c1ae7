"""The keyboard map: one data file (``shortcuts.yaml``), shown by the app's help dialog (``?``) and written into
the analyst's guide by ``docs/samples.py`` (``tests/test_docs.py`` fails when the guide is behind). ``{key}``
marks a key to press."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

import yaml
from markupsafe import Markup, escape

KEYBOARD_MAP = Path(__file__).with_name("shortcuts.yaml")
_KEY = re.compile(r"\{([^}]+)\}")


class Shortcut(NamedTuple):
    where: str  # the part of the app the keys work in
    keys: str
    what: str  # what they do there


@cache
def load_shortcuts(path: Path = KEYBOARD_MAP) -> tuple[Shortcut, ...]:
    """The map in the file's order: a key is added or reworded in the data file, not in code."""
    places = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(Shortcut(where, keys, what) for where, keys_there in places.items()
                 for keys, what in keys_there.items())


def as_html(text: str) -> Markup:
    """The text with each ``{key}`` as a <kbd> element (everything else escaped)."""
    return Markup(_KEY.sub(lambda m: f"<kbd>{m[1]}</kbd>", str(escape(text))))


def as_markdown(text: str) -> str:
    """The text with each ``{key}`` as inline code, as the README writes keys."""
    return _KEY.sub(lambda m: f"`{m[1]}`", text)
