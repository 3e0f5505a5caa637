"""Each request reads its user with what the actor needs (accounts.backends), and never keeps it between requests."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from tests.conftest import World, sign_in
from tests.factories import PatientFactory
from tests.query_counts import queries_made


def _tables_read(client: Client, url: str) -> list[str]:
    """The table of each query's first column, in order."""
    sql = queries_made(client, url, expected_status=200)
    return [match[1] for query in sql if (match := re.match(r'SELECT "(\w+)"\.', query))]


def test_a_patients_page_reads_the_user_their_record_and_their_workplaces_in_one_query(
    client: Client, world: World
) -> None:
    sign_in(client, world, "patient")
    tables = _tables_read(client, reverse("records:journal"))
    assert tables[0] == "accounts_user"
    assert "accounts_patient" not in tables  # read with the user
    assert "accounts_membership" not in tables  # the user works nowhere: the user's query said so


def test_a_staff_members_workplaces_are_read_on_every_request(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    assert client.get(reverse("staff_home")).status_code == 200
    Membership.objects.filter(user=world.user("staff_here")).delete()
    assert client.get(reverse("staff_home")).status_code != 200  # refused at once, not at the next sign-in


def test_a_record_made_after_signing_in_is_the_persons_on_their_next_request(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    assert client.get(reverse("records:summary")).status_code != 200
    PatientFactory(user=world.user("staff_here"))
    assert client.get(reverse("records:summary")).status_code == 200
