"""Which health-system URLs the portal may reach: https on public addresses only.

A health system's URLs come from a platform admin, from public endpoint lists and from
the health systems themselves (discovery names the token, key and revocation endpoints).
The portal's server fetches them, so a wrong or hostile one must not point it at the
cloud's metadata service (169.254.169.254), the database or anything else on a private
network. Outside development and tests (`HEALTH_SYSTEMS_ALLOW_PRIVATE`, which lets the
sandbox on loopback through), a URL must be https and every address its host resolves
to must be public. The same rule is checked again where the connection is made
(`PublicAddressAdapter`), so a name that resolves differently a moment later (DNS
rebinding) still cannot reach a private address.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


class UnsafeURLError(ValueError):
    """The URL may not be used for a health system; the message says why in plain words (no health data)."""


def private_allowed() -> bool:
    return bool(settings.HEALTH_SYSTEMS_ALLOW_PRIVATE)


def is_public_address(address: IPAddress) -> bool:
    """Reachable on the public internet: not private, loopback, link-local, reserved, multicast or unspecified."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour  # an IPv4 address wearing IPv6 clothes
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url_shape(url: str) -> None:
    """What can be told without the network: the scheme, a host, no credentials, no private address literal.

    Enough for bulk loading thousands of listed endpoints; every connection checks the addresses again.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError as error:
        raise UnsafeURLError(_("That is not a valid web address.")) from error
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeURLError(_("The address must start with https:// followed by the health system's server name."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError(_("The address must not carry a user name or password."))
    if private_allowed():
        return
    if parts.scheme != "https":
        raise UnsafeURLError(_("The address must use https."))
    literal = _literal_address(host)
    if literal is not None and not is_public_address(literal):
        raise UnsafeURLError(_("The address points at a private or reserved network address."))
    if host.endswith(LOCAL_NAMES) or host == "localhost" or "." not in host:
        raise UnsafeURLError(_("The address names a local host, not one on the internet."))


def check_health_system_url(url: str) -> None:
    """Raises UnsafeURLError unless the portal may connect to this URL now.

    Outside development and tests: https, and every address the host resolves to is public.
    Called when a health system is saved, when a sign-in starts (for the FHIR base and every
    endpoint discovery names) and by the sync before it connects.
    """
    check_url_shape(url)
    if private_allowed():
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _literal_address(host) is not None:
        return  # a public address literal, checked by the shape
    try:
        found = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UnsafeURLError(_("The host name could not be found.")) from error
    addresses = {_literal_address(str(info[4][0]).split("%", 1)[0]) for info in found}
    if not addresses or any(address is None or not is_public_address(address) for address in addresses):
        raise UnsafeURLError(_("The host name leads to a private or reserved network address."))


# Checked again on the socket itself -----------------------------------------------------------------


class _PublicPeerMixin:
    """Refuses a connection whose peer is not a public address, before a byte of the request is sent."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        peer = _literal_address(str(sock.getpeername()[0]).split("%", 1)[0])
        if peer is None or not is_public_address(peer):
            sock.close()
            raise NewConnectionError(self, f"{self.host} leads to a private or reserved network address")  # type: ignore[arg-type]
        return sock


class _PublicHTTPConnection(_PublicPeerMixin, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerMixin, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicAddressAdapter(HTTPAdapter):
    """A requests adapter whose connections reach public addresses only (not through a proxy: see decisions)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}
