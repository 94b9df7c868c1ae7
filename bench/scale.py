"""How a first run grows with the corpus: `triage run` over 25%, 50% and 100% of the pages of every
shared document folder (evaldocs, devdocs, evaldocs-2; read for speed only, never for tuning), then the
100% run again on a local Dask cluster of two workers, whose rows must equal the local run's.

The documents are put in a fixed pseudo-random order (by the sha256 of their names, so each subset
mixes the folders) and each subset is the shortest prefix holding its share of the pages. OCR is
off, as for the throughput targets: seconds per page count the pages of documents read.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pypdfium2

from bench.common import SCALE_FOLDERS, TRIAGE, Figure, Measured, measured
from bench.ingest import TEXT_ONLY, TREE_TARGET_MIB, recorded_budget
from bench.rows import differences
from pipeline.collect.corpus import discover

SHARES = (25, 50, 100)
GROWTH_TARGET = 1.15  # seconds per page at 100% at most this many times those at 25%
DASK_WORKERS = 2


def documents() -> list[tuple[Path, int]]:
    """Every document of the shared folders with its page count (1 for a non-PDF), in the fixed order."""
    found = [(source.path, _pages(source.path)) for source in discover(list(SCALE_FOLDERS), "scale")[1]]
    return sorted(found, key=lambda item: hashlib.sha256(item[0].name.encode()).hexdigest())


def _pages(path: Path) -> int:
    if path.suffix.lower() != ".pdf":
        return 1
    try:
        document = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError:
        return 1
    try:
        return len(document)
    finally:
        document.close()


def subset(found: list[tuple[Path, int]], share: int) -> list[Path]:
    """The shortest prefix of the documents holding ``share`` % of their pages."""
    total, pages, chosen = sum(n for _, n in found), 0, []
    for path, n in found:
        if pages >= total * share / 100:
            break
        chosen.append(path)
        pages += n
    return chosen


def available() -> bool:
    return all(folder.is_dir() for folder in SCALE_FOLDERS)


def run() -> tuple[list[Figure], dict[str, object]]:
    found = documents()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    points: list[dict[str, object]] = []
    try:
        for share in SHARES:
            files = subset(found, share)
            db = work / f"scale-{share}.db"
            result = _run(files, db)
            points.append(_point(share, len(files), db, result))
        dask_db = work / "scale-dask.db"
        dask = _run(subset(found, 100), dask_db, "--dask-workers", str(DASK_WORKERS))
        differ = differences(work / "scale-100.db", dask_db)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    full, quarter = points[-1], points[0]
    growth = float(full["seconds_per_page"]) / float(quarter["seconds_per_page"])
    marginal = ((float(full["seconds"]) - float(quarter["seconds"]))
                / (int(full["pages"]) - int(quarter["pages"])))
    figures = [Figure("scale", f"{p['share']}% of the pages ({p['documents']} documents, {p['pages']} pages read): "
                      f"s/page, peak RSS of the tree {float(p['peak_tree_mib']):,.0f} MiB",
                      float(p["seconds_per_page"]), "s/page", "s/page at 25%", float(quarter["seconds_per_page"]),
                      float(quarter["seconds_per_page"]) / float(p["seconds_per_page"])) for p in points]
    figures += [
        Figure("scale", f"s/page at 100% over s/page at 25% (target at most {GROWTH_TARGET})", growth, "",
               "target (at most)", GROWTH_TARGET, GROWTH_TARGET / growth),
        Figure("scale", "peak RSS of the process tree at 100%", float(full["peak_tree_mib"]), "MiB",
               "target (at most)", TREE_TARGET_MIB, TREE_TARGET_MIB / float(full["peak_tree_mib"])),
        Figure("scale", f"100% on a local Dask cluster of {DASK_WORKERS} workers, wall ("
               f"{'same rows as the local run' if not differ else 'ROWS DIFFER: ' + '; '.join(differ)})",
               dask.seconds, "s", "the local run, wall", float(full["seconds"]), float(full["seconds"]) / dask.seconds),
    ]
    details = {"points": points, "marginal_seconds_per_page": round(marginal, 4), "growth": round(growth, 3),
               "dask": {"workers": DASK_WORKERS, "seconds": round(dask.seconds, 2),
                        "peak_tree_mib": round(dask.peak_mib, 1), "same_rows": not differ, "differences": differ}}
    return figures, details


def _run(files: list[Path], db: Path, *extra: str) -> Measured:
    return measured([*TRIAGE, "run", *map(str, files), "--db", str(db), "--authority", "scale", *extra],
                    env=TEXT_ONLY)


def _point(share: int, documents: int, db: Path, result: Measured) -> dict[str, object]:
    with sqlite3.connect(db) as connection:
        pages, passages = connection.execute(
            "select coalesce(sum(pages), 0), (select count(*) from passages where boilerplate = 0) "
            "from documents where status = 'ok'").fetchone()
    return {"share": share, "documents": documents, "pages": int(pages), "passages": int(passages),
            "seconds": round(result.seconds, 2), "seconds_per_page": round(result.seconds / max(pages, 1), 4),
            "peak_tree_mib": round(result.peak_mib, 1), **recorded_budget(db)}
