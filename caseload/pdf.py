"""PDFs of pages, by WeasyPrint. Imported only when a PDF is asked for, so the
application runs where WeasyPrint's system libraries are missing."""

from __future__ import annotations

import mimetypes

from django.contrib.staticfiles import finders
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

BASE_URL = "https://caseload.invalid/"
STATIC_PREFIX = f"{BASE_URL}static/"


class StaticFilesOnly(URLFetcher):
    """Resolve our own static files from disk; fetch nothing over the network."""

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if not url.startswith(STATIC_PREFIX):
            raise ValueError(f"Not fetched while making a PDF: {url}")
        path = finders.find(url.removeprefix(STATIC_PREFIX).split("?")[0])
        if path is None:
            raise ValueError(f"No static file for {url}")
        with open(path, "rb") as handle:
            body = handle.read()
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def html_to_pdf(html: str) -> bytes:
    """A tagged PDF/UA-1 document: its headings, lists and tables marked for
    screen readers, its language and title (the page's <html lang> and
    <title>) in its metadata."""
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnly()).write_pdf(
        pdf_variant="pdf/ua-1", pdf_tags=True
    )
