"""What a page weighs on the wire: its HTML and every same-origin file it makes a browser fetch, gzipped.

A browser fetches the stylesheets, scripts, icons and images the HTML references, and what the stylesheets
reference in turn (url(), @import); each is counted once, compressed with gzip at level 6 (what servers and
proxies commonly use; WhiteNoise's precompressed files are a little smaller). Links people follow (<a href>)
are not fetched. Absolute URLs to another host in the HTML or the CSS are listed: a page must make no
third-party request. Used by tests/records/test_page_weight.py and bench/record_pages.py.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from django.test import Client

# Tags whose src or href a browser fetches when it renders the page.
FETCHED = re.compile(
    r"<(?:link|script|img|source|video|audio|iframe|embed|input)\b[^>]*?\s(?:href|src)=\"([^\"]+)\"", re.I
)
SRCSET = re.compile(r"\ssrcset=\"([^\"]+)\"", re.I)
CSS_REFERENCE = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)|@import\s+['\"]([^'\"]+)['\"]", re.I)
ABSOLUTE = re.compile(r"(?<![\w.])(?:https?:)?//[\w.-]+(?::\d+)?[^\s\"'<>)]*", re.I)
# Namespace names are identifiers, never fetched (inline SVG's xmlns).
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/1999/xhtml")
GZIP_LEVEL = 6


@dataclass
class Weight:
    html_bytes: int
    html_gzip: int
    files: dict[str, int] = field(default_factory=dict)  # path: gzipped bytes
    foreign: list[str] = field(default_factory=list)  # absolute URLs to another host, in the HTML or the CSS

    @property
    def total_gzip(self) -> int:
        return self.html_gzip + sum(self.files.values())


def _body(client: Client, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def foreign_urls(text: str, host: str) -> list[str]:
    """Absolute URLs in `text` to a host other than `host` (namespace names left out)."""
    found = []
    for match in ABSOLUTE.finditer(text):
        url = match.group(0)
        if url.startswith(NAMESPACES):
            continue
        if urlsplit(url if ":" in url.split("//")[0] else "http:" + url).hostname != host:
            found.append(url)
    return found


def _same_origin(url: str, base: str) -> str | None:
    """The path of a same-origin reference, or None (another host, a data: URL, a fragment)."""
    if url.startswith(("data:", "#", "about:", "blob:")):
        return None
    parts = urlsplit(urljoin(base, url))
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "testserver"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_weight(client: Client, url: str, *, host: str = "testserver") -> Weight:
    html = _body(client, url)
    text = html.decode()
    weight = Weight(html_bytes=len(html), html_gzip=len(gzip.compress(html, GZIP_LEVEL)))
    weight.foreign.extend(foreign_urls(text, host))
    references = [m.group(1) for m in FETCHED.finditer(text)]
    references += [part.strip().split(" ")[0] for m in SRCSET.finditer(text) for part in m.group(1).split(",")]
    queue = [(reference, url) for reference in references]
    while queue:
        reference, base = queue.pop(0)
        path = _same_origin(reference.replace("&amp;", "&"), base)
        if path is None or path in weight.files:
            continue
        body = _body(client, path)
        weight.files[path] = len(gzip.compress(body, GZIP_LEVEL))
        if urlsplit(path).path.endswith(".css"):
            css = body.decode()
            weight.foreign.extend(foreign_urls(css, host))
            queue.extend((m.group(1) or m.group(2), path) for m in CSS_REFERENCE.finditer(css))
    return weight
