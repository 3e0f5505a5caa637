"""`python -m fhir_sandbox --config PATH [--host 127.0.0.1] [--port 8900]`: serve until SIGTERM or SIGINT.

Prints one line, `fhir_sandbox listening on http://HOST:PORT`, once the socket
is listening, so a parent process can wait for it before sending requests.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from fhir_sandbox.server import start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fhir_sandbox", description=__doc__)
    parser.add_argument("--config", required=True, help="JSON config file (see fhir_sandbox/README.md)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="port (default 8900; 0 picks a free one)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    args = parser.parse_args(argv)
    try:
        sandbox = start(args.config, args.host, args.port, quiet=args.quiet)
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.stderr.write(f"fhir_sandbox: cannot start: {error}\n")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write(f"fhir_sandbox listening on {sandbox.url}\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
