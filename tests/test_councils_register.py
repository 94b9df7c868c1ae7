"""The national council register (corpus/councils.tsv): what it holds, and that its script rebuilds it."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import random
import re
import sys
from pathlib import Path

import pytest

from pipeline.paths import CORPUS_DIR

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout

REGISTER = CORPUS_DIR / "councils.tsv"
PROVENANCE = CORPUS_DIR / "councils.md"
INPUT = PROJECT_ROOT.parent / "shared" / "councils" / "councils.tsv"
needs_input = pytest.mark.skipif(not INPUT.is_file(), reason="../shared/councils/councils.tsv is not present")
COLUMNS = ["code", "slug", "name", "gss", "nation", "type", "platform", "base_url", "flags"]


def _builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_councils", CORPUS_DIR / "build_councils.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def shipped() -> list[dict[str, str]]:
    return _rows(REGISTER)


def test_register_is_every_current_english_and_welsh_principal_council_once(shipped):
    assert list(shipped[0]) == COLUMNS
    nations = [row["nation"] for row in shipped]
    # 317 English principal councils (Folkestone & Hythe included) and the 22 Welsh ones
    assert (nations.count("England"), nations.count("Wales"), len(shipped)) == (317, 22, 339)
    for column in ("code", "slug", "name"):
        values = [row[column].lower() for row in shipped]
        assert len(set(values)) == len(values), column
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", row["slug"]) for row in shipped)
    assert {row["type"] for row in shipped} == {"district", "metropolitan_district", "unitary", "london_borough",
                                                "county", "city_corporation"}
    assert all(re.fullmatch(r"[EW]0[6-9]\d{6}", row["gss"]) for row in shipped if row["gss"])
    assert [row["code"] for row in shipped] == sorted(row["code"] for row in shipped)


def test_moderngov_rows_carry_the_site_root(shipped):
    moderngov = [row for row in shipped if row["platform"] == "moderngov"]
    assert len(moderngov) == 296
    for row in moderngov:
        assert re.fullmatch(r"https?://[a-z0-9.-]+(/[A-Za-z0-9_-]+)*", row["base_url"]), row


@pytest.mark.parametrize(("code", "expected"), [
    # checked by hand against LGSF's metadata.json and the councils README
    ("ADU", {"slug": "adur", "name": "Adur District Council", "gss": "E07000223", "nation": "England",
             "type": "district", "platform": "moderngov", "base_url": "https://democracy.adur-worthing.gov.uk"}),
    ("BRY", {"slug": "bromley", "type": "london_borough", "base_url": "https://cds.bromley.gov.uk",
             "flags": "url_trimmed"}),
    ("SHE", {"slug": "folkestone-hythe", "name": "Folkestone & Hythe District Council", "gss": "E07000112",
             "base_url": "http://www.folkestone-hythe.gov.uk/moderngov", "flags": "renamed"}),
    ("LND", {"name": "City of London Corporation", "type": "city_corporation", "gss": "E09000001"}),
    ("CAM", {"slug": "cambridgeshire", "type": "county", "platform": "cmis", "gss": ""}),
    ("GWN", {"name": "Gwynedd Council", "gss": "W06000002", "nation": "Wales", "type": "unitary"}),
    ("TEW", {"platform": "moderngov", "flags": "lgsf_disabled"}),
])
def test_hand_checked_rows(shipped, code, expected):
    row = next(row for row in shipped if row["code"] == code)
    assert {key: row[key] for key in expected} == expected


def test_site_root_cuts_pages_and_queries_only():
    site_root = _builder().site_root
    assert site_root("https://cds.bromley.gov.uk/mgMemberIndex.aspx?FN=ALPHA&VW=LIST&PIC=0") == (
        "https://cds.bromley.gov.uk", True)
    assert site_root("https://www.southampton.gov.uk/moderngov/") == ("https://www.southampton.gov.uk/moderngov", False)
    assert site_root("https://lbbd.moderngov.co.uk/") == ("https://lbbd.moderngov.co.uk", False)


@needs_input
def test_script_rebuilds_the_shipped_register_and_provenance(tmp_path):
    builder = _builder()
    register, provenance = tmp_path / "councils.tsv", tmp_path / "councils.md"
    kept, excluded = builder.write(INPUT, register, provenance)
    assert (kept, kept + excluded) == (339, 435)
    assert register.read_bytes() == REGISTER.read_bytes()
    assert provenance.read_bytes() == PROVENANCE.read_bytes()


@needs_input
def test_a_sample_of_rows_matches_the_councils_directory(shipped):
    source = _rows(INPUT)
    for row in random.Random(20261202).sample(shipped, 40):
        candidates = [r for r in source if r["code"] == row["code"] and r["base_url"]]
        assert len(candidates) == 1, row["code"]
        original = candidates[0]
        assert original["current"] == "yes" or "renamed" in row["flags"]
        assert original["nation"] == row["nation"]
        assert original["gss"] == row["gss"]
        assert original["platform"] == row["platform"]
        if "renamed" not in row["flags"]:
            assert original["name"] == row["name"]
        assert original["base_url"].rstrip("/").startswith(row["base_url"])
        assert f"scrapers/{row['code']}" in original["source_path"]


# --- sources made from the register -------------------------------------------------------------------

def _triage(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from pipeline.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_sources_add_council_by_code_or_name_and_a_cmis_council_is_refused(tmp_path):
    import yaml

    register = tmp_path / "sources.yaml"
    assert _triage("sources", "add", "--council", "ADU", "--register", register).exit_code == 0
    assert _triage("sources", "add", "--council", "isle of anglesey county council", "--register",
                   register).exit_code == 0
    rows = yaml.safe_load(register.read_text())["sources"]
    assert rows == [
        {"id": "adur-moderngov", "authority": "adur", "kind": "moderngov",
         "base_url": "https://democracy.adur-worthing.gov.uk", "council": "ADU"},
        {"id": "isle-of-anglesey-moderngov", "authority": "isle-of-anglesey", "kind": "moderngov",
         "base_url": "https://democracy.anglesey.gov.uk", "council": "AGY"},
    ]  # the default rolling window and schedule, so not written out
    cmis = _triage("sources", "add", "--council", "CAM", "--register", register)
    assert cmis.exit_code == 1 and len(cmis.stderr.strip().splitlines()) == 1
    assert "Cambridgeshire County Council (CAM) publishes its papers on CMIS" in cmis.stderr
    unknown = _triage("sources", "add", "--council", "Atlantis", "--register", register)
    assert unknown.exit_code == 1 and "no council 'Atlantis'" in unknown.stderr
    assert len(yaml.safe_load(register.read_text())["sources"]) == 2


def test_sources_list_available_prints_one_line_per_council(shipped):
    result = _triage("sources", "list", "--available", "--platform", "moderngov")
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(lines) == 296
    assert "ADU\tAdur District Council\tmoderngov\thttps://democracy.adur-worthing.gov.uk" in lines
    assert all(line.split("\t")[2] == "moderngov" for line in lines)
    assert len(_triage("sources", "list", "--available").stdout.splitlines()) == len(shipped)


@pytest.mark.slow  # Prefect deployments for every council
def test_all_moderngov_gives_one_staggered_deployment_per_council(tmp_path):
    from flows.serve import build_deployments
    from pipeline.collect.sources import load_register

    register = tmp_path / "sources.yaml"
    added = _triage("sources", "add", "--all-moderngov", "--register", register)
    assert added.exit_code == 0 and "296 ModernGov councils added" in added.stdout
    again = _triage("sources", "add", "--all-moderngov", "--register", register)
    assert "0 ModernGov councils added" in again.stdout  # nothing twice
    sources = load_register(register).sources
    *scrapes, _learn = build_deployments(load_register(register), str(tmp_path / "t.db"))
    assert len(scrapes) == len(sources) == 296
    starts = sorted(int(h) * 60 + int(m) for d in scrapes for m, h, *_ in [d.schedules[0].schedule.cron.split()])
    assert len(set(starts)) == 296 and starts[0] == 0 and starts[-1] < 6 * 60  # one a minute or so, 00:00-05:59
    shared = sorted(int(s.schedule.split()[1]) * 60 + int(s.schedule.split()[0]) for s in sources
                    if s.base_url.endswith(".moderngov.co.uk"))
    assert len(shared) == 66 and min(b - a for a, b in itertools.pairwise(shared)) >= 4
    dry = _triage("flows", "serve", "--dry-run", "--register", register, "--db", tmp_path / "t.db")
    assert dry.exit_code == 0 and len([ln for ln in dry.stdout.splitlines() if ln.startswith("scrape-")]) == 296


def test_authorities_made_from_the_register_carry_name_type_nation_and_gss(tmp_path):
    from flows.scrape import source_authorities
    from pipeline.collect.councils import find_council, load_councils
    from pipeline.store import Store

    source = find_council(load_councils(), "GWN").source()
    [authority] = source_authorities([source], str(tmp_path / "t.db"), REGISTER).values()
    with Store(tmp_path / "t.db") as store:
        store.upsert_authorities([authority])
        row = store.db["authorities"].get("gwynedd")
    assert {k: row[k] for k in ("name", "type", "nation", "gss")} == {
        "name": "Gwynedd Council", "type": "unitary", "nation": "Wales", "gss": "W06000002"}
