import hashlib
import subprocess
import sys

import pytest
import yaml

from pipeline.collect.corpus import discover, load_register
from pipeline.domain import DOCUMENT_KINDS
from pipeline.errors import CorpusError
from pipeline.paths import CORPUS_DIR, DEMO_CORPUS


def test_bundled_corpus_meets_its_brief():
    authorities, sources = discover([DEMO_CORPUS])
    assert len(authorities) >= 3 and len(sources) >= 12
    kinds = {s.kind for s in sources}
    assert {"committee_report", "minutes", "audit_report", "ombudsman_decision",
            "annual_governance_statement"} <= kinds
    assert kinds <= set(DOCUMENT_KINDS)
    assert {s.path.suffix for s in sources} == {".pdf", ".html", ".docx"}
    assert all(s.date and s.title for s in sources)
    assert {a.slug for a in authorities} == {s.authority for s in sources}


def test_manifest_lists_exactly_the_files_present():
    manifest = yaml.safe_load((DEMO_CORPUS / "manifest.yaml").read_text())
    listed = {row["file"] for row in manifest["documents"]}
    present = {str(p.relative_to(DEMO_CORPUS)) for p in DEMO_CORPUS.rglob("*") if p.is_file()
               and p.name not in ("manifest.yaml", "authorities.yaml")}
    assert listed == present


@pytest.mark.slow
def test_corpus_build_is_reproducible(tmp_path):
    """The build script regenerates the committed documents byte for byte."""
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in DEMO_CORPUS.rglob("*") if p.is_file()}
    subprocess.run([sys.executable, str(CORPUS_DIR / "build.py")], check=True, capture_output=True)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in DEMO_CORPUS.rglob("*") if p.is_file()}
    assert after == before


def test_documents_outside_a_manifest_need_an_authority(tmp_path):
    (tmp_path / "paper.txt").write_text("The Council set a balanced budget.")
    with pytest.raises(CorpusError, match="pass --authority"):
        discover([tmp_path])
    authorities, sources = discover([tmp_path], authority="new-council")
    assert [a.slug for a in authorities] == ["new-council"]
    assert sources[0].authority == "new-council"


def test_missing_path_and_bad_slug_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such file or folder"):
        discover([tmp_path / "nope"])
    with pytest.raises(CorpusError, match="invalid authority slug"):
        discover([tmp_path], authority="Bad Slug!")


def test_register_rejects_unknown_types(tmp_path):
    register = tmp_path / "authorities.yaml"
    register.write_text(yaml.safe_dump([{"slug": "x", "name": "X", "type": "kingdom"}]))
    with pytest.raises(CorpusError, match="unknown type 'kingdom'"):
        load_register(register)


def test_manifest_cannot_point_outside_its_folder(tmp_path):
    (tmp_path / "authorities.yaml").write_text(yaml.safe_dump([{"slug": "x", "name": "X"}]))
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(
        {"documents": [{"file": "../../etc/passwd", "authority": "x"}]}))
    (tmp_path / "a.txt").write_text("text")
    with pytest.raises(CorpusError, match="outside the manifest's folder"):
        discover([tmp_path], authority="x")
