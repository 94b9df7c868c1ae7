"""Every sample output in the README and docs, regenerated from a real run.

A sample sits between ``<!-- sample: NAME -->`` and ``<!-- /sample -->``; this script runs the
real commands (the demo corpus into a fresh data directory) and writes their output there.

    python docs/samples.py           rewrite every sample block
    python docs/samples.py --check   say which blocks differ from a fresh run and exit 1
    python docs/samples.py --bench   rewrite only the performance blocks, from bench/results.json (no demo run;
                                     `make bench` does this after measuring)

``tests/test_docs.py`` runs the check against a run the suite makes, so a change that alters
what a command prints fails until the docs are regenerated. Rewriting also records the processor's
kernel features (``pipeline.embed.onnx.kernel_features``) in ``docs/.samples-processor``: on a processor
with other features the int8 encoder's vectors differ in their last bits, and with them a score's
fourth decimal or a link here and there, so the check there says so instead of failing.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCESSOR = ROOT / "docs" / ".samples-processor"
MARKER = re.compile(r"(?P<open><!-- sample: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close><!-- /sample -->)", re.S)


def documents() -> list[Path]:
    """The Markdown files that may hold samples."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Workspace:
    """A directory holding a demo run's data, and the ``triage`` command that made it."""

    path: Path
    triage: Sequence[str]

    def env(self) -> dict[str, str]:
        # No shared real documents, wherever the command runs: a checkout would find them beside itself and
        # refit `triage learn` on their rows too, an installed tool never does.
        return {**os.environ, "TRIAGE_DATA_DIR": "data", "PREFECT_HOME": str(self.path / ".prefect"),
                "TRIAGE_SHARED_DIR": str(self.path / "no-shared-documents"),
                "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self.triage, *args], cwd=self.path, env=self.env(), capture_output=True,
                                text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"triage {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[-2000:]}")
        return result


def demo_run(workspace: Workspace) -> str:
    """Ingest the bundled corpus into the workspace's data directory; returns what ``triage run`` printed."""
    return workspace.run("run").stdout


def _console(command: str, output: str) -> str:
    lines = [line.rstrip() for line in output.rstrip().splitlines()]
    return "\n".join(["```console", f"$ {command}", *lines, "```"]) + "\n"


def _keyboard(_: Workspace, __: str) -> str:
    """The review app's keyboard map, from the one data file its help dialog (``?``) shows."""
    from pipeline.review.shortcuts import as_markdown, load_shortcuts

    rows = [f"| {where} | {as_markdown(keys)} | {as_markdown(what)} |" for where, keys, what in load_shortcuts()]
    return "\n".join(["| where | keys | what they do |", "|---|---|---|", *rows]) + "\n"


def _reasons(_: Workspace, __: str) -> str:
    from pipeline.review.decisions import REASONS

    rows = [f"| {n} | `{code}` | {label} |" for n, (code, label) in enumerate(REASONS.items(), start=1)]
    return "\n".join(["| key | reason | meaning |", "|---|---|---|", *rows]) + "\n"


def _run(_: Workspace, run_output: str) -> str:
    return _console("triage run", run_output)


def _orientation(workspace: Workspace, _: str) -> str:
    return _console("triage", workspace.run().stdout)


def _taxonomy_show(workspace: Workspace, _: str) -> str:
    return _console("triage taxonomy show R-F09", workspace.run("taxonomy", "show", "R-F09").stdout)


SIGNALS_AS_OF = "2026-06-30"  # signals decay with age: a fixed day keeps the sample the same on any day


def _export(workspace: Workspace, _: str) -> str:
    flags = workspace.run("export", "flags", "--cursor-file", "data/risk-engine.cursor", "--output",
                          "data/new-flags.jsonl")
    signals_args = ["export", "signals", "--authority", "brackenmoor", "--as-of", SIGNALS_AS_OF]
    signals = workspace.run(*signals_args).stdout.splitlines()
    return (f"```console\n$ triage export flags --cursor-file data/risk-engine.cursor --output data/new-flags.jsonl\n"
            f"{flags.stderr.strip()}\n$ triage {' '.join(signals_args)} | head -12\n"
            + "\n".join(signals[:12]) + "\n```\n")


def _scrape_faults(workspace: Workspace, _: str) -> str:
    """A scrape of the tests' imitation ModernGov site, with the faults real sites send on four of its URLs."""
    sys.path.insert(0, str(ROOT / "tests"))
    from scrape_site import FakeSite, error_page, malformed_xml, redirect, sign_in_page

    with FakeSite() as site:
        site.routes["/brackenmoor/mgWebService.asmx/GetMeetings?lCommitteeId=131"] = malformed_xml
        site.routes["/brackenmoor/mgConvert2PDF.aspx?ID=81010"] = sign_in_page
        site.routes["/brackenmoor/mgConvert2PDF.aspx?ID=81011"] = error_page(403)
        site.routes["/brackenmoor/mgConvert2PDF.aspx?ID=81101"] = redirect(site.other_host("/elsewhere.pdf"))
        result = workspace.run("scrape", "moderngov", site.base(), "--authority", "brackenmoor", "--since",
                               "2026-02-15", "--until", "2026-03-31", "--allow-private-hosts",
                               "--register", "data/sources.yaml")
        output = result.stdout.replace(site.url, "http://127.0.0.1:8080")  # the port differs run to run
    command = ("triage scrape moderngov http://127.0.0.1:8080/brackenmoor/ --authority brackenmoor "
               "--since 2026-02-15 --until 2026-03-31 --allow-private-hosts")
    return _console(command, output)


