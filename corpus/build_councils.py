"""Build the national council register, ``corpus/councils.tsv``, and its provenance, ``corpus/councils.md``.

The input is the directory of UK councils and their committee-paper sites that ships beside
the project (``councils.tsv`` from the shared material, derived from DemocracyClub's LGSF and
UK-Polling-Stations; its own README says how each column was made). The register keeps the
current principal councils of England and Wales, one row per council, with the project's
authority types and, for ModernGov councils, the site's root folder (the one holding
``mgWebService.asmx``). Every row left out, and every correction, is listed in the
provenance with its reason.

    python corpus/build_councils.py [--input PATH]

The output is reproducible: the same input gives byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
from collections import Counter
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pipeline.collect.corpus import check_slug
from pipeline.collect.councils import Council
from pipeline.errors import CorpusError

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE.parent.parent / "shared" / "councils" / "councils.tsv"
REGISTER = HERE / "councils.tsv"
PROVENANCE = HERE / "councils.md"

NATIONS = ("England", "Wales")
TYPES = {  # the input's council_type in words -> the project's authority type
    "non-metropolitan district": "district",
    "metropolitan district": "metropolitan_district",
    "unitary authority": "unitary",
    "London borough": "london_borough",
    "county council": "county",
    "City of London Corporation": "city_corporation",
}
LGSF = ("DemocracyClub/LGSF", "5d40e23c6860b8be049b57a4ca9b177696a3c02f", "2026-05-30")
UKPS = ("DemocracyClub/UK-Polling-Stations", "ad62cd2a3769075644655364580068f104b9c4ae", "2026-08-12")

# Rows dropped although current, English or Welsh: (LGSF folder, reason).
NOT_PRINCIPAL = {
    "LND-alder-city-of-london-alder": "the City of London's aldermanic electorate, not a second council "
                                      "(the council is LND-city-of-london)",
    "north-northamptonshire-north-northamptonshire": "a twin folder of NNT-north-northamptonshire "
                                                     "(same EveryElection record, no scraper, no URL)",
    "GLA-greater-london": "the Greater London Authority: a strategic regional authority, not a principal "
                          "council, and no committee-paper site in the input",
    "london-london": "a second folder for the Greater London Authority (same EveryElection record)",
}
# Rows kept although marked ended, with the corrected fields: (LGSF folder) -> (fields, reason).
CORRECTIONS = {
    "SHE-folkestone-hythe": (
        {"name": "Folkestone & Hythe District Council"},
        "the folder holds the record of Shepway District Council, which was renamed Folkestone & Hythe in "
        "2018 (same GSS code, E07000112), so the input marks it ended; its ModernGov URL is the current "
        "council's. Kept as current under the name the UK-Polling-Stations 2020 councils list gives E07000112",
    ),
}
FLAGS = {
    "tls_unverified": "LGSF turns TLS certificate checks off for this site (verify_requests=False); bv-triage "
                      "never does, so expect certificate failures to be recorded until the site fixes its chain",
    "proxy": "LGSF fetches this site through a proxy (use_proxy=True): it blocks some networks, such as "
             "cloud address ranges",
    "lgsf_disabled": "LGSF has disabled its scraper for this council (no reason given), so the URL is less "
                     "certain than the others",
    "renamed": "corrected here: the input holds the predecessor council's record (see Corrections)",
    "url_trimmed": "the input's URL is a page on the ModernGov site (mgMemberIndex.aspx); the register keeps "
                   "its folder, the site root",
}


@dataclass(frozen=True)
class Excluded:
    folder: str
    name: str
    reason: str


def read_input(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def folder_of(row: dict[str, str]) -> str:
    """The LGSF folder a row came from (``scrapers/ADU-adur/metadata.json`` -> ``ADU-adur``)."""
    return row["source_path"].split()[0].split("/")[1]


def build(rows: list[dict[str, str]]) -> tuple[list[Council], list[Excluded]]:
    """The register's rows, sorted by code, and the rows left out with their reasons."""
    councils: list[Council] = []
    excluded: list[Excluded] = []
    for row in rows:
        folder = folder_of(row)
        reason = _exclusion(row, folder)
        if reason:
            excluded.append(Excluded(folder, row["name"], reason))
        else:
            councils.append(_council(row, folder))
    councils.sort(key=lambda c: c.code)
    excluded.sort(key=lambda e: e.folder.lower())
    for column in ("code", "slug", "name"):
        counts = Counter(getattr(c, column).lower() for c in councils)
        repeated = sorted(value for value, n in counts.items() if n > 1)
        if repeated:
            raise ValueError(f"two councils share a {column}: {repeated}")
    return councils, excluded


