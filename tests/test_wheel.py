"""bv-triage installs like a real tool: the built wheel, in a fresh venv outside the checkout, runs the
demo end to end and finds its bundled data through the package, never through the source tree."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _run(triage: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
         stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_", "PREFECT_"))}
    result = subprocess.run([str(triage), *args], cwd=cwd, env={**environment, **(env or {})}, input=stdin,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_installed_package_is_not_the_checkout(installed_triage):
    python = installed_triage.with_name("python")
    where = subprocess.run([str(python), "-c", "import pipeline, pipeline.paths as p; "
                            "print(pipeline.__file__); print(p.TAXONOMY_DIR); print(p.CHECKOUT)"],
                           cwd="/", capture_output=True, text=True, check=True).stdout.splitlines()
    venv = installed_triage.parent.parent
    assert Path(where[0]).is_relative_to(venv) and Path(where[1]).is_relative_to(venv)
    assert where[2] == "None"


def test_installed_wheel_runs_the_demo_corpus_from_outside_the_checkout(installed_demo):
    workspace, output = installed_demo
    assert "Evidence by authority" in output
    assert "run 1: 16 documents (16 stored); database data/triage.db" in output
    # not a terminal: the table is at full width, its columns say what they count
    assert "…" not in output and "evidence links" in output and "flagged passages" in output
    for authority in ("brackenmoor", "ferncastle", "kestrelford"):
        assert authority in output
    assert (workspace.path / "data" / "triage.db").is_file()


def test_installed_wheel_predicts_and_exports_the_taxonomy(installed_demo):
    workspace, _ = installed_demo
    lines = workspace.run("taxonomy", "export", "--format", "jsonl").stdout.splitlines()
    assert len(lines) == 136 and json.loads(lines[0])["taxonomy"] == "bv-2023-draft"
    texts = [{"id": "s114", "text": "The Chief Finance Officer has issued a section 114 notice."},
             {"id": "minutes", "text": "The minutes of the last meeting were agreed."}]
    result = subprocess.run([*workspace.triage, "predict"], cwd=workspace.path, env=workspace.env(),
                            input="".join(json.dumps(t) + "\n" for t in texts), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = {p["id"]: p for p in map(json.loads, result.stdout.splitlines())}
    assert "R-F09" in predictions["s114"]["flagged"] and predictions["minutes"]["flagged"] == []


def test_installed_wheel_keeps_its_data_and_prefect_home_in_the_user_data_dir(installed_triage, tmp_path):
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    listed = _run(installed_triage, "sources", "list", cwd=tmp_path, env=env).stdout
    assert str(home / ".local" / "share" / "bv-triage" / "sources.yaml") in "".join(listed.split())
    python = installed_triage.with_name("python")
    prefect_home = subprocess.run([str(python), "-c", "from pipeline.settings import configure_environment; "
                                   "configure_environment(); import os; print(os.environ['PREFECT_HOME'])"],
                                  cwd=tmp_path, env={**env, "PATH": os.environ["PATH"]}, capture_output=True,
                                  text=True, check=True).stdout.strip()
    assert prefect_home == str(home / ".local" / "share" / "bv-triage" / "prefect")


def test_installed_wheel_takes_its_data_dir_from_the_option_before_the_variable(installed_triage, tmp_path):
    env = {"HOME": str(tmp_path / "home"), "TRIAGE_DATA_DIR": str(tmp_path / "variable")}
    listed = _run(installed_triage, "--data-dir", "mine", "sources", "list", cwd=tmp_path, env=env).stdout
    assert "(mine/sources.yaml)" in "".join(listed.split())  # the table's title
    orientation = _run(installed_triage, "--data-dir", "mine", cwd=tmp_path, env=env).stdout
    assert "Data directory: mine (" in orientation
