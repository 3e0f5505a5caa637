"""Request limits kept in the shared cache (Redis in production): fixed windows counted per key."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def over_limit(scope: str, subject: str, *, limit: int, window_seconds: int) -> bool:
    """Counts one more request for (scope, subject) in the current window; True once past `limit`.

    The subject (an address, a token) is hashed into the key, so the cache holds no token in clear.
    """
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}"
    if cache.add(key, 1, timeout=window_seconds):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr: this request starts the next one
        cache.add(key, 1, timeout=window_seconds)
        return False
    return count > limit
