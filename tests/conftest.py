"""Shared fixtures: the real model (loaded once), the bundled corpus, temporary databases."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.settings import configure_environment

configure_environment()

from pipeline.paths import DEMO_CORPUS  # noqa: E402


@pytest.fixture(scope="session")
def encoder():
    from pipeline.embed import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def classifier(encoder):
    from pipeline.classify import load_classifier

    return load_classifier(encoder)


@pytest.fixture(scope="session")
def segmenter():
    from pipeline.passages.segment import Segmenter

    return Segmenter()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "triage.db"


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """Three bundled documents (PDF, HTML, DOCX) of two authorities, with their manifest."""
    import yaml

    wanted = {
        "brackenmoor/2024-05-08-lgsco-decision-23-008-517.pdf",
        "ferncastle/2024-06-11-cabinet-peer-challenge-progress.html",
        "ferncastle/2024-07-23-annual-governance-statement-2023-24.docx",
    }
    root = tmp_path / "corpus"
    manifest = yaml.safe_load((DEMO_CORPUS / "manifest.yaml").read_text())
    rows = [row for row in manifest["documents"] if row["file"] in wanted]
    assert len(rows) == len(wanted)
    for row in rows:
        target = root / row["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO_CORPUS / row["file"], target)
    (root / "manifest.yaml").write_text(yaml.safe_dump({"documents": rows}))
    shutil.copy(DEMO_CORPUS / "authorities.yaml", root / "authorities.yaml")
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A review database built once per module; each test gets its own copy."""
    from review_fixtures import build_review_db

    return build_review_db(tmp_path_factory.mktemp("review"))


@pytest.fixture
def review(template, tmp_path):
    from review_fixtures import copy_review_db

    return copy_review_db(template, tmp_path)


@pytest.fixture
def app(review):
    from pipeline.review.app import create_app

    return create_app(review.path)


@pytest.fixture(scope="session")
def installed_triage(tmp_path_factory) -> Path:
    """bv-triage built as a wheel and installed into a fresh venv outside the checkout; the venv reaches
    the project venv's installed dependencies through a .pth line (no download, no editable finder).
    Returns the venv's ``triage``."""
    import subprocess
    import sys
    import sysconfig

    root = Path(__file__).resolve().parent.parent
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
                            "--wheel-dir", str(work / "dist"), str(root)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    warnings = [line for line in (built.stdout + built.stderr).splitlines()
                if "Warning:" in line or ("warning:" in line and "byte-compiling is disabled" not in line)]
    assert warnings == [], "setuptools warned while building the wheel:\n" + "\n".join(warnings)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next((work / "dist").glob("bv_triage-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "--ignore-installed", "--quiet", str(wheel)], check=True, timeout=300)
    return venv / "bin" / "triage"


@pytest.fixture(scope="session")
def installed_demo(installed_triage, tmp_path_factory):
    """The demo corpus ingested by the installed wheel from a folder outside the checkout, as the docs'
    sample generator runs it; returns (workspace, what ``triage run`` printed)."""
    from docs_samples import load_samples

    samples = load_samples()
    workspace = samples.Workspace(tmp_path_factory.mktemp("demo"), [str(installed_triage)])
    return workspace, samples.demo_run(workspace)


@pytest.fixture
def reads_of(monkeypatch) -> Callable[[Callable], Counter]:
    """``reads_of(function)``: a Counter of the first argument of each call to ``function`` from here on, observed in
    every pipeline module that calls it by name (the real function still runs: observing, not mocking)."""

    def observe(function: Callable) -> Counter:
        calls: Counter = Counter()

        def counting(first, *args, **kwargs):
            calls[first] += 1
            return function(first, *args, **kwargs)

        for name, module in list(sys.modules.items()):
            if name.startswith("pipeline.") and getattr(module, function.__name__, None) is function:
                monkeypatch.setattr(module, function.__name__, counting)
        return calls

    return observe
