import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline.errors import TaxonomyError
from pipeline.paths import TAXONOMY_DIR
from pipeline.taxonomy import load_taxonomy, parse_taxonomy

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"


def test_bv_2023_counts_and_known_ids():
    tax = load_taxonomy("bv-2023-draft")
    assert len(tax.entries) == 136
    assert sum(not e.is_failure for e in tax.entries) == 60
    assert sum(e.is_failure for e in tax.entries) == 76
    assert [t.id for t in tax.themes] == ["CI", "L", "G", "C", "R", "SD", "PCE"]
    assert tax.entry("CI001").text.startswith("There is an organisational-wide approach to continuous improvement")
    assert tax.entry("R-F09").text == "An authority that has issued a Section 114 Notice."
    assert tax.entry("CI-F01").text == "A culture of denial and lack of openness to constructive advice and challenge."
    assert "all-out elections" in tax.entry("L009").text
    assert tax.entry("C003").text.startswith("Civil working relationships (and communication) between Group Leaders")
    assert "Open Government Licence v3.0" in tax.attribution
    for theme in tax.themes:
        assert theme.description


def test_wales_2013_loads_with_group_counts():
    tax = load_taxonomy("wales-2013")
    counts = {g: sum(e.theme == g for e in tax.entries) for g in "OADIES"}
    assert counts == {"O": 8, "A": 8, "D": 6, "I": 3, "E": 22, "S": 8}
    assert all(e.kind == "failure_indicator" and re.match(r"^WAL-[OADIES]\d\d$", e.id) for e in tax.entries)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present")
def test_data_files_match_the_seed_texts():
    import importlib.util

    spec = importlib.util.spec_from_file_location("taxonomy_build", TAXONOMY_DIR / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.render(build.build_bv_2023(next(SEEDS.glob("000_*.txt")))) == (
        TAXONOMY_DIR / "bv-2023-draft.yaml").read_text(encoding="utf-8")
    assert build.render(build.build_wales_2013(next(SEEDS.glob("002_*.txt")))) == (
        TAXONOMY_DIR / "wales-2013.yaml").read_text(encoding="utf-8")


def _mutated(change) -> str:
    data = yaml.safe_load((TAXONOMY_DIR / "bv-2023-draft.yaml").read_text())
    change(data)
    return yaml.safe_dump(data)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["entries"].append(dict(d["entries"][0])), "duplicate entry id 'CI001'"),
    (lambda d: d["entries"][0].update(id="CI1"), "does not follow the id pattern"),
    (lambda d: d["entries"][0].update(kind="strength"), "has kind 'strength'"),
    (lambda d: d["entries"][0].update(kind="failure_indicator"), "which its id contradicts"),
    (lambda d: d["entries"][0].update(text="  "), "has no text"),
    (lambda d: d["entries"].pop(), "expected 6 and 6"),
    (lambda d: d.pop("attribution"), "lacks 'attribution'"),
    (lambda d: d["entries"][0].update(theme="ZZ"), "unknown theme 'ZZ'"),
])
def test_loader_rejects_invalid_files_with_a_clear_message(change, message):
    with pytest.raises(TaxonomyError, match=re.escape(message)):
        parse_taxonomy(_mutated(change), expected_id="bv-2023-draft")


def test_unknown_taxonomy_names_the_available_ones():
    with pytest.raises(TaxonomyError, match="available: bv-2023-draft, wales-2013"):
        load_taxonomy("bv-2099")


def test_content_hash_changes_with_entry_text():
    original = (TAXONOMY_DIR / "bv-2023-draft.yaml").read_text()
    edited = parse_taxonomy(_mutated(lambda d: d["entries"][5].update(text="Changed.")))
    assert parse_taxonomy(original).content_hash == load_taxonomy().content_hash
    assert edited.content_hash != load_taxonomy().content_hash


def test_cli_export_prints_136_valid_records():
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(app, ["taxonomy", "export", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 136
    assert {tuple(r) for r in records} == {("taxonomy", "id", "theme", "kind", "text")}
    by_id = {r["id"]: r for r in records}
    assert by_id["R-F09"] == {"taxonomy": "bv-2023-draft", "id": "R-F09", "theme": "R",
                              "kind": "failure_indicator", "text": "An authority that has issued a Section 114 Notice."}
    assert by_id["CI001"]["kind"] == "characteristic"
    wales = CliRunner().invoke(app, ["taxonomy", "export", "--taxonomy", "wales-2013", "--format", "jsonl"])
    assert wales.exit_code == 0 and len(wales.stdout.splitlines()) == 55


def test_cli_show_and_list():
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["taxonomy", "show", "R-F09"])
    assert shown.exit_code == 0 and "Section 114 Notice" in shown.stdout and "Use of resources" in shown.stdout
    missing = runner.invoke(app, ["taxonomy", "show", "R-F99"])
    assert missing.exit_code == 1 and "no entry 'R-F99'" in missing.stderr
    listed = runner.invoke(app, ["taxonomy", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "Partnerships and community engagement" in listed.stdout


def test_exemplars_file_covers_every_entry():
    data = yaml.safe_load(Path(TAXONOMY_DIR / "bv-2023-draft.exemplars.yaml").read_text())
    ids = [e.id for e in load_taxonomy().entries]
    assert list(data["entries"]) == ids
    assert all(len(v["exemplars"]) >= 3 and len(v["paraphrases"]) >= 3 for v in data["entries"].values())
