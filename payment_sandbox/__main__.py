"""`python -m payment_sandbox [--host 127.0.0.1] [--port 8910] [--api-key K] [--webhook-url URL] [--webhook-secret S]`.

Serves until SIGTERM or SIGINT. Prints one line, `payment_sandbox listening on http://HOST:PORT`, once
the socket is listening, so a parent process can wait for it before sending requests.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from payment_sandbox.server import start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payment_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8910, help="port (default 8910; 0 picks a free one)")
    parser.add_argument("--api-key", default="sk_test_sandbox", help="the API key accepted (default sk_test_sandbox)")
    parser.add_argument("--webhook-url", default=None, help="where events are POSTed (default: nowhere, only kept)")
    parser.add_argument("--webhook-secret", default="whsec_test", help="signs the events (default whsec_test)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    args = parser.parse_args(argv)
    try:
        sandbox = start(
            args.host,
            args.port,
            api_key=args.api_key,
            webhook_url=args.webhook_url or None,
            webhook_secret=args.webhook_secret,
            quiet=args.quiet,
        )
    except (OSError, ValueError) as error:
        sys.stderr.write(f"payment_sandbox: cannot start: {error}\n")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write(f"payment_sandbox listening on {sandbox.url}\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
