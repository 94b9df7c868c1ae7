"""Discover documents linked from a plain listing page (an audit or governance page, a news list).

For councils without ModernGov, or papers published outside it: one page is read and
the links that look like documents and match the configured patterns are kept.
Nothing is crawled beyond that page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup

from pipeline.collect.http import PoliteClient, absolute_url
from pipeline.collect.refs import DocumentRef, Failure
from pipeline.errors import ScrapeError
from pipeline.text import squash_space

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = frozenset({".pdf", ".docx", ".htm", ".html", ""})  # "" is a page such as /news/some-report


class ListingScraper:
    """Yields the documents linked from ``page_url`` whose URL or link text matches any pattern.

    Patterns are case-insensitive regular expressions searched in the absolute URL and in the
    link text. Only PDF, DOCX and HTML links on allowed hosts are kept.
    """

    def __init__(self, client: PoliteClient, page_url: str, patterns: list[str]) -> None:
        if not patterns:
            raise ScrapeError(f"{page_url}: give at least one pattern, or every link on the page would be taken")
        self.client = client
        self.page_url = client.canonical_url(page_url)
        try:
            self._patterns = [re.compile(pattern, re.IGNORECASE) for pattern in patterns]
        except re.error as e:
            raise ScrapeError(f"{page_url}: invalid link pattern: {e}") from e

    def discover(self) -> Iterator[DocumentRef | Failure]:
        """The matching links, or one ``Failure`` when the page itself cannot be read."""
        try:
            result = self.client.get(self.page_url)
        except ScrapeError as e:
            yield Failure.of(self.page_url, "listing", e)
            return
        soup = BeautifulSoup(result.content or b"", "lxml")
        base = result.url
        if soup.base and soup.base.get("href"):
            base = urljoin(base, str(soup.base["href"]))
        seen: set[str] = set()
        for link in soup.select("a[href]"):
            url = self._document_url(base, str(link["href"]))
            text = squash_space(link.get_text(" "))
            if url is None or url in seen or url == self.page_url:
                continue
            if not any(pattern.search(url) or pattern.search(text) for pattern in self._patterns):
                continue
            seen.add(url)
            yield DocumentRef(url=url, title=text or str(link.get("title") or "") or _file_name(url))

    def _document_url(self, base: str, href: str) -> str | None:
        """The absolute URL when the link is a document on an allowed host, else None."""
        absolute = absolute_url(base, href)
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https"):
            return None  # mailto:, javascript:, tel:
        if PurePosixPath(unquote(parts.path)).suffix.lower() not in DOCUMENT_SUFFIXES:
            return None
        if not self.client.allows(absolute):
            log.info("skipping %s: not on an allowed host", absolute)
            return None
        return self.client.canonical_url(absolute)


def _file_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name) or url
