"""The SMART Health Link format (shlink:/): keys, the payload, the encrypted file and short-lived file tickets.

Spec: https://docs.smarthealthit.org/smart-health-links/spec. A link is "shlink:/" followed by the
base64url of a JSON payload {url, key, exp, flag, label, v}; the URL is the manifest, which answers the
files as compact JWEs (alg "dir", enc "A256GCM", zip "DEF") encrypted with the payload's key. Whoever
holds the link holds the key: the key never reaches the server again after creation, except to show
the person their own link.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import qrcode
import qrcode.image.svg
from django.core import signing
from django.urls import reverse
from joserfc import jwe
from joserfc.jwk import OctKey

if TYPE_CHECKING:
    from django.http import HttpRequest

    from records.models import ShareLink

KEY_BYTES = 32
TOKEN_BYTES = 32  # the manifest URL's token: 256 bits of entropy, as the spec asks
CONTENT_TYPE = "application/fhir+json"
JWE_ALGORITHMS = ["dir", "A256GCM", "DEF"]
LABEL_MAX = 80
LOCATION_SECONDS = 5 * 60  # how long a file's location URL works
TICKET_SALT = "records.shlinks.file-ticket"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """32 random bytes, base64url: 43 characters."""
    return b64url(secrets.token_bytes(KEY_BYTES))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def encrypt_file(content: dict[str, Any], key: str) -> str:
    """The content as a compact JWE under the link's key (direct AES-256-GCM, deflated first)."""
    plaintext = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    header = {"alg": "dir", "enc": "A256GCM", "zip": "DEF", "cty": CONTENT_TYPE}
    return jwe.encrypt_compact(header, plaintext, OctKey.import_key(b64url_decode(key)), algorithms=JWE_ALGORITHMS)


@dataclass(frozen=True)
class Payload:
    url: str
    key: str
    exp: int
    flag: str
    label: str

    def as_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"url": self.url, "key": self.key, "exp": self.exp}
        if self.flag:
            payload["flag"] = self.flag
        if self.label:
            payload["label"] = self.label[:LABEL_MAX]
        payload["v"] = 1
        return payload

    def link(self) -> str:
        encoded = json.dumps(self.as_json(), separators=(",", ":"), ensure_ascii=False).encode()
        return "shlink:/" + b64url(encoded)


def flag_for(*, passcode: bool) -> str:
    """The link's flags: "L" (long-term: it may be opened again until it ends), "P" when it asks a passcode."""
    return "LP" if passcode else "L"


def shlink_of(request: HttpRequest, link: ShareLink) -> str:
    """A link of ours as "shlink:/…": the manifest on this portal, the link's key, expiry, flags and label."""
    return Payload(
        url=request.build_absolute_uri(reverse("records:shl_manifest", args=[link.token])),
        key=link.key,
        exp=int(link.expires_at.timestamp()),
        flag=flag_for(passcode=link.has_passcode),
        label=link.label,
    ).link()


def viewer_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("records:shl_viewer"))


def share_link_text(request: HttpRequest, link: ShareLink) -> str:
    """The link as people pass it on: our viewer's address, then "#shlink:/…" (any SHL viewer reads it)."""
    return f"{viewer_url(request)}#{shlink_of(request, link)}"


def decode_link(link: str) -> dict[str, Any]:
    """The payload of a shlink (with or without a viewer's prefix before "#")."""
    text = link.split("#", 1)[-1] if "#" in link else link
    if not text.startswith("shlink:/"):
        raise ValueError("Not a SMART Health Link.")
    payload = json.loads(b64url_decode(text.removeprefix("shlink:/")))
    if not isinstance(payload, dict):
        raise ValueError("A SMART Health Link's payload is a JSON object.")
    return payload


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no Pillow): path-based, without the XML declaration."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]


def file_ticket(link_id: int) -> str:
    """A signed, short-lived ticket naming one link's file, for a location URL; random so each is used once."""
    return signing.dumps({"l": link_id, "n": secrets.token_urlsafe(12)}, salt=TICKET_SALT, compress=False)


@dataclass(frozen=True)
class Ticket:
    link_id: int
    nonce: str


def read_ticket(ticket: str) -> Ticket | None:
    """The ticket's link and nonce, or None when it is forged, malformed or older than LOCATION_SECONDS."""
    try:
        value = signing.loads(ticket, salt=TICKET_SALT, max_age=LOCATION_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("l"), int) or not isinstance(value.get("n"), str):
        return None
    return Ticket(link_id=value["l"], nonce=value["n"])
