"""Write a `.env` for local development on first run (never overwrites one)."""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    sys.exit(0)
path.write_text(
    "# Local development settings, written by `make run`. Never use these in production.\n"
    "DEBUG=true\n"
    "HTTPS=false\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FIELD_ENCRYPTION_KEYS={base64.urlsafe_b64encode(os.urandom(32)).decode()}\n"
)
print(f"Wrote {path} with fresh development secrets.")
