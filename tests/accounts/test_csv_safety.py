"""The access-history download never hands a spreadsheet a formula typed into someone's name."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from accounts.csv_safety import safe_cell
from tests.conftest import World, sign_in

EVIL_NAME = '=HYPERLINK("http://evil.example","x")'


def test_a_name_that_is_a_formula_arrives_as_text_in_the_patients_download(client: Client, world: World) -> None:
    nurse = world.user("staff_here")
    nurse.full_name = EVIL_NAME
    nurse.save(update_fields=["full_name"])
    sign_in(client, world, "staff_here")
    assert client.get(reverse("staff_roster", args=["riverside"])).status_code == 200  # audited for Alex
    client.logout()

    sign_in(client, world, "patient")
    response = client.get(reverse("access_history_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    names = [row[1] for row in rows[1:]]
    assert "'" + EVIL_NAME in names
    assert not any(name.startswith("=") for name in names)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_gets_an_apostrophe(start: str) -> None:
    assert safe_cell(start + "1+1") == "'" + start + "1+1"


@pytest.mark.parametrize("value", ["Jordan Lee", "2026-01-05T09:00:00-06:00", "127.0.0.1", "—", "", "O'Brien"])
def test_ordinary_cells_are_left_alone(value: str) -> None:
    assert safe_cell(value) == value
