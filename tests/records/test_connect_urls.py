"""Health-system addresses: https on public addresses only, outside development and tests.

HEALTH_SYSTEMS_ALLOW_PRIVATE is on for the test suite (the sandbox runs on loopback); each test
here turns it off, as in production.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from fhir_sandbox.server import RunningSandbox
from records.admin import HealthSystemForm
from records.directory import load_configured_systems, load_endpoint_lists
from records.models import HealthSystem
from records.safe_urls import UnsafeURLError, check_health_system_url
from tests.conftest import World, sign_in
from tests.records.smart_sign_in import clinic_system, smart_sandbox

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture(autouse=True)
def production_rule(settings: Any) -> None:
    settings.HEALTH_SYSTEMS_ALLOW_PRIVATE = False


def resolving(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Make these host names resolve to these addresses (in turn, one list per look-up); returns the look-ups."""
    asked: list[str] = []
    turns = {host: iter(addresses) for host, addresses in answers.items()}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in turns:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        asked.append(str(host))
        address = next(turns[host])
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 443))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest",
        "https://169.254.169.254/latest",
        "http://fhir.example.org/r4",
        "https://127.0.0.1:8900/riverside/fhir",
        "https://10.0.0.7/fhir",
        "https://192.168.1.1/fhir",
        "https://100.64.0.1/fhir",
        "https://[::1]/fhir",
        "https://[fe80::1]/fhir",
        "https://[::ffff:169.254.169.254]/fhir",
        "https://224.0.0.1/fhir",
        "https://0.0.0.0/fhir",
        "https://localhost/fhir",
        "https://ehr.internal/fhir",
        "https://ehr/fhir",
        "https://user:secret@fhir.example.org/r4",
        "ftp://fhir.example.org/r4",
        "https:///r4",
    ],
)
def test_private_reserved_or_plain_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_health_system_url(url)


def test_every_address_a_name_resolves_to_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving(monkeypatch, {"fhir.example.org": ["93.184.216.34"], "sneaky.example.org": ["10.1.2.3"]})
    check_health_system_url("https://fhir.example.org/r4")
    with pytest.raises(UnsafeURLError, match="private or reserved"):
        check_health_system_url("https://sneaky.example.org/r4")


def test_one_private_address_among_public_ones_is_enough_to_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(UnsafeURLError):
        check_health_system_url("https://mixed.example.org/r4")


def test_a_name_that_cannot_be_found_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("no such name")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(UnsafeURLError, match="could not be found"):
        check_health_system_url("https://gone.example.org/r4")


def test_development_lets_the_sandbox_through(settings: Any) -> None:
    settings.HEALTH_SYSTEMS_ALLOW_PRIVATE = True
    check_health_system_url("http://127.0.0.1:8900/riverside/fhir")
    with pytest.raises(UnsafeURLError):
        check_health_system_url("ftp://127.0.0.1/fhir")


# Where the rule is applied -----------------------------------------------------------------------------------


def form(**fields: Any) -> HealthSystemForm:
    return HealthSystemForm(data={"name": "A clinic", "client_kind": "public", **fields})


def test_the_admin_form_refuses_a_metadata_address(db: object) -> None:
    refused = form(fhir_base_url="http://169.254.169.254/latest")
    assert not refused.is_valid()
    assert "fhir_base_url" in refused.errors


def test_the_admin_form_accepts_a_public_https_address(db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    resolving(monkeypatch, {"fhir.example.org": ["93.184.216.34"]})
    accepted = form(fhir_base_url="https://fhir.example.org/r4/")
    assert accepted.is_valid(), accepted.errors
    assert accepted.save().fhir_base_url == "https://fhir.example.org/r4"


def test_the_admin_form_keeps_the_secret_and_needs_the_signing_key(
    db: object, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    resolving(monkeypatch, {"fhir.example.org": ["93.184.216.34"] * 3})
    system = form(fhir_base_url="https://fhir.example.org/r4", client_kind="secret", client_secret="s3cret").save()
    again = HealthSystemForm(
        data={"name": "A clinic", "fhir_base_url": system.fhir_base_url, "client_kind": "secret", "client_secret": ""},
        instance=system,
    )
    assert again.is_valid(), again.errors
    assert again.save().client_secret == "s3cret"  # an empty field keeps the secret saved
    settings.SMART_CLIENT_PRIVATE_KEY = ""
    jwt = form(fhir_base_url="https://fhir.example.org/r4", client_kind="private_key_jwt")
    assert not jwt.is_valid()
    assert "client_kind" in jwt.errors


def test_configured_systems_must_pass_the_rule(db: object, settings: Any) -> None:
    settings.HEALTH_SYSTEMS = [{"name": "Metadata", "fhir_base_url": "http://169.254.169.254/latest"}]
    with pytest.raises(UnsafeURLError, match=r"169\.254\.169\.254"):
        load_configured_systems()
    assert not HealthSystem.objects.exists()


def test_endpoint_lists_leave_out_private_addresses(db: object, tmp_path: Path) -> None:
    endpoints = [
        {"URL": "https://169.254.169.254/latest", "OrganizationName": "Metadata"},
        {"URL": "https://10.0.0.5/fhir/r4", "OrganizationName": "Private"},
        {"URL": "https://localhost/fhir", "OrganizationName": "Local"},
        {"URL": "https://fhir.public.example/r4", "OrganizationName": "Public"},
    ]
    (tmp_path / "Acme_EndpointSources.json").write_text(json.dumps({"Endpoints": endpoints}))
    assert load_endpoint_lists(tmp_path) == 1
    assert HealthSystem.objects.get().name == "Public"


# Checked again when someone connects --------------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    running = smart_sandbox(tmp_path)
    yield running
    running.stop()


def test_connecting_checks_the_address_before_any_request(
    client: Client, world: World, sandbox: RunningSandbox
) -> None:
    system = clinic_system(sandbox)  # on loopback: saved before the rule was on, as an old row could be
    sign_in(client, world, "patient")
    page = client.post(reverse("records:connect", args=[system.pk]), follow=True).content.decode()
    assert "address cannot be used" in page
    assert sandbox.systems["clinic"].routes["smart-configuration"] == 0


class Listener:
    """A TCP port on loopback that records every byte it is sent (a TLS ClientHello would be the first)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.received = b""
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while self.running:
            try:
                peer, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with peer:
                peer.settimeout(1)
                with contextlib.suppress(OSError):
                    while chunk := peer.recv(4096):
                        self.received += chunk

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.socket.close()


def test_a_name_that_changes_to_a_private_address_after_the_check_is_refused_on_the_socket(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the first look-up (the check) says public, the second (the connection) says loopback."""
    listener = Listener()
    try:
        asked = resolving(monkeypatch, {"rebind.example.org": ["93.184.216.34", "127.0.0.1"]})
        system = HealthSystem.objects.create(
            name="Rebinding", fhir_base_url=f"https://rebind.example.org:{listener.port}/fhir", client_id="portal"
        )
        sign_in(client, world, "patient")
        page = client.post(reverse("records:connect", args=[system.pk]), follow=True).content.decode()
    finally:
        listener.stop()
    assert "did not answer when we asked how to sign in there" in page
    assert asked == ["rebind.example.org", "rebind.example.org"]
    assert listener.connections == 1
    assert listener.received == b""  # refused before a byte of the request (or of TLS) was sent
