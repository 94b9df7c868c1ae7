"""Where the tool writes: `triage --data-dir DIR`, else TRIAGE_DATA_DIR, else the default; an explicit --db wins
over all three. Checked through the real command in a subprocess, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.paths import default_data_dir

TRIAGE = Path(sys.executable).parent / "triage"


def triage(*args: str, cwd: Path, env_dir: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """``triage ARGS`` in ``cwd``, with TRIAGE_DATA_DIR set to ``env_dir`` (unset when None)."""
    env = {k: v for k, v in os.environ.items() if k != "TRIAGE_DATA_DIR"}
    env.update({"TRIAGE_OCR": "off", **({"TRIAGE_DATA_DIR": str(env_dir)} if env_dir else {})})
    result = subprocess.run([str(TRIAGE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert (result.returncode == 0) == ok, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def orientation_dir(result: subprocess.CompletedProcess[str]) -> str:
    line = next(line for line in result.stdout.splitlines() if line.startswith("Data directory: "))
    return line.removeprefix("Data directory: ").split(" (")[0]


def test_the_orientation_names_the_data_dir_by_precedence(tmp_path: Path):
    option, variable = tmp_path / "option", tmp_path / "variable"
    assert orientation_dir(triage(cwd=tmp_path)) == str(default_data_dir())
    assert orientation_dir(triage(cwd=tmp_path, env_dir=variable)) == str(variable)
    assert orientation_dir(triage("--data-dir", str(option), cwd=tmp_path, env_dir=variable)) == str(option)
    assert not option.exists() and not variable.exists()  # naming a directory writes nothing


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path):
    (tmp_path / "taken").write_text("not a directory")
    result = triage("--data-dir", "taken", "doctor", cwd=tmp_path, ok=False)
    assert "--data-dir" in result.stderr and "taken" in result.stderr


def test_defaults_are_resolved_when_a_command_runs_not_when_the_cli_is_imported(tmp_path: Path):
    """In one process, after pipeline.cli was imported under another TRIAGE_DATA_DIR: each command still looks
    in the directory chosen for it."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    option, variable = tmp_path / "option", tmp_path / "variable"
    runner = CliRunner()
    chosen = runner.invoke(app, ["--data-dir", str(option), "summary"], env={"TRIAGE_DATA_DIR": str(variable)})
    assert chosen.exit_code == 1 and chosen.stderr.startswith(f"error: no database at {option / 'triage.db'};")
    for command in (["export", "flags"], ["tokens", "list"], ["summary"]):
        inherited = runner.invoke(app, command, env={"TRIAGE_DATA_DIR": str(variable)})
        assert inherited.exit_code == 1 and f"no database at {variable / 'triage.db'};" in inherited.stderr
    explicit = runner.invoke(app, ["--data-dir", str(option), "summary", "--db", str(tmp_path / "x.db")],
                             env={"TRIAGE_DATA_DIR": str(variable)})
    assert f"no database at {tmp_path / 'x.db'};" in explicit.stderr


@pytest.mark.slow  # doctor looks for the model package
def test_doctor_shows_the_chosen_data_dir_and_db(tmp_path: Path):
    option, variable = tmp_path / "option", tmp_path / "variable"
    chosen = triage("--data-dir", str(option), "doctor", cwd=tmp_path, env_dir=variable).stdout.splitlines()
    assert f"ok        data directory: {option} (made by the first command that writes there)" in chosen
    assert f"database {option / 'triage.db'}" in chosen
    assert any(line.startswith("ok        disk space: ") and line.endswith(f"free for {option}") for line in chosen)
    assert f"database {variable / 'triage.db'}" in triage("doctor", cwd=tmp_path, env_dir=variable).stdout
    explicit = triage("--data-dir", str(option), "doctor", "--db", "elsewhere.db", cwd=tmp_path, env_dir=variable)
    assert "database elsewhere.db" in explicit.stdout.splitlines()


@pytest.mark.slow  # the model and Prefect
def test_run_writes_the_database_and_caches_into_the_data_dir(tmp_path: Path, small_corpus: Path):
    option, variable = tmp_path / "option", tmp_path / "variable"
    run = triage("--data-dir", "option", "run", str(small_corpus), cwd=tmp_path, env_dir=variable)
    assert run.stdout.splitlines()[-1] == "run 1: 3 documents (3 stored); database option/triage.db"
    assert (option / "triage.db").is_file()
    assert list((option / "models" / "onnx").glob("*/model.int8.onnx"))  # the int8 encoder was built there
    assert not variable.exists()
    # the variable alone leads later commands to the same data: the summary reads its database, writes its heat map
    summary = triage("summary", cwd=tmp_path, env_dir=option)
    assert "ferncastle" in summary.stdout and (option / "summary.html").is_file()
    # the variable's own directory has no database yet: an explicit --db still wins over it
    assert "no database at" in triage("summary", cwd=tmp_path, env_dir=variable, ok=False).stderr
    triage("summary", "--db", "option/triage.db", "--html", "map.html", cwd=tmp_path, env_dir=variable)
    assert (tmp_path / "map.html").is_file() and not variable.exists()


@pytest.mark.slow  # builds Prefect deployments
def test_served_deployments_scrape_into_the_chosen_data_dir(tmp_path: Path):
    """The schedules run later, in other processes: the database chosen now is written into each deployment."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    option = tmp_path / "option"
    result = CliRunner().invoke(app, ["--data-dir", str(option), "flows", "serve", "--dry-run"],
                                env={"TRIAGE_DATA_DIR": str(tmp_path / "variable")})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(("scrape-", "learn-weekly"))]
    assert lines and all(f"'db': '{option / 'triage.db'}'" in line for line in lines)
