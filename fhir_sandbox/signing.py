"""JSON Web Tokens for the sandbox: the id_tokens it signs and the client assertions it checks.

Built on the `cryptography` package (the one dependency of the sandbox beyond the standard
library): RSA and elliptic-curve signatures are not something to write by hand. Only compact
JWS with RS256/RS384/RS512 and ES256/ES384/ES512 is understood; that is what SMART uses.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
CURVES: dict[str, type[ec.SECP256R1 | ec.SECP384R1 | ec.SECP521R1]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
}
CURVE_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66}
ASSERTION_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _from_int(text: Any) -> int:
    if not isinstance(text, str):
        raise ValueError("a key parameter is missing")
    return int.from_bytes(b64url_decode(text), "big")


class SigningKey:
    """An RSA key the sandbox signs id_tokens with (RS256), made when first needed."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": _int(numbers.n), "e": _int(numbers.e)}

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        encoded = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        signature = self.private.sign(encoded.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{encoded}.{b64url(signature)}"


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, not yet checked (to find which client and key it names)."""
    try:
        header_part, claims_part, _signature = token.split(".")
        header, claims = json.loads(b64url_decode(header_part)), json.loads(b64url_decode(claims_part))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError("not a compact JWS") from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not a compact JWS")
    return header, claims


def verify(token: str, jwks: dict[str, Any], algorithms: tuple[str, ...] = ASSERTION_ALGORITHMS) -> dict[str, Any]:
    """The claims of a JWS signed by a key of this JWK Set; ValueError says what is wrong."""
    header, claims = unverified(token)
    algorithm = header.get("alg")
    if algorithm not in algorithms:
        raise ValueError(f"alg must be one of {', '.join(algorithms)}")
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict)]
    if header.get("kid") is not None:
        keys = [k for k in keys if k.get("kid") == header["kid"]]
    keys = [k for k in keys if k.get("kty") == algorithm[:2].replace("ES", "EC").replace("RS", "RSA")]
    if not keys:
        raise ValueError("no key of the registered JWK Set matches the assertion's kid and alg")
    signing_input = token.rsplit(".", 1)[0].encode()
    signature = b64url_decode(token.rsplit(".", 1)[1])
    digest = HASHES[algorithm[2:]]()
    for key in keys:
        try:
            if algorithm.startswith("RS"):
                public = rsa.RSAPublicNumbers(_from_int(key.get("e")), _from_int(key.get("n"))).public_key()
                public.verify(signature, signing_input, padding.PKCS1v15(), digest)
            else:
                curve = str(key.get("crv"))
                size = CURVE_BYTES.get(curve, 0)
                if curve not in CURVES or len(signature) != 2 * size:
                    continue
                point = ec.EllipticCurvePublicNumbers(_from_int(key.get("x")), _from_int(key.get("y")), CURVES[curve]())
                der = encode_dss_signature(
                    int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
                )
                point.public_key().verify(der, signing_input, ec.ECDSA(digest))
        except (InvalidSignature, ValueError):
            continue
        return claims
    raise ValueError("the signature does not verify with the registered key")


def now() -> int:
    return int(time.time())
