"""Spanish pages: dates read as Spanish dates, and our own words never stand in for Django's.

Django formats month and weekday names through the same translation catalogs as
our pages, and our catalog (LOCALE_PATHS) is asked first. A msgid of ours that
is also a month name ("May") would therefore replace the month in every date.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant
from tests.conftest import World, sign_in

SPANISH_MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
SPANISH_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def _template_date_formats() -> set[str]:
    """Every named format the templates pass to |date (DATE_FORMAT, SHORT_DATE_FORMAT, ...)."""
    from django.conf import settings

    found: set[str] = set()
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for path in folder.rglob("*.html"):
            found.update(re.findall(r"""\|date:["']([A-Z_]+)["']""", path.read_text(encoding="utf-8")))
    return found


def test_templates_use_named_date_formats() -> None:
    # The tests below cover the formats the pages use; this keeps the list honest.
    assert {"DATE_FORMAT", "SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT"} <= _template_date_formats()


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month_reads_as_the_spanish_month(month: int) -> None:
    moment = timezone.make_aware(datetime(2026, month, 10, 9, 30))
    expected = SPANISH_MONTHS[month - 1]
    with translation.override("es"):
        long_date = formats.date_format(moment, "DATE_FORMAT")
        assert long_date == f"10 de {expected} de 2026"
        assert Template('{{ moment|date:"DATE_FORMAT" }}').render(Context({"moment": moment})) == long_date
        # The month's name in its other forms (on its own, and abbreviated) comes from Django too.
        assert formats.date_format(moment, "F").lower() == expected
        assert formats.date_format(moment, "E").lower() == expected
        assert expected.startswith(formats.date_format(moment, "b").rstrip("."))
        for name in _template_date_formats():
            shown = Template("{{ moment|date:fmt }}").render(Context({"moment": moment, "fmt": name}))
            # A numeric format shows the month's number, a long one the Spanish name; never our words.
            assert expected in shown or f"/{month:02d}/" in shown, (name, shown)


@pytest.mark.parametrize("offset", range(7))
def test_every_weekday_reads_as_the_spanish_weekday(offset: int) -> None:
    day = date(2026, 5, 4 + offset)  # Monday 4 May 2026 onwards
    with translation.override("es"):
        assert formats.date_format(day, "l") == SPANISH_WEEKDAYS[offset]


def _spanish(client: Client, world: World, persona: str) -> Client:
    user = world.user(persona)
    user.language = "es"
    user.save(update_fields=["language"])
    return sign_in(client, world, persona)


def test_a_grant_that_started_in_may_shows_mayo_on_the_sharing_page(client: Client, world: World) -> None:
    # The sharing page has both a "May" column (what a helper may do) and dates.
    may_day = timezone.make_aware(datetime(2026, 5, 10, 12, 0))
    ProxyGrant.objects.create(
        grantee=world.user("caregiver"),
        patient=world.patient_record,
        legal_basis=Basis.PATIENT_CONSENT,
        scopes=["records"],
        status=GrantStatus.ACTIVE,
        starts_at=may_day,
    )
    html = _spanish(client, world, "patient").get(reverse("proxy:sharing")).content.decode()
    assert '<html lang="es">' in html
    assert "10 de mayo de 2026" in html
    assert "de Lo que puede hacer de" not in html
    assert "Lo que puede hacer" in html  # the column keeps its own words


def test_a_birthday_in_may_reads_mayo_on_the_person_page(client: Client, world: World) -> None:
    world.patient_record.birth_date = date(1990, 5, 21)
    world.patient_record.save(update_fields=["birth_date"])
    html = _spanish(client, world, "patient").get(reverse("person")).content.decode()
    assert "21 de mayo de 1990" in html
    assert "Lo que puede hacer" not in html


def test_access_history_in_spanish_shows_words_not_codes(client: Client, world: World) -> None:
    # The access history shows numeric dates in Spanish (SHORT_DATETIME_FORMAT), and a label for each action.
    patient = world.patient_record
    for action in (AuditAction.RECORDS_DISCONNECTED, AuditAction.RECORDS_SYNC_REQUESTED):
        record_audit_event(action=action, user=world.user("patient"), subject=patient)
    AuditEvent.objects.create(
        occurred_at=timezone.make_aware(datetime(2026, 5, 10, 9, 30)),
        subject_patient=patient,
        action=AuditAction.RECORDS_CONNECTED.value,
        basis=Basis.SELF,
    )
    html = _spanish(client, world, "patient").get(reverse("access_history")).content.decode()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "10/05/2026" in body
    assert "Conectó un sistema de salud" in body
    assert "Desconectó un sistema de salud" in body
    with translation.override("en"):
        english = {str(action.label) for action in AuditAction}
    for action in AuditAction:
        assert action.value not in body
    assert not [label for label in english if label in body]