def _exclusion(row: dict[str, str], folder: str) -> str | None:
    if row["nation"] not in NATIONS:
        return f"{row['nation']}: only English and Welsh councils are in scope"
    if folder in NOT_PRINCIPAL:
        return NOT_PRINCIPAL[folder]
    if row["current"] != "yes" and folder not in CORRECTIONS:
        return f"not current: ended {row['end_date']}" if row["end_date"] else "not current"
    return None


def _council(row: dict[str, str], folder: str) -> Council:
    fixed, _ = CORRECTIONS.get(folder, ({}, ""))
    row = {**row, **fixed}
    flags = []
    if "verify_requests=False" in row["notes"]:
        flags.append("tls_unverified")
    if "use_proxy=True" in row["notes"]:
        flags.append("proxy")
    if row["lgsf_status"].startswith("disabled"):
        flags.append("lgsf_disabled")
    if folder in CORRECTIONS:
        flags.append("renamed")
    base_url = row["base_url"]
    if row["platform"] == "moderngov":
        base_url, trimmed = site_root(base_url)
        if trimmed:
            flags.append("url_trimmed")
    slug = folder.split("-", 1)[1] if "-" in folder else slugify(row["common_name"])
    try:
        check_slug(slug)
    except CorpusError as e:
        raise ValueError(f"{folder}: {slug!r} is not a usable authority slug") from e
    if row["council_type"] not in TYPES:
        raise ValueError(f"{folder}: no authority type for council_type {row['council_type']!r}")
    return Council(code=row["code"], slug=slug, name=row["name"], gss=row["gss"], nation=row["nation"],
                   type=TYPES[row["council_type"]], platform=row["platform"], base_url=base_url,
                   flags=",".join(flags))


def slugify(name: str) -> str:
    """``Cambridgeshire`` -> ``cambridgeshire``, for the two LGSF folders named by code alone."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def site_root(url: str) -> tuple[str, bool]:
    """A ModernGov site's root folder, and whether a page or query had to be cut off to find it."""
    parts = urlsplit(url.strip())
    path = parts.path
    trimmed = bool(parts.query) or path.lower().endswith(".aspx")
    if path.lower().endswith(".aspx"):
        path = path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", "")), trimmed


def render_register(councils: list[Council]) -> str:
    header = "\t".join(f.name for f in fields(Council))
    return "\n".join([header, *("\t".join(astuple(c)) for c in councils)]) + "\n"


