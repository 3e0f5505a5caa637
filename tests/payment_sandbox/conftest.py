"""The payment sandbox's tests: a fresh sandbox per test (port 0), a webhook receiver when wanted, no database."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from payment_sandbox.server import RunningSandbox, start
from tests.payment_sandbox.support import API_KEY, SECRET, Receiver, ReceiverHandler, ReceiverServer


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """No webhook URL: events are only kept (GET /_sandbox/events)."""
    with start(api_key=API_KEY, webhook_secret=SECRET) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ReceiverServer(("127.0.0.1", 0), ReceiverHandler)
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/billing/webhooks/payments/")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def hooked(receiver: Receiver) -> Iterator[RunningSandbox]:
    """A sandbox sending its events to `receiver`."""
    with start(api_key=API_KEY, webhook_url=receiver.url, webhook_secret=SECRET) as running:
        yield running
