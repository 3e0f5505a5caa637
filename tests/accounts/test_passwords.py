"""Password rules on the real sign-up and change-password pages: no repeats, not the person's own name."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.conftest import World, sign_in
from tests.factories import TEST_PASSWORD

ONE_CHARACTER = "mostly the same character over and over"
PATTERN = "repeats a short pattern"
NAME = "too similar to the full name"
GOOD_PASSWORD = "river-stone-lantern-48"

# "Maria Lopez" and marialopez2026: Django's similarity rule (0.7) finds the
# name's letters in the password (ratio 0.8 against "maria lopez"). The email
# address is chosen so that it does not give the password away by itself.
REFUSED = [
    pytest.param("aaaaaaaaaaaa", ONE_CHARACTER, id="one-character"),
    pytest.param("abcabcabcabc", PATTERN, id="abc-pattern"),
    pytest.param("121212121212", PATTERN, id="12-pattern"),
    pytest.param("marialopez2026", NAME, id="own-name"),
]


def _sign_up(client: Client, password: str) -> str:
    response = client.post(
        reverse("account_signup"),
        {"full_name": "Maria Lopez", "email": "newcomer@example.test", "password1": password, "password2": password},
    )
    assert response.status_code == 200 if password != GOOD_PASSWORD else 302
    return response.content.decode()


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_sign_up_refuses_a_weak_password_and_creates_nothing(
    client: Client, db: object, password: str, message: str
) -> None:
    html = _sign_up(client, password)
    assert message in html
    assert not User.objects.filter(email="newcomer@example.test").exists()


def test_sign_up_with_a_good_password_creates_the_account(client: Client, db: object) -> None:
    _sign_up(client, GOOD_PASSWORD)
    assert User.objects.get(email="newcomer@example.test").full_name == "Maria Lopez"


def test_a_weak_password_shows_each_message_once_on_sign_up(client: Client, db: object) -> None:
    html = _sign_up(client, "abcabcabcabc")
    assert html.count(PATTERN) == 1


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_change_password_refuses_a_weak_password(client: Client, world: World, password: str, message: str) -> None:
    sign_in(client, world, "caregiver")  # Maria Lopez, caregiver@example.test
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": TEST_PASSWORD, "password1": password, "password2": password},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    caregiver = User.objects.get(pk=world.user("caregiver").pk)
    assert caregiver.check_password(TEST_PASSWORD)


def test_change_password_accepts_a_good_password(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver")
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": TEST_PASSWORD, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=world.user("caregiver").pk).check_password(GOOD_PASSWORD)
