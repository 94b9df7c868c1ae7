"""Browser tests' plumbing: the review app served by uvicorn on a free loopback port, Debian's chromium
driven by Playwright (never Playwright's own browsers), axe-core from npm for the accessibility check,
and screenshots under test-artifacts/."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from pipeline.review.app import create_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
DOCS_IMAGES = PROJECT_ROOT / "docs" / "images"
AXE_DIR = Path(__file__).parent / "axe"  # package.json and its lock pin axe-core; node_modules is not in git
AXE_FILE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                    "(apt-get install chromium); Playwright's own browsers are not used")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(db_path: Path, **options: Any) -> Iterator[str]:
    """The review app over ``db_path`` on a free loopback port, for as long as the block runs; yields its URL."""
    port = free_port()
    config = uvicorn.Config(create_app(db_path, **options), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@cache
def axe_source() -> str:
    """axe-core's built file, installed from the lock file with `npm ci` on first use."""
    if not AXE_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("the accessibility check needs npm (apt-get install npm) to install axe-core")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=AXE_DIR, check=True,
                       timeout=300)
    return AXE_FILE.read_text(encoding="utf-8")


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())  # evaluated through the debugger, so the page's CSP does not apply
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{json.dumps([node['target'] for node in v['nodes']][:3])}"
            for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]


def screenshot(page: Any, name: str, full_page: bool = True, docs: bool = False) -> Path:
    """A screenshot under test-artifacts/; with ``docs``, and `make screenshots` running the tests, also the
    documentation's copy (the visible part of the page only, to keep the committed file small)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if docs and os.environ.get("BV_TRIAGE_DOCS_SCREENSHOTS") == "1":
        from PIL import Image

        DOCS_IMAGES.mkdir(exist_ok=True)
        shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
        shot.quantize(colors=64).save(DOCS_IMAGES / f"{name}.png", optimize=True)  # a page needs few colours
    return path
