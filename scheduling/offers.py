"""The secret of a waiting-list offer's link is kept only as this digest (a leaked table opens nothing)."""

from __future__ import annotations

import hashlib


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
