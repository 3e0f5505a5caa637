"""PDF files made from the portal's own HTML templates (WeasyPrint), with nothing fetched from anywhere.

The HTML holds strings from health systems' records. Autoescaping keeps them text, and the fetcher below
refuses every URL whatever its scheme (http, https, file, data), so that no string in a record, and no
mistake in a template, can make the server fetch a page, read a local file or call a service on its network.
Styles are inline in the template and fonts are the system's own (fonts-dejavu-core in the image).
"""

from __future__ import annotations

from typing import Any

from weasyprint import HTML, URLFetcher


class UrlRefusedError(ValueError):
    """A document asked for a URL; documents made here never fetch anything."""


class RefuseEveryUrl(URLFetcher):
    """A WeasyPrint fetcher that fetches nothing: the resource is left out and the document still renders."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise UrlRefusedError("documents fetch nothing")


def render_pdf(html: str) -> bytes:
    """The PDF of a page of HTML (text and inline styles only), tagged for screen readers."""
    document = HTML(string=html, base_url=None, url_fetcher=RefuseEveryUrl())
    return bytes(document.write_pdf(pdf_tags=True))
