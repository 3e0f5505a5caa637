"""The directory of health systems: seeded from public endpoint lists, plus the ones configured here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from accounts.models import Organization
from records.models import HealthSystem
from records.safe_urls import UnsafeURLError, check_health_system_url, check_url_shape

CONFIGURED_KEYS = ("name", "city", "state", "vendor", "client_id", "client_kind", "client_secret", "is_sandbox")
# Lists mix FHIR versions; only R4 endpoints can be connected (DSTU2 and STU3 cannot).
OLDER_FHIR = re.compile(r"/(DSTU2|STU3|dstu2|stu3)(/|$)")


@dataclass(frozen=True)
class Listing:
    name: str
    fhir_base_url: str
    vendor: str
    postal_code: str


def vendor_from_file(path: Path) -> str:
    stem = path.name.removesuffix("_EndpointSources.json").removesuffix("EndpointSources.json")
    return stem.replace("_", " ").strip()


def read_endpoint_lists(folder: Path) -> Iterator[Listing]:
    """Listings from ONC Lantern's `*EndpointSources.json` files ({"Endpoints": [{"URL", "OrganizationName", …}]})."""
    for path in sorted(folder.glob("*EndpointSources.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        vendor = vendor_from_file(path)
        for endpoint in document.get("Endpoints") or []:
            if not isinstance(endpoint, dict):
                continue
            url = str(endpoint.get("URL") or "").strip()
            name = str(endpoint.get("OrganizationName") or "").strip()
            url = url.rstrip("/")
            if not url.startswith("https://") or not name or OLDER_FHIR.search(url + "/") or len(url) > 500:
                continue
            try:  # the names are resolved when someone connects: thousands of look-ups here would take minutes
                check_url_shape(url)
            except UnsafeURLError:
                continue
            yield Listing(
                name=name[:300],
                fhir_base_url=url,
                vendor=vendor[:120],
                postal_code=str(endpoint.get("OrganizationZipCode") or "")[:20],
            )


@transaction.atomic
def load_endpoint_lists(folder: Path) -> int:
    """Adds the listings not yet in the directory (by FHIR base URL); returns how many were added."""
    known = set(HealthSystem.objects.values_list("fhir_base_url", flat=True))
    rows: dict[str, HealthSystem] = {}
    for listing in read_endpoint_lists(folder):
        if listing.fhir_base_url not in known:
            rows.setdefault(
                listing.fhir_base_url,
                HealthSystem(
                    name=listing.name,
                    fhir_base_url=listing.fhir_base_url,
                    vendor=listing.vendor,
                    postal_code=listing.postal_code,
                ),
            )
    HealthSystem.objects.bulk_create(rows.values(), batch_size=2000, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def load_configured_systems() -> int:
    """The systems named in settings.HEALTH_SYSTEMS (the local sandbox, a deployment's registrations).

    Each URL must pass the health-system address rule (records.safe_urls); one that does not stops the load.

    A sandbox system is known by its path (`/riverside/fhir`): when the sandbox runs on another port or
    host, its row (and whatever is connected to it) follows instead of a second row appearing.
    """
    count = 0
    for entry in settings.HEALTH_SYSTEMS:
        url = str(entry["fhir_base_url"]).rstrip("/")
        try:
            check_health_system_url(url)
        except UnsafeURLError as error:
            raise UnsafeURLError(f"HEALTH_SYSTEMS: {url}: {error}") from error
        defaults: dict[str, Any] = {key: entry[key] for key in CONFIGURED_KEYS if key in entry}
        if entry.get("organization"):  # the clinic on the platform whose EHR this is
            defaults["organization"] = Organization.objects.filter(slug=entry["organization"]).first()
        row = HealthSystem.objects.filter(fhir_base_url=url).first()
        if row is None and entry.get("is_sandbox"):
            row = _sandbox_system_at(urlsplit(url).path)
        if row is None:
            HealthSystem.objects.create(fhir_base_url=url, **defaults)
        else:
            for key, value in {**defaults, "fhir_base_url": url}.items():
                setattr(row, key, value)
            row.save()
        count += 1
    return count


def _sandbox_system_at(path: str) -> HealthSystem | None:
    """The oldest sandbox row serving this path, whatever its host and port."""
    candidates = HealthSystem.objects.filter(is_sandbox=True, fhir_base_url__endswith=path).order_by("pk")
    return next((row for row in candidates if urlsplit(row.fhir_base_url).path == path), None)
