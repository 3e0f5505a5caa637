"""Billing tests pay through the payment sandbox (a stand-in card processor speaking Stripe's API) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from payment_sandbox.server import RunningSandbox, start
from tests.conftest import World, sign_in

API_KEY = "sk_test_billing_tests"
SECRET = "whsec_billing_tests"


@pytest.fixture
def processor(settings: Any) -> Iterator[RunningSandbox]:
    """A sandbox the portal is pointed at; its webhooks are kept (tests deliver them, or use `live_processor`)."""
    with start(api_key=API_KEY, webhook_secret=SECRET) as running:
        settings.PAYMENT_API_BASE, settings.PAYMENT_API_KEY = running.url, API_KEY
        settings.PAYMENT_WEBHOOK_SECRET = SECRET
        yield running


@pytest.fixture
def maria(world: World) -> Client:
    """The full caregiver, acting for Rosa (who owes Riverside $60.00; see add_billing_world)."""
    return sign_in(Client(), world, "caregiver_full")