def _learn(workspace: Workspace, _: str) -> str:
    """``triage learn --dry-run`` on a copy of the demo database in which a script stands in for an analyst: it
    confirms the top-ranked suggestion of each brackenmoor passage and rejects the others as the wrong entry."""
    import shutil
    import sqlite3

    from pipeline.store import Store

    copy = workspace.path / "data" / "learn-sample" / "triage.db"
    copy.parent.mkdir(parents=True)
    source, target = sqlite3.connect(workspace.path / "data" / "triage.db"), sqlite3.connect(copy)
    source.backup(target)  # with what the write-ahead log still holds
    source.close()
    target.close()
    with Store(copy) as store:
        links = store.db.execute(
            "select e.passage, e.taxonomy, e.entry, e.rank from evidence e join passages p on p.id = e.passage "
            "join documents d on d.id = p.document where d.authority = 'brackenmoor' and e.status = 'suggested' "
            "order by e.passage, e.rank, e.entry").fetchall()
        for passage, taxonomy, entry, rank in links:
            if rank == 1:
                store.add_review(passage, taxonomy, entry, "confirm", "sample-analyst")
            else:
                store.add_review(passage, taxonomy, entry, "reject", "sample-analyst", reason="wrong_entry")
    output = workspace.run("learn", "--db", "data/learn-sample/triage.db", "--dry-run").stdout
    shutil.rmtree(copy.parent)
    return _console("triage learn --db data/learn-sample/triage.db --dry-run",
                    output.replace(f"{workspace.path.resolve()}/", ""))


def _from_bench(name: str) -> Callable[[Workspace, str], str]:
    """A performance block, written from the latest benchmark figures (bench/results.json), not from the demo."""

    def make(_: Workspace, __: str) -> str:
        import json

        sys.path.insert(0, str(ROOT))
        from bench import report
        from bench.common import RESULTS

        return getattr(report, name)(json.loads(RESULTS.read_text()))

    return make


BENCH_SAMPLES: dict[str, Callable[[Workspace, str], str]] = {
    name.replace("_", "-"): _from_bench(name)
    for name in ("performance", "time_budget", "scale_curve", "capacity_plan", "figures_table")
}

SAMPLES: dict[str, Callable[[Workspace, str], str]] = {
    **BENCH_SAMPLES,
    "scrape-faults": _scrape_faults,
    "run": _run,
    "orientation": _orientation,
    "taxonomy-show": _taxonomy_show,
    "keyboard": _keyboard,
    "reasons": _reasons,
    "export": _export,
    "learn": _learn,
}


def generate(workspace: Workspace, run_output: str) -> dict[str, str]:
    """Every sample's text, from the workspace's demo run (``run_output`` is what it printed)."""
    return {name: make(workspace, run_output) for name, make in SAMPLES.items()}


def render(text: str, samples: dict[str, str], only: bool = False) -> str:
    """``text`` with every sample block replaced by its generated content (``only``: the blocks given,
    leaving the others as they are)."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if only and name not in samples:
            return match[0]
        if name not in samples:
            raise KeyError(f"unknown sample {name!r}; known: {', '.join(sorted(samples))}")
        return match["open"] + samples[name] + match["close"]

    return MARKER.sub(replace, text)


def other_processor() -> str | None:
    """Why samples may differ here without anything having changed: the processor's kernel features are not those
    of the one the samples were generated on (None when they are)."""
    from pipeline.embed.onnx import kernel_features

    here = kernel_features()
    there = PROCESSOR.read_text(encoding="utf-8").strip() if PROCESSOR.is_file() else "unknown"
    if here == there:
        return None
    return (f"the samples were generated on a processor with {there}, this one has {here}: the int8 encoder's "
            "vectors differ there in their last bits (models/README.md, 'The same vector on every processor')")


def drifted(samples: dict[str, str]) -> list[str]:
    """For each sample block that differs from ``samples``: its file, its name and a diff, old to new."""
    problems = []
    for path in documents():
        text = path.read_text()
        for match in MARKER.finditer(text):
            new = samples.get(match["name"], "")
            if match["body"] != new:
                where = f"{path.relative_to(ROOT)}: sample {match['name']!r}"
                diff = difflib.unified_diff(match["body"].splitlines(), new.splitlines(), "docs", "fresh run",
                                            lineterm="", n=1)
                problems.append("\n".join([where, *diff]))
    return problems


def main(argv: Sequence[str]) -> int:
    check, bench = "--check" in argv, "--bench" in argv
    with tempfile.TemporaryDirectory(prefix="bv-samples-") as tmp:
        workspace = Workspace(Path(tmp), [str(Path(sys.executable).with_name("triage"))])
        if bench:
            samples = {name: make(workspace, "") for name, make in BENCH_SAMPLES.items()}
        else:
            samples = generate(workspace, demo_run(workspace))
    if check:
        problems = drifted(samples)
        for problem in problems:
            print(f"drifted: {problem}", file=sys.stderr)
        if problems and (why := other_processor()):
            print(f"note: {why}", file=sys.stderr)
        return 1 if problems else 0
    if not bench:
        from pipeline.embed.onnx import kernel_features

        PROCESSOR.write_text(kernel_features() + "\n", encoding="utf-8")
    for path in documents():
        text = path.read_text()
        updated = render(text, samples, only=bench)
        if updated != text:
            path.write_text(updated)
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
