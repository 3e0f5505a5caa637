"""Pinning query counts: a page's count must not grow with the rows it lists."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def count_queries(client: Client, url: str, *, expected_status: int = 200) -> int:
    """Queries for one request of `url`, after a first request has warmed the session."""
    client.get(url)
    return len(queries_made(client, url, expected_status=expected_status))


def queries_made(client: Client, url: str, *, expected_status: int | None = None) -> list[str]:
    """The SQL a page ran, in order (for a readable failure message, or to see which tables a page reads)."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    if expected_status is not None:
        assert response.status_code == expected_status, f"{url}: {response.status_code}"
    return [q["sql"] for q in context.captured_queries]
