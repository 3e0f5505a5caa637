"""Each request reads its user with what its actor needs (accounts.backends, proxy.backends), never kept."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from proxy.models import GrantStatus, ProxyGrant
from tests.conftest import World, sign_in
from tests.factories import PatientFactory, ProxyGrantFactory
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


def test_someone_who_holds_no_grant_is_not_asked_for_grants(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    tables = _tables_read(client, reverse("records:journal"))
    assert "proxy_proxygrant" not in tables  # the user's query said they hold none


def test_a_grant_given_after_signing_in_is_offered_on_the_next_request(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    assert 'id="subject-select"' not in client.get(reverse("home")).content.decode()
    ProxyGrantFactory(grantee=world.user("patient"), patient=world.people["new_adult"])
    page = client.get(reverse("home")).content.decode()
    assert 'id="subject-select"' in page
    assert "Nora Grown" in page


def test_a_grant_revoked_after_signing_in_is_gone_on_the_next_request(client: Client, world: World) -> None:
    client.force_login(world.user("caregiver_records"))  # acting for no one yet
    assert "Rosa" in client.get(reverse("home")).content.decode()
    ProxyGrant.objects.filter(pk=world.grants["caregiver_records"].pk).update(status=GrantStatus.REVOKED)
    page = client.get(reverse("home")).content.decode()
    assert 'id="subject-select"' not in page
    assert "Rosa" not in page
