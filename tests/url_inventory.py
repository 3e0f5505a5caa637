"""Every named URL the portal serves, read from the URL resolver itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


def named_url_patterns() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[URLPattern | URLResolver], namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, inner)
            elif entry.name:
                names.add(f"{namespace}:{entry.name}" if namespace else entry.name)

    walk(get_resolver().url_patterns, None)
    return names


@dataclass(frozen=True)
class Route:
    name: str
    callback: Callable[..., Any]
    kwargs: frozenset[str]  # the names the URL captures


def routes() -> list[Route]:
    """Every URL pattern of the portal with its view and the arguments its path captures."""
    found: list[Route] = []

    def walk(patterns: list[URLPattern | URLResolver], namespace: str | None, captured: frozenset[str]) -> None:
        for entry in patterns:
            here = captured | frozenset(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, inner, here)
            else:
                label = entry.name or str(entry.pattern)
                name = f"{namespace}:{label}" if namespace else label
                found.append(Route(name=name, callback=entry.callback, kwargs=here))

    walk(get_resolver().url_patterns, None, frozenset())
    return found
