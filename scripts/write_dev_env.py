"""Write a `.env` for local development on first run (never overwrites one).

It holds secrets only, never an address: PORTAL_HOST, PORTAL_PORT and FHIR_SANDBOX_PORT are read
from the environment of each `make run`, so another port on a later run is not overridden from here.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def signing_key_pem() -> str:
    """A fresh EC P-384 key as PEM, its line breaks written as \\n (a .env value is one line)."""
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode().strip().replace("\n", "\\n")


path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    sys.exit(0)
path.write_text(
    "# Local development settings, written by `make run`. Never use these in production.\n"
    "DEBUG=true\n"
    "HTTPS=false\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FIELD_ENCRYPTION_KEYS={base64.urlsafe_b64encode(os.urandom(32)).decode()}\n"
    "# The key for health systems registered with private_key_jwt (its public half: /.well-known/jwks.json).\n"
    f'SMART_CLIENT_PRIVATE_KEY="{signing_key_pem()}"\n'
    "# Ports are not set here: `PORTAL_PORT=8001 FHIR_SANDBOX_PORT=8901 make run` (README.md, 'Ports').\n"
)
print(f"Wrote {path} with fresh development secrets.")
