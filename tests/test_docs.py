"""The docs cannot go stale: the MkDocs site builds strictly, and every sample output in the README and
docs is what the commands print today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from docs_samples import load_samples

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout

pytestmark = pytest.mark.slow  # builds the site, and runs the demo for its samples


def test_mkdocs_builds_strictly(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for page in ("analysts", "operators", "feed", "model-card", "labelling", "commands"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page


def test_sample_blocks_are_found_and_unknown_names_refused():
    samples = load_samples()
    text = "before\n<!-- sample: run -->\nold\n<!-- /sample -->\nafter\n"
    assert samples.render(text, {"run": "new\n"}) == "before\n<!-- sample: run -->\nnew\n<!-- /sample -->\nafter\n"
    with pytest.raises(KeyError, match="unknown sample 'nope'"):
        samples.render("<!-- sample: nope -->\n<!-- /sample -->", {"run": ""})
    used = {m["name"] for path in samples.documents() for m in samples.MARKER.finditer(path.read_text())}
    assert used == set(samples.SAMPLES), "every sample is shown somewhere, and every block has a generator"


def test_readme_and_docs_samples_match_a_fresh_demo_run(installed_demo):
    samples = load_samples()
    generated = samples.generate(*installed_demo)
    assert "Evidence by authority" in generated["run"] and "brackenmoor" in generated["run"]
    problems = samples.drifted(generated)
    if problems and (why := samples.other_processor()):
        pytest.skip(f"{why}, and {len(problems)} sample blocks differ; `python docs/samples.py --check` lists them")
    assert not problems, "sample outputs drifted (run `python docs/samples.py` and commit):\n" + "\n".join(problems)
