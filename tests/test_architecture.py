"""The dependency direction the README's architecture section describes, checked on every import.

Layers, lowest first; a module may import its own unit, anything in a lower layer, and, inside its
layer, only the units listed before its own. So the domain knows nothing of the stages, a stage
nothing of the workflows, and nothing in ``pipeline`` knows of the CLI or the Prefect flows.
"""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout


LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["pipeline", "pipeline.errors", "pipeline.text", "pipeline.jsonl", "pipeline.agreement",
                    "pipeline.ids", "pipeline.terminal", "pipeline.paths", "pipeline.settings", "pipeline.progress",
                    "pipeline.timing", "pipeline.taxonomy", "pipeline.domain"]),
    ("stages", ["pipeline.extract", "pipeline.embed", "pipeline.passages", "pipeline.classify", "pipeline.store",
                "pipeline.collect"]),
    ("workflows", ["pipeline.feed", "pipeline.report", "pipeline.predict", "pipeline.training", "pipeline.ingest",
                   "pipeline.runtime", "pipeline.review", "pipeline.environment"]),
    ("entry points", ["flows", "pipeline.cli"]),
]
UNITS = [unit for _, units in LAYERS for unit in units]


def unit_of(module: str) -> str | None:
    """The most specific declared unit a dotted module name belongs to."""
    matches = [u for u in UNITS if module == u or module.startswith(u + ".")]
    return max(matches, key=len) if matches else None


def project_modules() -> dict[str, Path]:
    found = {}
    for root in ("pipeline", "flows"):
        for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
            name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every project import, at any depth (lazy imports inside functions count too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from pipeline.classify.rules import polarity` imports a submodule
                candidate = f"{node.module}.{alias.name}"
                out.append((node.lineno, candidate if unit_of(candidate) != unit_of(node.module) else node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in out if name.split(".")[0] in ("pipeline", "flows")]


def violations(modules: dict[str, Path], root: Path = PROJECT_ROOT) -> list[str]:
    problems = []
    for name, path in modules.items():
        mine = unit_of(name)
        for line, target in imported(path):
            theirs = unit_of(target)
            if theirs is not None and theirs != mine and UNITS.index(theirs) > UNITS.index(mine):
                problems.append(f"{path.relative_to(root)}:{line}: {mine} imports {target} ({theirs} is above it)")
    return problems


def test_every_module_has_a_place_in_the_layers():
    assert [name for name in project_modules() if unit_of(name) is None] == []


def test_no_module_imports_against_the_dependency_direction():
    assert violations(project_modules()) == []


def test_the_check_catches_an_upward_import(tmp_path):
    """A store module that reached up into the feed, and a domain that reached into the classifier (lazily), are
    caught; an import of the same unit or a lower one is not."""
    store = tmp_path / "store.py"
    store.write_text("from pipeline.feed.events import sync_events\nfrom pipeline.store.base import now\n")
    domain = tmp_path / "domain.py"
    domain.write_text("from pipeline.ids import short_hash\n\n\n"
                      "def f():\n    from pipeline.classify.rules import polarity\n")
    found = violations({"pipeline.store.documents": store, "pipeline.domain": domain}, root=tmp_path)
    assert found == ["store.py:1: pipeline.store imports pipeline.feed.events (pipeline.feed is above it)",
                     "domain.py:5: pipeline.domain imports pipeline.classify.rules (pipeline.classify is above it)"]