def render_provenance(councils: list[Council], excluded: list[Excluded], input_sha256: str) -> str:
    by_nation = Counter(c.nation for c in councils)
    by_platform = Counter(c.platform for c in councils)
    by_type = Counter(c.type for c in councils)
    by_flag = Counter(flag for c in councils for flag in c.flags.split(",") if flag)
    out_of_scope = Counter(e.reason for e in excluded if e.reason.endswith("are in scope"))
    ended = [e for e in excluded if e.reason.startswith("not current")]
    named = [e for e in excluded if e.folder in NOT_PRINCIPAL]
    lines = [
        "# The national council register (`corpus/councils.tsv`)",
        "",
        "Generated by `python corpus/build_councils.py`; do not edit by hand (a test rebuilds it and compares).",
        "",
        "## What it is",
        "",
        f"The current principal councils of England and Wales: {len(councils)} rows "
        f"({', '.join(f'{n} {k}' for k, n in sorted(by_nation.items()))}), one per council, sorted by code. "
        "`triage sources add --council CODE|NAME` and `--all-moderngov` make sources from it, and "
        "`triage sources list --available` lists it.",
        "",
        "| column | meaning |",
        "|---|---|",
        "| code | the council's register code as LGSF uses it (the folder name up to the first `-`) |",
        "| slug | the authority slug bv-triage gives the council: the rest of the LGSF folder name (CAM and LEC, "
        "whose folders are the bare code, take theirs from the common name) |",
        "| name | the official name (EveryElection's, through LGSF) |",
        "| gss | the ONS/GSS code, empty when no source gives one (the 21 county councils, Cumberland, "
        "North Yorkshire) |",
        "| nation | England or Wales |",
        "| type | " + ", ".join(f"`{v}` ({k})" for k, v in TYPES.items()) + " |",
        "| platform | `moderngov`, `cmis`, `other` (a custom site) or `unknown`, from the LGSF scraper class |",
        "| base_url | for ModernGov, the site root (the folder holding `mgWebService.asmx`); otherwise LGSF's "
        "URL, usually a councillors page, not a committee-papers site |",
        "| flags | comma-separated, see below |",
        "",
        "Counts: " + ", ".join(f"{n} {k}" for k, n in sorted(by_platform.items())) + "; "
        + ", ".join(f"{n} {k}" for k, n in sorted(by_type.items())) + ".",
        "",
        "## Flags",
        "",
        *(f"- `{flag}` ({_rows(by_flag.get(flag, 0))}): {text}." for flag, text in FLAGS.items()),
        "",
        "## Sources",
        "",
        "- Input: the councils directory `councils.tsv` (435 rows, built 2026-12-02 from stored snapshots, "
        f"no network), sha256 `{input_sha256}`.",
        f"- Which it derived from: [{LGSF[0]}](https://github.com/{LGSF[0]}) at commit `{LGSF[1]}` ({LGSF[2]}): "
        "council codes, names, types, nations, platforms and site URLs (`scrapers/<CODE>-<slug>/metadata.json` "
        "and `councillors.py`); and "
        f"[{UKPS[0]}](https://github.com/{UKPS[0]}) at commit `{UKPS[1]}` ({UKPS[2]}) and its history: GSS codes.",
        "- None of the URLs were checked live.",
        "",
        "## Licence",
        "",
        "LGSF is published under the MIT licence (Copyright (c) 2018 Democracy Club). GSS codes are ONS "
        "identifiers, Crown copyright, under the Open Government Licence v3.0. The register holds facts only "
        "(names, codes, URLs); no code of either project was copied or run.",
        "",
        "## Excluded",
        "",
        *(f"- {_rows(n)}: {reason}." for reason, n in sorted(out_of_scope.items())),
        f"- {len(ended)} ended councils (abolished or merged; `end_date` before the input was built): "
        + ", ".join(e.folder for e in ended) + ".",
        *(f"- `{e.folder}` ({e.name}): {e.reason}." for e in named),
        "",
        "## Corrections",
        "",
        *(f"- `{folder}`: {reason}." for folder, (_, reason) in CORRECTIONS.items()),
        "- `LND-city-of-london`: the input already takes the name and type from the aldermanic folder, because "
        "LGSF's metadata there holds the Greater London Authority's record.",
        "- The disabled LGSF scrapers of current councils are kept (flag `lgsf_disabled`); LGSF gives no reason.",
        "",
    ]
    return "\n".join(lines)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def write(input_path: Path, register: Path = REGISTER, provenance: Path = PROVENANCE) -> tuple[int, int]:
    """Build both files from ``input_path``; returns (rows kept, rows excluded)."""
    councils, excluded = build(read_input(input_path))
    digest = hashlib.sha256(input_path.read_bytes()).hexdigest()
    register.write_text(render_register(councils), encoding="utf-8", newline="\n")
    provenance.write_text(render_provenance(councils, excluded, digest), encoding="utf-8", newline="\n")
    return len(councils), len(excluded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="the councils directory's councils.tsv")
    args = parser.parse_args()
    kept, dropped = write(args.input)
    print(f"{REGISTER.relative_to(HERE.parent)}: {kept} councils ({dropped} input rows excluded)")


if __name__ == "__main__":
    main()
