from pathlib import Path

from pipeline.domain import DocumentSource
from pipeline.extract import extract_bytes
from pipeline.extract.metadata import guess_metadata
from pipeline.store import Store


def _html(title: str, body: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>".encode()


def test_date_from_file_name_beats_dates_in_the_text():
    document = extract_bytes(_html("Cabinet minutes", "<p>Meeting held on 3 March 2023.</p>"), "x.html")
    guess = guess_metadata(document, "2024-02-20-cabinet-minutes.html")
    assert guess.date.value == "2024-02-20" and guess.date.confidence >= 0.9
    assert guess.kind.value == "minutes"


def test_labelled_and_wordy_dates_in_the_text():
    labelled = extract_bytes(_html("Report", "<p>Issued 1 May 2020.</p><p>Date of meeting: 14th July 2023</p>"),
                             "r.html")
    assert guess_metadata(labelled, "report.html").date.value == "2023-07-14"
    plain = extract_bytes(_html("Report", "<p>The review took place on 9 Sept 2022 at the Town Hall.</p>"),
                          "r.html")
    guess = guess_metadata(plain, "report.html").date
    assert guess.value == "2022-09-09" and guess.confidence < 0.9
    undated = extract_bytes(_html("Report", "<p>No date is given here at all.</p>"), "r.html")
    assert guess_metadata(undated, "report.html").date.value is None


def test_kind_from_title_and_content():
    cases = {
        "Annual Governance Statement 2023/24": "annual_governance_statement",
        "Auditor's Annual Report 2022/23": "audit_report",
        "Corporate Risk Register": "risk_register",
        "Revenue Budget Monitoring Quarter 2": "budget_report",
    }
    for title, kind in cases.items():
        document = extract_bytes(_html(title, "<p>Some text about the Council.</p>"), "doc.html")
        assert guess_metadata(document, "doc.html").kind.value == kind, title
    ombudsman = extract_bytes(_html("Decision", "<p>Complaint reference: 23 008 517. We find fault causing "
                                    "injustice.</p>"), "doc.html")
    assert guess_metadata(ombudsman, "doc.html").kind.value == "ombudsman_decision"


def test_manifest_values_override_guesses_in_the_store(tmp_path: Path):
    path = tmp_path / "2024-01-02-minutes.html"
    path.write_bytes(_html("Cabinet minutes", "<p>The Council agreed the budget.</p>"))
    document = extract_bytes(path.read_bytes(), path.name)
    metadata = guess_metadata(document, path.name)
    with Store(tmp_path / "t.db") as store:
        store.db["authorities"].insert({"slug": "x", "name": "X"})
        store.save_document(DocumentSource(path, "x", kind="committee_report"), document, metadata, [], "3", {}, "m")
        row = store.db["documents"].get(document.sha256)
    assert (row["kind"], row["kind_confidence"]) == ("committee_report", 1.0)
    assert (row["date"], row["date_confidence"]) == ("2024-01-02", 0.9)
    assert row["metadata_source"] == "manifest+guess"
