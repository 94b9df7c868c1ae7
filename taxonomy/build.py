"""Regenerate the taxonomy data files from the source texts in ../shared/seeds.

The YAML files are the reviewed source of truth; this script records how they were
made, and ``tests/test_taxonomy.py`` checks they still match the seeds.

    python taxonomy/build.py [SEEDS_DIR]
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_SEEDS = HERE.parent.parent / "shared" / "seeds"

BV_THEMES = [
    ("CI", "Continuous improvement"),
    ("L", "Leadership"),
    ("G", "Governance"),
    ("C", "Culture"),
    ("R", "Use of resources"),
    ("SD", "Service delivery"),
    ("PCE", "Partnerships and community engagement"),
]
WALES_GROUPS = [
    ("O", "Inadequate or invalid objectives"),
    ("A", "Incomplete or unfit arrangements"),
    ("D", "Dysfunctional arrangements"),
    ("I", "No or insufficient improvement"),
    ("E", "Failure in education"),
    ("S", "Failure in social services"),
]
OGL = "Open Government Licence v3.0"
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. Crown copyright {year}."
)


def _taxonomy_file(taxonomy: str, title: str, *, publisher: str, version: str, source: str, crown_year: int,
                   themes: list[dict], entries: list[dict]) -> dict:
    """A data file's fields in the order every taxonomy file gives them; each seed is Crown copyright under the OGL."""
    return {"taxonomy": taxonomy, "title": title, "publisher": publisher, "version": version, "source": source,
            "licence": OGL, "licence_url": OGL_URL, "attribution": ATTRIBUTION.format(year=crown_year),
            "themes": themes, "entries": entries}


def _clean(text: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text).strip()


def _bullets(cell: str) -> list[str]:
    parts = re.sub(r"<[^>]+>", " ", cell).split("•")
    return [_clean(p) for p in parts[1:] if _clean(p)]


def _paragraphs(cell: str) -> str:
    paras = [_clean(p) for p in re.findall(r"<p>(.*?)</p>", cell, flags=re.S)]
    return "\n\n".join(p for p in paras if p)


def build_bv_2023(seed: Path) -> dict:
    lines = seed.read_text(encoding="utf-8").splitlines()
    themes, entries = [], []
    for code, name in BV_THEMES:
        title = f"{BV_THEMES.index((code, name)) + 1}. {name}"
        start = next(i for i, line in enumerate(lines) if line.strip() == title and i > 180)
        row = next(line for line in lines[start + 1 :] if line.startswith("<p>"))
        description, characteristics, failures = row.split("\t")
        themes.append({"id": code, "name": name, "description": _paragraphs(description)})
        for n, text in enumerate(_bullets(characteristics), 1):
            entries.append({"id": f"{code}{n:03d}", "theme": code, "kind": "characteristic", "text": text})
        for n, text in enumerate(_bullets(failures), 1):
            entries.append({"id": f"{code}-F{n:02d}", "theme": code, "kind": "failure_indicator", "text": text})
    return _taxonomy_file(
        "bv-2023-draft", "Best Value Standards and Intervention: a statutory guide for best value authorities (draft)",
        publisher="Department for Levelling Up, Housing and Communities", version="2023 consultation draft, section 5",
        source="shared/seeds/000_6940e0ab6a77cfa3.txt", crown_year=2023, themes=themes, entries=entries)


def _list_after(lines: list[str], heading: str, start: int = 0) -> tuple[list[str], int]:
    i = next(k for k in range(start, len(lines)) if lines[k].strip().startswith(heading))
    items: list[str] = []
    for k in range(i + 1, len(lines)):
        stripped = lines[k].strip()
        if stripped.startswith("- "):
            items.append(re.sub(r"(;|; and| and|\.)$", "", _clean(stripped[2:])).strip())
        elif stripped and items:
            return items, k
    return items, len(lines)


def build_wales_2013(seed: Path) -> dict:
    lines = seed.read_text(encoding="utf-8").splitlines()
    annex = next(i for i, line in enumerate(lines) if line.strip() == "Sources of Corporate Failure")
    groups = {
        "O": _list_after(lines, "Inadequate or invalid objectives", annex)[0],
        "A": _list_after(lines, "Incomplete or unfit arrangements", annex)[0],
        "D": _list_after(lines, "Dysfunctional arrangements", annex + 30)[0],
        "I": _list_after(lines, "No or insufficient improvement", annex + 30)[0],
        "E": _list_after(lines, "Failure in education, which might", annex)[0],
        "S": _list_after(lines, "- *Social services*")[0],
    }
    themes, entries = [], []
    for code, name in WALES_GROUPS:
        themes.append({"id": code, "name": name, "description": name + "."})
        for n, text in enumerate(groups[code], 1):
            entries.append({"id": f"WAL-{code}{n:02d}", "theme": code, "kind": "failure_indicator", "text": text})
    return _taxonomy_file(
        "wales-2013", "Local Government Support and Intervention Protocol (Wales)",
        publisher="Welsh Government and Welsh Local Government Association", version="2013, Annex B and section 4.5",
        source="shared/seeds/002_df147bda41c04764.txt", crown_year=2013, themes=themes, entries=entries)


def render(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def main(seeds: Path = DEFAULT_SEEDS) -> None:
    bv = build_bv_2023(next(seeds.glob("000_*.txt")))
    wales = build_wales_2013(next(seeds.glob("002_*.txt")))
    (HERE / "bv-2023-draft.yaml").write_text(render(bv), encoding="utf-8")
    (HERE / "wales-2013.yaml").write_text(render(wales), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SEEDS)
