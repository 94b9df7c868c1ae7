"""ListingScraper on a plain council page, and a discovered document downloaded into the BlobStore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scrape_site import FakeSite, local_client, send

from pipeline.collect.blobs import BlobStore
from pipeline.collect.listing import ListingScraper
from pipeline.collect.refs import DocumentRef
from pipeline.errors import ForbiddenHost, ScrapeError

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Audit and governance - Brackenmoor Borough Council</title></head>
<body>
<nav><a href="/brackenmoor/">Home</a> <a href="/brackenmoor/contact">Contact us</a></nav>
<main>
<h1>Audit and governance</h1>
<ul>
  <li><a href="/brackenmoor/documents/annual-governance-statement-2024-25.pdf">Annual Governance Statement
    2024/25 (PDF, 310 KB)</a></li>
  <li><a href="files/Statement of Accounts 2024-25.pdf">Draft accounts</a></li>
  <li><a href="files/auditors-annual-report.docx">Auditor&#39;s Annual Report 2024/25</a></li>
  <li><a href="reports/value-for-money-review">Value for money review (web page)</a></li>
  <li><a href="files/parking-permits.pdf">Parking permits leaflet</a></li>
  <li><a href="files/governance-data.xlsx">Governance data (spreadsheet)</a></li>
  <li><a href="https://www.psaa.co.uk/audit-quality/annual-governance-review.pdf">PSAA annual governance review</a></li>
  <li><a href="mailto:audit@brackenmoor.gov.uk">Email the governance team</a></li>
  <li><a href="/brackenmoor/documents/annual-governance-statement-2024-25.pdf#page=3">AGS, section 3</a></li>
  <li><a href="#top">Back to top</a></li>
</ul>
</main></body></html>
"""
PATTERNS = [r"governance", r"accounts", r"annual report", r"value for money"]


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as fake:
        fake.routes["/brackenmoor/audit-and-governance"] = lambda r: send(r, 200, PAGE.encode())
        yield fake


def test_listing_yields_matching_documents_on_allowed_hosts(site: FakeSite) -> None:
    base = site.base()
    with local_client(site) as client:
        refs = list(ListingScraper(client, base + "audit-and-governance", PATTERNS).discover())
    assert refs == [
        DocumentRef(
            url=base + "documents/annual-governance-statement-2024-25.pdf",
            title="Annual Governance Statement 2024/25 (PDF, 310 KB)",
        ),
        DocumentRef(url=base + "files/Statement%20of%20Accounts%202024-25.pdf", title="Draft accounts"),
        DocumentRef(url=base + "files/auditors-annual-report.docx", title="Auditor's Annual Report 2024/25"),
        DocumentRef(url=base + "reports/value-for-money-review", title="Value for money review (web page)"),
    ]
    assert site.paths() == ["/robots.txt", "/brackenmoor/audit-and-governance"]  # links are not fetched


def test_discovered_document_downloads_into_the_blob_store(site: FakeSite, tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with local_client(site) as client:
        [ref] = ListingScraper(client, site.base() + "audit-and-governance", [r"statement-2024"]).discover()
        result = client.get(ref.url)
    assert result.content is not None and result.content.startswith(b"%PDF")
    sha = store.put(result.content)
    assert store.path(sha).is_file()
    with store.open(sha) as blob:
        assert blob.read() == result.content


def test_listing_page_must_be_on_an_allowed_host(site: FakeSite) -> None:
    with local_client(site) as client, pytest.raises(ForbiddenHost):
        ListingScraper(client, "https://www.brackenmoor.gov.uk/audit", PATTERNS)


@pytest.mark.parametrize("patterns", [[], ["governance", "(unclosed"]])
def test_listing_needs_valid_patterns(site: FakeSite, patterns: list[str]) -> None:
    with local_client(site) as client, pytest.raises(ScrapeError, match="pattern"):
        ListingScraper(client, site.base() + "audit-and-governance", patterns)
